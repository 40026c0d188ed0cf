"""End to end: a REES46 electronics-store sample through `reportgen build` to a PDF."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Build January 2021 from copies of the fixture CSV and config; return folder, metrics."""
    root = tmp_path_factory.mktemp("rees46")
    for name in ("rees46_sample.csv", "rees46.yaml"):
        shutil.copy(FIXTURES / name, root / name)
    result = CliRunner().invoke(
        main,
        [
            "build",
            "--month",
            "2021-01",
            "--config",
            str(root / "rees46.yaml"),
            "--out",
            str(root / "reports"),
        ],
    )
    assert result.exit_code == 0, result.output
    folder = root / "reports" / "month" / "2021-01"
    return folder, json.loads((folder / "metrics.json").read_text())


def test_the_report_is_archived_with_a_readable_pdf(
    report: tuple[Path, dict[str, Any]],
) -> None:
    folder, metrics = report
    for name in ("report.html", "report.pdf", "metrics.json", "csv"):
        assert (folder / name).exists(), name
    reader = PdfReader(folder / "report.pdf")
    assert len(reader.pages) >= 2
    assert reader.metadata.title.startswith("Electronics store funnel (REES46 sample)")
    assert metrics["period"]["label"] == "2021-01"


def test_event_kpis_are_computed_for_both_months(report: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = report
    kpis = metrics["kpis"]
    assert kpis["events.users"] > 0
    assert kpis["events.views"] > kpis["events.carts"] > kpis["events.purchases"] > 0
    assert kpis["events.revenue"] > 0
    # December 2020 (from the 20th) is in the sample too.
    assert kpis["previous"]["events.users"] > 0
    assert not any(key.startswith("carts.") for key in kpis)


def test_january_counts_match_the_csv(report: tuple[Path, dict[str, Any]]) -> None:
    # Counted from the CSV: January's 266 rows less 2 exact copies (a view and a purchase).
    _, metrics = report
    kpis = metrics["kpis"]
    counts = {k: kpis[f"events.{k}"] for k in ("users", "sessions", "views", "carts", "purchases")}
    assert counts == {"users": 76, "sessions": 107, "views": 239, "carts": 15, "purchases": 10}
    assert kpis["events.revenue"] == pytest.approx(3450.57)
    assert kpis["events.transactions"] == 10


def test_funnel_has_view_cart_purchase(report: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = report
    funnel = metrics["tables"]["events.funnel"]
    assert [(row["stage"], row["users"]) for row in funnel] == [
        ("view", 76),
        ("cart", 13),
        ("purchase", 9),
    ]


def test_sample_defects_are_counted(report: tuple[Path, dict[str, Any]]) -> None:
    _, metrics = report
    quality = metrics["data_quality"]
    assert quality["events.duplicates_removed"] == 2  # two exact copies in January
    assert quality["events.unparsed_event_time"] == 0
    assert quality["events.bad_price_removed"] == 0
    assert quality["events.unmapped_removed"] == 0


def test_pdf_text_has_the_event_section(report: tuple[Path, dict[str, Any]]) -> None:
    folder, metrics = report
    text = "\n".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages)
    assert "Event funnels" in text
    assert "2021-01" in text
    assert f"{metrics['kpis']['events.users']:,}" in text
