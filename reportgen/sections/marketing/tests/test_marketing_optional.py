"""Orders alone are enough (METRICS.md §6): what the section computes, skips and shows when
the optional tables and columns are missing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from marketing_shop import (
    ACTIVITY,
    ACTIVITY_COLUMNS,
    CAMPAIGN_COLUMNS,
    CAMPAIGNS,
    ORDER_COLUMNS,
    ORDERS,
    metrics_of,
    write_sqlite,
)
from pypdf import PdfReader

from reportgen.cli import main
from reportgen.periods import month_period
from reportgen.sections.marketing.kpis import KPI_KEYS

REQUIRED = ("order_id", "customer_id", "order_date")


def _orders(columns: tuple[str, ...]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Return the hand-made orders cut to ``columns``."""
    keep = [ORDER_COLUMNS.index(c) for c in columns]
    return columns, [tuple(row[i] for i in keep) for row in ORDERS]


def _sections(metrics: dict[str, Any], prefix: str = "marketing") -> dict[str, str]:
    entries = metrics["skipped"]
    return {s["section"]: s["reason"] for s in entries if s["section"].startswith(prefix)}


@pytest.fixture
def orders_only(tmp_path: Path) -> Path:
    """A database with nothing but the three required orders columns."""
    return write_sqlite(tmp_path / "orders.db", {"orders": _orders(REQUIRED)})


def test_orders_with_only_their_required_columns(orders_only):
    metrics = metrics_of(f"sqlite:///{orders_only}")
    kpis, previous = metrics["kpis"], metrics["kpis"]["previous"]
    # Every KPI in both periods; the two needing a missing column are null.
    for key in KPI_KEYS:
        assert key in kpis, key
        assert key in previous, key
    assert kpis["marketing.orders"] == 6
    assert kpis["marketing.retention_rate"] == 0.5
    assert kpis["marketing.order_abandonment_rate"] is None
    assert previous["marketing.discount_revenue_share"] is None
    assert "marketing.campaigns" not in metrics["tables"]
    assert metrics["tables"]["marketing.cohorts"]  # orders alone make the cohorts
    march = metrics["tables"]["marketing.by_month"][-1]
    assert march["revenue"] is None
    assert march["discount_revenue"] is None
    assert march["customers"] == 4
    assert _sections(metrics) == {
        "marketing.campaigns": "no table campaigns or campaign_activity",
        "marketing.revenue": "no column order_total in orders: revenue, roi and the discount "
        "revenue share are null",
        "marketing.order_abandonment_rate": "no column status in orders: the order "
        "abandonment rate is null",
        "marketing.discount_revenue_share": "no column discount_code in orders: the discount "
        "revenue share and the monthly discount split are null",
    }
    assert {"section": "carts", "reason": "no table carts"} in metrics["skipped"]


def test_campaigns_without_activity(tmp_path):
    path = write_sqlite(
        tmp_path / "shop.db",
        {"orders": (ORDER_COLUMNS, ORDERS), "campaigns": (CAMPAIGN_COLUMNS, CAMPAIGNS)},
    )
    metrics = metrics_of(f"sqlite:///{path}")
    rows = {row["campaign_id"]: row for row in metrics["tables"]["marketing.campaigns"]}
    # Only campaigns with orders in March; their activity columns keep their place as null.
    assert sorted(rows) == ["CQ", "CX", "CY", "CZ"]
    assert rows["CY"]["revenue"] == 130.0
    assert {rows["CY"][k] for k in ("clicks", "cost", "impressions", "ctr", "cpc", "roi")} == {None}
    assert "marketing.campaign_activity" in _sections(metrics)
    assert "marketing.unparsed_activity_date" not in metrics["data_quality"]
    assert metrics["data_quality"]["marketing.unknown_campaign_orders"] == 1  # CQ


def test_activity_without_campaigns_or_impressions(tmp_path):
    columns = ACTIVITY_COLUMNS[:4]
    activity = [row[:4] for row in ACTIVITY]
    path = write_sqlite(
        tmp_path / "shop.db",
        {"orders": _orders(REQUIRED), "campaign_activity": (columns, activity)},
    )
    metrics = metrics_of(f"sqlite:///{path}")
    rows = {row["campaign_id"]: row for row in metrics["tables"]["marketing.campaigns"]}
    # Activity alone lists the campaigns active in March; no order carries a campaign.
    assert sorted(rows) == ["CW", "CX", "CY", "CZ"]
    assert rows["CX"]["clicks"] == 150
    assert rows["CX"]["cpc"] == 0.5
    assert rows["CX"]["impressions"] is None
    assert rows["CX"]["ctr"] is None
    assert rows["CX"]["orders"] is None
    assert rows["CX"]["roi"] is None
    assert rows["CX"]["name"] is None
    assert set(_sections(metrics)) == {
        "marketing.campaigns.impressions",
        "marketing.campaign_names",
        "marketing.campaign_orders",
        "marketing.revenue",
        "marketing.order_abandonment_rate",
        "marketing.discount_revenue_share",
    }


def test_a_campaign_table_missing_a_required_column_is_skipped_not_fatal(tmp_path):
    path = write_sqlite(
        tmp_path / "shop.db",
        {
            "orders": (ORDER_COLUMNS, ORDERS),
            "campaign_activity": (("campaign_id", "activity_date", "cost"), []),
        },
    )
    metrics = metrics_of(f"sqlite:///{path}")
    assert "marketing.campaigns" not in metrics["tables"]
    reason = _sections(metrics)["marketing.campaigns"]
    assert "column 'clicks' missing from table 'campaign_activity'" in reason
    assert "source.columns.campaign_activity.clicks" in reason


def test_an_empty_orders_table_gives_zeros_and_nulls(tmp_path):
    path = write_sqlite(tmp_path / "empty.db", {"orders": (REQUIRED, [])})
    metrics = metrics_of(f"sqlite:///{path}")
    kpis = metrics["kpis"]
    assert kpis["marketing.orders"] == 0
    assert kpis["marketing.customers"] == 0
    assert kpis["marketing.repeat_purchase_rate"] is None
    assert kpis["marketing.retention_rate"] is None
    assert metrics["tables"]["marketing.cohorts"] == []
    assert metrics["data_quality"]["marketing.newest_order"] is None


@pytest.fixture
def no_weasyprint_warnings(caplog):
    """Fail on any WeasyPrint warning (a missing font or bad CSS must not slip by)."""
    caplog.set_level(logging.WARNING, logger="weasyprint")
    yield
    warnings = [r for r in caplog.records if r.name.startswith("weasyprint")]
    assert not warnings, [r.getMessage() for r in warnings]


def test_an_orders_only_source_builds_a_report_through_the_cli(
    orders_only, tmp_path, no_weasyprint_warnings
):
    config = tmp_path / "shop.yaml"
    config.write_text(
        f"source:\n  url: sqlite:///{orders_only.name}\n"
        "report:\n  title: Orders only\n  output: reports\n  trend_periods: 2\n"
    )
    # No period given: the last complete month before the newest order (2024-04-01).
    result = CliRunner().invoke(main, ["build", "--config", str(config)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "reports" / "month" / "2024-03"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["period"]["label"] == "2024-03"
    assert metrics["kpis"]["marketing.orders_per_customer"] == 1.5
    assert [s["section"] for s in metrics["skipped"]][:2] == ["carts", "events"]

    page = BeautifulSoup((folder / "report.html").read_text(), "html.parser")
    section = page.select_one("#section-marketing")
    assert section is not None
    assert page.select_one("#section-carts") is None  # a skipped section has no page
    cards = {
        card["data-key"]: card.select_one(".kpi-value").get_text(strip=True)
        for card in section.select(".kpi")
    }
    assert cards["marketing.orders_per_customer"] == "1.50"
    assert cards["marketing.retention_rate"] == "50.0%"
    assert cards["marketing.order_abandonment_rate"] == "n/a"
    assert len(section.select("figure svg")) == 3  # trend, heatmap, discount split
    campaigns = section.select_one("#part-marketing-campaigns").get_text(" ", strip=True)
    assert "Skipped because no table campaigns or campaign_activity." in campaigns

    text = "\n".join(p.extract_text() for p in PdfReader(folder / "report.pdf").pages)
    for heading in ("Repeat purchase and retention", "Cohort retention", "Discount codes"):
        assert heading in text
    assert "rules.campaign_min_clicks" in text  # its rule in the appendix
    # Its named rules: in the archived HTML's appendix; the PDF says where they are.
    assert "orders-are-rows" in page.get_text(" ")
    assert "readings behind these figures" in text


def test_the_default_period_comes_from_orders(orders_only):
    from reportgen.config import config_from_dict
    from reportgen.report.metrics import default_period

    config = config_from_dict({"source": {"url": f"sqlite:///{orders_only}"}})
    assert default_period(config, "month") == month_period("2024-03")
