"""Data problems are loud: a warning per alert, a cover banner, build.json, and --strict.

Regression: 500 ``created_at`` values of ``n/a (export error)`` in one month made the
report say 3,528 carts instead of 4,026, with exit 0, a red "-5.8%" on the cover and one
data-quality row as the only trace.

The shop below, worked out by hand (period March 2024, rule max_bad_row_share 0.5%):

- February: 10 carts ``f1``-``f10``, abandoned, each with one line (1 x 10.00).
- March: 12 readable carts ``m1``-``m12`` (abandoned), each with one line (1 x 10.00),
  and 3 carts ``x1``-``x3`` whose created_at is ``n/a (export error)``.
- carts: 25 rows; unparsed 3 -> 3 / 25 = 12.0% > 0.5%: one alert. cart_items 22 rows,
  orders 1 row (February), so no table is empty and no other count is above zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from reportgen.cli import main

ALERT = "3 of 25 carts (12.0%) have an unreadable created_at and are in no period"


@pytest.fixture
def shop(make_db, tmp_path: Path) -> Path:
    """The config of the shop above, archiving into tmp_path/reports."""
    february = [(f"f{i}", f"u{i}", f"2024-02-{i + 1:02d} 10:00:00", "abandoned") for i in range(10)]
    march = [(f"m{i}", f"u{i}", f"2024-03-{i + 1:02d} 10:00:00", "abandoned") for i in range(12)]
    unreadable = [(f"x{i}", f"u{i}", "n/a (export error)", "abandoned") for i in range(3)]
    db = make_db(
        carts=february + march + unreadable,
        cart_items=[(cart[0], "p1", 1, 10.0) for cart in february + march],
        orders=[("o1", "u1", "2024-02-20 09:00:00")],
        products=[("p1", "Mug", "Kitchen")],
    )
    config = tmp_path / "shop.yaml"
    config.write_text(
        f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n  trend_periods: 0\n"
    )
    return config


def build(config: Path, *args: str):
    return CliRunner().invoke(main, ["build", "--config", str(config), "--month", "2024-03", *args])


def test_unreadable_created_at_warns_on_stderr_and_is_recorded(shop, tmp_path):
    result = build(shop, "--no-pdf")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [f"warning: {ALERT}"]
    assert "warning" not in result.stdout
    folder = tmp_path / "reports" / "month" / "2024-03"
    facts = json.loads((folder / "build.json").read_text())
    assert facts["data_alerts"] == [
        {
            "table": "carts",
            "key": "carts.unparsed_created_at",
            "kind": "bad_rows",
            "problem": "have an unreadable created_at and are in no period",
            "count": 3,
            "total": 25,
            "share": 0.12,
            "message": ALERT,
        }
    ]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["kpis"]["carts.carts_total"] == 12  # the 3 unreadable are in no period
    quality = metrics["data_quality"]
    assert quality["carts.unparsed_created_at"] == 3
    assert quality["carts.table_rows"] == 25
    assert quality["carts.period_lines"] == 12
    assert quality["cart_items.table_rows"] == 22


def test_the_cover_carries_a_banner_naming_table_and_count(shop, tmp_path):
    result = build(shop, "--no-pdf")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "reports" / "month" / "2024-03" / "report.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    banner = soup.select_one("section.cover .data-alerts")
    assert banner is not None
    assert [li.get_text(strip=True) for li in banner.select("li")] == [f"{ALERT}."]
    # The banner comes before the headline figures it qualifies.
    assert html.index("data-alerts") < html.index("Headline figures")
    assert ALERT in soup.select_one("section.data-quality").get_text()


def test_strict_exits_non_zero_with_one_line_and_publishes_nothing(shop, tmp_path):
    result = build(shop, "--strict")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    *progress, line = result.output.strip().splitlines()
    assert line == f"Error: {shop}: 1 data alert (strict): {ALERT}; nothing was published"
    assert all(" done in " in earlier for earlier in progress), progress  # stages that ran
    assert not (tmp_path / "reports").exists()


def test_clean_data_builds_under_strict(make_db, tmp_path):
    db = make_db(
        carts=[("c1", "u1", "2024-03-05 10:00:00", "abandoned")],
        cart_items=[("c1", "p1", 1, 10.0)],
        orders=[("o1", "u1", "2024-03-06 10:00:00")],
    )
    config = tmp_path / "shop.yaml"
    config.write_text(f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n")
    result = build(config, "--no-pdf", "--strict")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    facts = json.loads((tmp_path / "reports" / "month" / "2024-03" / "build.json").read_text())
    assert facts["data_alerts"] == []


def test_the_threshold_is_a_config_key(shop, tmp_path):
    """12% of the table is under a 15% rule: no alert."""
    shop.write_text(shop.read_text() + "quality:\n  max_bad_row_share: 0.15\n")
    result = build(shop, "--no-pdf", "--strict")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_an_empty_period_and_empty_tables_warn(make_db, tmp_path):
    """Carts only in March; May has none. cart_items and orders are empty tables."""
    db = make_db(carts=[("c1", "u1", "2024-03-05 10:00:00", "abandoned")])
    config = tmp_path / "shop.yaml"
    config.write_text(f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n")
    result = CliRunner().invoke(
        main, ["build", "--config", str(config), "--month", "2024-05", "--no-pdf"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: The cart_items table is empty: every cart's value is 0",
        "warning: The orders table is empty: no cart links to an order and no abandoner "
        "is re-engaged",
        "warning: No carts have a created_at in 2024-05 (1 row in the carts table): "
        "the carts figures are empty",
    ]
    strict = CliRunner().invoke(
        main, ["build", "--config", str(config), "--month", "2024-06", "--strict"]
    )
    assert strict.exit_code == 1
    assert "3 data alerts (strict): The cart_items table is empty" in strict.output


def test_demo_accepts_strict(tmp_path):
    """The demo's data is clean: --strict builds it."""
    result = CliRunner().invoke(
        main,
        [
            "demo",
            "--scale",
            "0.02",
            "--end",
            "2026-11-15",
            "--data",
            str(tmp_path / "demo.sqlite"),
            "--out",
            str(tmp_path / "reports"),
            "--no-pdf",
            "--strict",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports" / "month" / "2026-10" / "report.html").is_file()


def test_the_pdf_cover_carries_the_banner_above_the_headline_figures(shop, tmp_path):
    from pypdf import PdfReader

    result = build(shop)
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "reports" / "month" / "2024-03" / "report.pdf"
    cover = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    assert f"{ALERT}." in cover
    assert cover.index(ALERT) < cover.index("HEADLINE FIGURES")  # upper case by CSS
    assert "CARTS CREATED 12" in cover  # the headline cards stay on the cover
