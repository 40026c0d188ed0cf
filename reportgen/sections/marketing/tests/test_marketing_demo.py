"""The demo shop's campaigns (reportgen/demo/marketing.py) and its marketing page."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

import reportgen.demo.shop
from reportgen.config import config_from_dict
from reportgen.demo.marketing import CAMPAIGNS, TEST_CAMPAIGN
from reportgen.demo.shop import generate_demo
from reportgen.periods import custom_period, month_period
from reportgen.report.metrics import compute_metrics
from reportgen.sections.marketing.view import TOO_LITTLE_DATA, ranked_campaigns

END = date(2026, 3, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    generate_demo(path, seed=5, scale=0.05, end=END, months=4)
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


def test_every_attributed_order_has_its_campaign(demo):
    known = {row[0] for row in _rows(demo, "select campaign_id from campaigns")}
    assert known == {c.campaign_id for c in (*CAMPAIGNS, TEST_CAMPAIGN)}
    used = {row[0] for row in _rows(demo, "select distinct campaign_id from orders")} - {None}
    assert used <= known


def test_activity_runs_daily_inside_the_data_and_each_campaigns_months(demo):
    first, last, days = _rows(
        demo,
        "select min(activity_date), max(activity_date), count(distinct activity_date) "
        "from campaign_activity where campaign_id = 'CMP-NEWSLETTER'",
    )[0]
    assert (first, last, days) == ("2025-11-01", "2026-02-28", 120)
    holiday = {row[0][5:7] for row in _rows(
        demo, "select activity_date from campaign_activity where campaign_id = 'CMP-HOLIDAY'"
    )}  # fmt: skip
    assert holiday == {"11", "12"}
    assert _rows(demo, "select count(*) from campaign_activity where clicks < 0 or cost < 0") == [
        (0,)
    ]


def test_campaigns_leave_the_other_tables_as_they_were(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(reportgen.demo.shop, "add_campaigns", lambda *args, **kwargs: 0)
    bare = tmp_path / "bare.sqlite"
    generate_demo(bare, seed=5, scale=0.05, end=END, months=4)
    for table in ("customers", "products", "carts", "cart_items", "orders", "events"):
        query = f"select * from {table} order by rowid"
        assert _rows(bare, query) == _rows(demo, query), table
    assert _rows(bare, "select count(*) from sqlite_master where name = 'campaigns'") == [(0,)]


def test_the_demo_month_ranks_its_campaigns(demo):
    metrics = compute_metrics(
        config_from_dict({"source": {"url": f"sqlite:///{demo}"}}), month_period("2026-02")
    )
    rows = ranked_campaigns(metrics["tables"]["marketing.campaigns"], 100)
    ranks = {row["campaign_id"]: row["rank"] for row in rows}
    assert ranks["CMP-TIKTOK-TEST"] == TOO_LITTLE_DATA  # a few clicks a day, last month only
    ranked = [row for row in rows if row["rank"].isdigit()]
    assert [row["roi"] for row in ranked] == sorted((row["roi"] for row in ranked), reverse=True)

    # Over the whole data the affiliates cost more than they bring and email pays.
    whole = compute_metrics(
        config_from_dict({"source": {"url": f"sqlite:///{demo}"}}),
        custom_period("2025-11-01", END.isoformat()),
    )
    roi = {row["campaign_id"]: row["roi"] for row in whole["tables"]["marketing.campaigns"]}
    assert roi["CMP-AFFILIATE"] < 0 < roi["CMP-SOCIAL-ADS"] < roi["CMP-CART-RECOVERY"]
