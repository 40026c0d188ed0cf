"""The cover banner and the data-quality page from a hand-written metrics.json."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

from bs4 import BeautifulSoup

from reportgen.config import QualitySettings
from reportgen.render.html import ReportContent, render_html
from reportgen.report.alerts import data_alerts
from reportgen.sections.carts import SECTION

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metrics_carts.json"


def render(metrics: dict) -> BeautifulSoup:
    content = ReportContent(
        metrics=metrics,
        sections=[SECTION],
        charts={},
        recommendations=[],
        generated_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
        currency="GBP",
        title="Cart & customer behaviour",
        author="Growth & Retention analytics",
        alerts=data_alerts(metrics, QualitySettings()),
    )
    return BeautifulSoup(render_html(content), "html.parser")


def test_no_banner_without_alerts():
    soup = render(json.loads(FIXTURE.read_text()))
    assert soup.select(".data-alerts") == []
    assert soup.select(".future-rows") == []


def test_future_dated_rows_and_alerts_are_said():
    metrics = copy.deepcopy(json.loads(FIXTURE.read_text()))
    metrics["data_quality"].update(
        {
            "carts.table_rows": 1000,
            "carts.future_created_at": 40,  # 4.0% of the table: an alert
            "orders.table_rows": 500,
            "orders.future_order_date": 1,  # 0.2%: said, not an alert
            "cart_items.table_rows": 3000,
            "carts.period_lines": 10_000,  # the fixture's 5 invalid lines: 0.05%
        }
    )
    soup = render(metrics)
    (item,) = soup.select("section.cover .data-alerts li")
    assert item.get_text() == (
        "40 of 1,000 carts (4.0%) are dated after this report was built and are in no past period."
    )
    page = soup.select_one("section.data-quality")
    assert page.select_one(".future-rows").get_text() == (
        "40 carts and 1 order are dated after the moment this report was built (in its time "
        "zone): a clock or export error. Such rows fall in no past period."
    )
    labels = [row.td.get_text() for row in page.select("tbody tr")]
    assert "Carts dated after this report was built (whole table)" in labels
