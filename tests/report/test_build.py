"""End to end: demo data → archived HTML, PDF, metrics.json and CSV."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.cli import main
from reportgen.config import config_from_dict, load_config
from reportgen.periods import month_period
from reportgen.render.formatters import fmt_money_short, fmt_number, fmt_percent
from reportgen.report.build import build_report

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
ECOM_CONFIG = REPO / "config" / "examples" / "ecom_retailer_v3.yaml"
SECTION_TITLES = (
    "Recommendations",
    "Cart funnel",
    "Abandoned value",
    "Segments",
    "Re-engagement",
    "Time to order",
    "Data quality",
    "Assumptions",
)


def needs_shared_data() -> None:
    """Skip without ../shared/data, except in CI where it must be there."""
    if not (SHARED / "data").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the shared data beside the clone: {SHARED / 'data'}")
        pytest.skip(f"no shared data at {SHARED / 'data'} (CI has it beside the clone)")


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    """Run `reportgen demo` once (full size) and return the archive folder and its output."""
    root = tmp_path_factory.mktemp("demo")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        result = CliRunner().invoke(
            main,
            [
                "demo",
                "--end",
                "2026-11-15",
                "--data",
                str(root / "demo.sqlite"),
                "--out",
                str(root / "reports"),
            ],
        )
    finally:
        logger.removeHandler(handler)
    assert result.exit_code == 0, result.output
    return root / "reports" / "month" / "2026-10", result.output, records


def test_demo_builds_the_last_complete_month(demo_build):
    folder, output, _ = demo_build
    assert "report month 2026-10" in output
    # Not a terminal: one timestamped line per stage, then where it went.
    assert re.search(r"^\S+Z demo: data done in \d+\.\d s$", output, re.MULTILINE)
    assert re.search(r"^\S+Z build 2026-10: pdf done in \d+\.\d s$", output, re.MULTILINE)
    assert output.splitlines()[-2:] == [
        f"report month 2026-10: {folder}",
        "history: nothing to keep (first build of this period)",
    ]
    for name in ("report.html", "report.pdf", "metrics.json", "csv"):
        assert (folder / name).exists(), name
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_weasyprint_logs_no_warning(demo_build):
    _, _, records = demo_build
    assert [r.getMessage() for r in records] == []


def test_pdf_has_sections_in_order_and_headline_kpis_from_metrics(demo_build):
    folder, _, _ = demo_build
    metrics = json.loads((folder / "metrics.json").read_text())
    reader = PdfReader(folder / "report.pdf")
    assert len(reader.pages) >= 8
    assert reader.metadata.title
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)
    kpis = metrics["kpis"]
    assert fmt_number(kpis["carts.carts_total"]) in pages[0]
    assert fmt_percent(kpis["carts.cart_conversion_rate"]) in pages[0]
    assert fmt_money_short(kpis["carts.abandoned_cart_value"]) in pages[0]  # headline policy
    assert fmt_percent(kpis["carts.reengagement_rate"]) in pages[0]
    # Each title as a line of its own after the cover (the contents, which share page 2 with
    # the recommendations, write them with dotted leaders and page numbers).
    lines = [line.strip() for page in pages[1:] for line in page.splitlines()]
    positions = []
    for title in SECTION_TITLES:
        assert title in lines, title
        positions.append(lines.index(title))
    assert positions == sorted(positions)
    assert "2026-10" in text


def test_metrics_json_has_the_contract_layout(demo_build):
    folder, _, _ = demo_build
    metrics = json.loads((folder / "metrics.json").read_text())
    assert set(metrics) == {
        "period",
        "previous_period",
        "rules",
        "kpis",
        "tables",
        "data_quality",
        "skipped",
    }
    facts = json.loads((folder / "build.json").read_text())
    assert facts["generator"].startswith("reportgen ")
    assert facts["recommendations"][0]["headline"]
    assert metrics["period"] == {
        "kind": "month",
        "label": "2026-10",
        "start": "2026-10-01T00:00:00",
        "end": "2026-11-01T00:00:00",
        "timezone": "UTC",
    }
    assert metrics["previous_period"]["label"] == "2026-09"
    assert set(metrics["kpis"]["previous"]) == set(metrics["kpis"]) - {"previous"}
    assert metrics["rules"]["reengagement_days"] == 7


def test_csv_exports_every_table_and_all_savable_customers(demo_build):
    folder, _, _ = demo_build
    metrics = json.loads((folder / "metrics.json").read_text())
    for name, table in metrics["tables"].items():
        csv = folder / "csv" / f"{name}.csv"
        assert csv.is_file(), name
        lines = csv.read_text().strip().splitlines()
        assert len(lines) == len(table) + 1 or (not table and len(lines) <= 1), name
    savable = metrics["tables"]["carts.savable_customers"]
    assert len(savable) > metrics["rules"]["top_n"]


def test_html_is_self_contained(demo_build):
    folder, _, _ = demo_build
    html = (folder / "report.html").read_text()
    assert "<script" not in html
    assert "<svg" in html
    for needle in ('src="http', 'href="http', "url(http", "@import"):
        assert needle not in html


@pytest.fixture
def small_shop(tmp_path, make_db):
    db = make_db(
        carts=[
            ("c1", "u1", "2024-03-05 10:00:00", "abandoned"),
            ("c2", "u2", "2024-03-06 10:00:00", "converted"),
        ],
        cart_items=[("c1", "p1", 2, 10.0), ("c2", "p1", 1, 10.0)],
        orders=[("o1", "u2", "2024-03-06 11:00:00", "c2")],
        products=[("p1", "Mug", "Kitchen")],
    )
    return config_from_dict(
        {"source": {"url": f"sqlite:///{db}"}, "report": {"output": str(tmp_path / "reports")}},
        base_dir=tmp_path,
    )


def test_rebuilding_keeps_the_old_version_unless_forced(small_shop, tmp_path):
    period = month_period("2024-03")
    first = build_report(small_shop, period, pdf=False)
    (first.folder / "marker").write_text("first build")
    second = build_report(small_shop, period, pdf=False)
    assert second.folder == first.folder
    assert not (second.folder / "marker").exists()
    history = list((tmp_path / "reports" / "history" / "month" / "2024-03").iterdir())
    assert len(history) == 1
    assert (history[0] / "marker").read_text() == "first build"
    build_report(small_shop, period, pdf=False, force=True)
    assert len(list(history[0].parent.iterdir())) == 1


def test_a_crash_mid_build_leaves_nothing_half_written(small_shop, tmp_path, monkeypatch):
    import reportgen.render.html

    def explode(html, target):
        Path(target).write_bytes(b"%PDF-half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(reportgen.render.html, "write_pdf", explode)
    with pytest.raises(RuntimeError):
        build_report(small_shop, month_period("2024-03"))
    month = tmp_path / "reports" / "month"
    assert list(month.iterdir()) == []


def test_nav_links_the_reports_archived_not_the_calendar(small_shop, tmp_path):
    """Regression: each report linked its calendar neighbours, which were never built."""
    from bs4 import BeautifulSoup

    def nav(label: str) -> dict[str, str | None]:
        page = tmp_path / "reports" / "month" / label / "report.html"
        soup = BeautifulSoup(page.read_text(), "html.parser")
        links = {rel: soup.select_one(f"nav.nav a[rel={rel}]") for rel in ("prev", "next")}
        for link in links.values():
            assert link is None or (page.parent / link["href"]).is_file(), link["href"]
        return {rel: link["href"] if link else None for rel, link in links.items()}

    build_report(small_shop, month_period("2024-03"), pdf=False)
    assert nav("2024-03") == {"prev": None, "next": None}
    build_report(small_shop, month_period("2024-01"), pdf=False)
    # The later build links both ways: March's page was relinked to January.
    assert nav("2024-01") == {"prev": None, "next": "../2024-03/report.html"}
    assert nav("2024-03") == {"prev": "../2024-01/report.html", "next": None}
    build_report(small_shop, month_period("2024-02"), pdf=False)
    assert nav("2024-01")["next"] == "../2024-02/report.html"
    assert nav("2024-03")["prev"] == "../2024-02/report.html"
    # A rebuild moves the old version under history, links rewritten for its depth.
    build_report(small_shop, month_period("2024-02"), pdf=False)
    (old,) = (tmp_path / "reports" / "history" / "month" / "2024-02").iterdir()
    soup = BeautifulSoup((old / "report.html").read_text(), "html.parser")
    hrefs = [a["href"] for a in soup.select("nav.nav a[href]")]
    assert hrefs == [
        "../../../../month/2024-01/report.html",
        "../../../../index.html",
        "../../../../month/2024-03/report.html",
    ]
    assert all((old / href).is_file() for href in hrefs)


EXAMPLES = [
    *sorted(REPO.glob("config/examples/*.yaml")),
    REPO / "reportgen/sections/events/tests/fixtures/rees46.yaml",
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_each_example_config_writes_its_own_ignored_archive(path):
    """Regression: the examples wrote into the demo's archive (ecom_retailer_v3) or into
    tests/fixtures/reports/, which git did not ignore."""
    output = load_config(path).output_dir.resolve()
    assert output == REPO / "reports" / "examples" / path.stem
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(output / "month" / "2025-07" / "report.html")],
        cwd=REPO,
    )
    assert ignored.returncode == 0, f"{output} is not ignored by git"


def test_an_empty_period_is_a_report_saying_so(small_shop):
    result = build_report(small_shop, month_period("2023-01"))
    assert result.metrics["kpis"]["carts.carts_total"] == 0
    assert result.metrics["kpis"]["carts.cart_conversion_rate"] is None
    text = "\n".join(p.extract_text() for p in PdfReader(result.pdf).pages)
    assert "No carts were created in this period" in text
    assert "n/a" in text


def test_the_ecom_retailer_v3_example_builds(tmp_path):
    needs_shared_data()
    config = load_config(ECOM_CONFIG)
    result = build_report(config, month_period("2025-07"), output=tmp_path / "reports")
    metrics = result.metrics
    # Figures from the database README: July 2025 has 3,299 carts; emptied counts as abandoned.
    assert metrics["kpis"]["carts.carts_total"] == 3299
    assert metrics["kpis"]["carts.carts_other"] == 0
    assert (
        metrics["kpis"]["carts.carts_converted"] + metrics["kpis"]["carts.carts_abandoned"] == 3299
    )
    # Orders carry no cart_id: every converted cart links to its order by next_order.
    assert metrics["data_quality"]["carts.linked_by_cart_id"] == 0
    assert metrics["kpis"]["carts.converted_unlinked"] == 0
    assert "carts.segment.age_band" in metrics["tables"]
    assert len(PdfReader(result.pdf).pages) >= 8


def test_ecom_whole_year_status_counts_match_its_readme(tmp_path):
    needs_shared_data()
    config = load_config(ECOM_CONFIG)
    from reportgen.periods import custom_period
    from reportgen.report.metrics import compute_metrics

    metrics = compute_metrics(config, custom_period("2024-08-01", "2025-09-01"))
    kpis = metrics["kpis"]
    assert kpis["carts.carts_total"] == 27347
    assert kpis["carts.carts_converted"] == 3576
    assert kpis["carts.carts_abandoned"] == 20241 + 3530
    assert metrics["data_quality"]["carts.duplicate_lines"] == 332


def test_the_default_period_ends_before_the_newest_cart_in_any_format(tmp_path, make_db):
    from reportgen.report.metrics import default_period

    db = make_db(
        carts=[
            ("c1", "u1", "2024-02-05 10:00:00", "abandoned"),
            ("c2", "u1", "2024-03-01T00:00:00.000000", "abandoned"),
            # The newest is only readable by the full parser (UTC suffix): 2024-04-02.
            ("c3", "u1", "2024-04-02 09:00:00 UTC", "abandoned"),
            ("c4", "u1", "garbage", "abandoned"),
        ]
    )
    config = config_from_dict({"source": {"url": f"sqlite:///{db}"}}, base_dir=tmp_path)
    assert default_period(config, "month").label == "2024-03"
    assert default_period(config, "week").label == "2024-W13"


def test_a_month_to_date_compares_with_the_same_days_of_the_month_before(tmp_path, make_db):
    """Issue 10: --to-date is the month so far against the same elapsed days before it,
    archived apart from complete months. February's carts after the 15th must not count."""
    from datetime import date

    from reportgen.periods import custom_period, to_date_period
    from reportgen.report.metrics import compute_metrics

    db = make_db(
        carts=[
            ("c1", "u1", "2024-03-05 10:00:00", "abandoned"),
            ("c2", "u2", "2024-03-06 10:00:00", "converted"),
            ("c3", "u1", "2024-02-03 10:00:00", "abandoned"),
            ("c4", "u3", "2024-02-20 10:00:00", "converted"),  # after the same days
            ("c5", "u3", "2024-02-27 10:00:00", "abandoned"),
        ],
        cart_items=[("c1", "p1", 2, 10.0), ("c2", "p1", 1, 10.0), ("c3", "p1", 1, 5.0)],
        orders=[("o1", "u2", "2024-03-06 11:00:00", "c2"), ("o2", "u3", "2024-02-20 11:00:00")],
    )
    small_shop = config_from_dict(
        {"source": {"url": f"sqlite:///{db}"}, "report": {"output": str(tmp_path / "r")}},
        base_dir=tmp_path,
    )
    period = to_date_period("month", date(2024, 3, 16))
    result = build_report(small_shop, period, pdf=False)
    assert result.metrics["kpis"]["previous"]["carts.carts_total"] == 1  # c3 only
    assert result.folder.parent.name == "month-to-date"
    assert result.metrics["period"]["to_date"] is True
    same_days = compute_metrics(small_shop, custom_period("2024-02-01", "2024-02-16"))
    for key, value in result.metrics["kpis"]["previous"].items():
        assert value == same_days["kpis"].get(key), key
