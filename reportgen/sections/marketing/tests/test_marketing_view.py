"""The marketing page and its recommendations, from metrics.json alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reportgen.sections.marketing import recommend as rec
from reportgen.sections.marketing.kpis import window_open
from reportgen.sections.marketing.view import marketing_view, ranked_campaigns


def _campaign(campaign_id: str, clicks: float | None, cost: float, revenue: float, **extra: Any):
    roi = (revenue - cost) / cost if cost else None
    return {
        "campaign_id": campaign_id,
        "name": extra.get("name"),
        "channel": extra.get("channel"),
        "clicks": clicks,
        "cost": cost,
        "impressions": None,
        "ctr": None,
        "cpc": cost / clicks if clicks else None,
        "orders": 1,
        "revenue": revenue,
        "roi": roi,
    }


def _month(month: str, revenue: float, orders: int = 100, customers: int = 80) -> dict[str, Any]:
    return {
        "month": month,
        "orders": orders,
        "customers": customers,
        "repeat_purchase_rate": 0.2,
        "retention_rate": 0.3,
        "revenue": revenue,
        "discount_revenue": revenue / 4,
        "other_revenue": revenue * 3 / 4,
        "discount_revenue_share": 0.25,
    }


def _cohort(cohort: str, share: float, customers: int = 100) -> list[dict[str, Any]]:
    return [
        {"cohort": cohort, "months_since": 0, "customers": customers, "active": customers,
         "share": 1.0},
        {"cohort": cohort, "months_since": 1, "customers": customers,
         "active": round(share * customers), "share": share},
    ]  # fmt: skip


METRICS: dict[str, Any] = {
    "period": {"kind": "month", "label": "2026-10", "start": "2026-10-01T00:00:00",
               "end": "2026-11-01T00:00:00", "timezone": "UTC"},
    "previous_period": {"kind": "month", "label": "2026-09", "start": "2026-09-01T00:00:00",
                        "end": "2026-10-01T00:00:00", "timezone": "UTC"},
    "rules": {"campaign_min_clicks": 100, "abandoned_statuses": ["abandoned"]},
    "kpis": {
        "marketing.orders": 500,
        "marketing.customers": 400,
        "marketing.orders_per_customer": 1.25,
        "marketing.repeat_purchase_rate": 0.15,
        "marketing.retention_rate": 0.25,
        "marketing.order_abandonment_rate": 0.02,
        "marketing.discount_revenue_share": 0.3,
        "previous": {
            "marketing.orders": 450,
            "marketing.customers": 300,
            "marketing.orders_per_customer": 1.5,
            "marketing.repeat_purchase_rate": 0.20,
            "marketing.retention_rate": 0.30,
            "marketing.order_abandonment_rate": 0.02,
            "marketing.discount_revenue_share": 0.25,
        },
    },
    "tables": {
        "marketing.campaigns": [
            _campaign("A", 1000, 1000.0, 1500.0, name="Search"),  # ROI 50%
            _campaign("B", 50, 10.0, 500.0, name="Tiny test"),  # too little data
            _campaign("C", 2000, 2000.0, 1000.0),  # ROI -50%, no name
            _campaign("D", 500, 0.0, 300.0, name="Free email"),  # no cost: no ROI
            _campaign("E", 800, 400.0, 1400.0, name="Newsletter"),  # ROI 250%
        ],
        "marketing.cohorts": [
            *_cohort("2026-05", 0.30),
            *_cohort("2026-06", 0.28),
            *_cohort("2026-07", 0.32),
            *_cohort("2026-08", 0.20, customers=50),
            *_cohort("2026-09", 0.05),  # its month 1 (October) ends with the period: counted
            {"cohort": "2026-10", "months_since": 0, "customers": 40, "active": 40, "share": 1.0},
        ],
        "marketing.by_month": [_month("2026-09", 90_000.0), _month("2026-10", 100_000.0, 500)],
    },
    "data_quality": {"marketing.newest_order": "2026-11-03 10:00:00"},
    "skipped": [],
}  # fmt: skip


def test_campaigns_ranked_by_roi_with_too_little_data_last():
    rows = ranked_campaigns(METRICS["tables"]["marketing.campaigns"], 100)
    assert [(row["campaign_id"], row["rank"], row["label"]) for row in rows] == [
        ("E", "1", "Newsletter"),
        ("A", "2", "Search"),
        ("C", "3", "C"),
        ("D", "no cost", "Free email"),
        ("B", "too little data", "Tiny test"),
    ]
    # A higher threshold leaves only C (2,000 clicks) in the ranking.
    ranked = ranked_campaigns(METRICS["tables"]["marketing.campaigns"], 1500)
    assert [row["campaign_id"] for row in ranked if row["rank"].isdigit()] == ["C"]


def test_the_view_shows_every_part_with_formatted_numbers():
    view = marketing_view(METRICS, "USD", {}, {})
    assert [part["id"] for part in view["parts"]] == [
        "marketing-customers",
        "marketing-cohorts",
        "marketing-campaigns",
        "marketing-discounts",
    ]
    cards = {card["key"]: card for card in view["customers"]["cards"]}
    assert cards["marketing.orders_per_customer"]["value"] == "1.25"
    assert cards["marketing.orders_per_customer"]["comparison"] == "-0.25 vs 1.50"
    assert cards["marketing.orders_per_customer"]["tone"] == "bad"
    assert cards["marketing.retention_rate"]["value"] == "25.0%"
    assert view["customers"]["provisional"] == []  # orders reach past the period end
    table = view["campaigns"]["table"]
    assert [row[0]["text"] for row in table["rows"]] == [
        "1",
        "2",
        "3",
        "no cost",
        "too little data",
    ]
    assert table["rows"][0][-1]["text"] == "250.0%"
    assert view["discounts"]["table"]["rows"][-1][0]["text"] == "Oct 2026"


def test_a_skipped_campaign_table_keeps_its_part_with_the_reason():
    metrics = copy.deepcopy(METRICS)
    del metrics["tables"]["marketing.campaigns"]
    reason = "no table campaigns or campaign_activity"
    view = marketing_view(metrics, "USD", {}, {"marketing.campaigns": reason})
    assert view["campaigns"]["skipped"] == f"Skipped because {reason}."
    assert view["campaigns"]["table"] is None


def test_window_open_reads_the_newest_order():
    metrics = copy.deepcopy(METRICS)
    assert window_open(metrics) is None
    metrics["data_quality"]["marketing.newest_order"] = "2026-10-31 23:59:59"
    assert "31 Oct 2026 23:59" in window_open(metrics)
    metrics["data_quality"]["marketing.newest_order"] = "2026-10-31"  # a date-only column
    assert window_open(metrics) is None
    metrics["data_quality"]["marketing.newest_order"] = "2026-10-30"
    assert "30 Oct 2026" in window_open(metrics)
    metrics["data_quality"]["marketing.newest_order"] = None
    assert "no readable order date" in window_open(metrics)
    assert window_open({"period": METRICS["period"], "data_quality": {}}) is None


def test_budget_moves_from_the_worst_to_the_best_ranked_campaign():
    found = rec.budget_shift(METRICS, "USD")
    # Worst with enough clicks: C at -50% (B's tiny test is not ranked); best E at 250%.
    # Half of C's 2,000 is 1,000, but E spends 400: 400 moved (E's budget doubled), times
    # the 300 pp gap: 1,200.
    assert found.headline == "Move budget from campaign C to Newsletter."
    assert found.expected_value == pytest.approx(400 * 3.0)
    assert "Moving $400.00 of campaign C's spend to Newsletter" in found.detail
    assert "$1,200.00 more revenue" in found.detail
    assert found.evidence["marketing.campaigns.worst"]["campaign_id"] == "C"
    assert found.kpi is None


def test_when_no_campaign_pays_back_cut_the_worst_instead():
    metrics = copy.deepcopy(METRICS)
    metrics["tables"]["marketing.campaigns"] = [
        _campaign("A", 1000, 1000.0, 800.0),  # ROI -20%
        _campaign("C", 2000, 2000.0, 1000.0),  # ROI -50%
    ]
    found = rec.budget_shift(metrics, "USD")
    # Halving C's 2,000 saves 1,000 of cost and loses 500 of revenue: 500 net.
    assert found.headline == "Cut the spend on campaign C: no ranked campaign paid back its cost."
    assert found.detail.startswith("Campaign C returned an ROI of -50.0%")
    assert found.expected_value == pytest.approx(500)


def test_retention_and_repeat_falls_name_their_kpi_and_value():
    retention = rec.retention_fell(METRICS, "USD")
    # 30% -> 25% of September's 300 customers: 15 customers lost, at October's revenue per
    # customer (100,000 / 400 = 250): 3,750.
    assert (retention.kpi, retention.pull) == ("marketing.retention_rate", "up")
    assert retention.expected_value == pytest.approx(15 * 250)
    assert "from 30.0% to 25.0% (-5.0 pp)" in retention.detail
    repeat = rec.repeat_fell(METRICS, "USD")
    # 20% -> 15% of 400 customers: 20 repeaters missing, at 100,000 / 500 = 200 an order.
    assert (repeat.kpi, repeat.pull) == ("marketing.repeat_purchase_rate", "up")
    assert repeat.expected_value == pytest.approx(20 * 200)


def test_a_cohort_that_retains_worse_than_the_ones_before():
    found = rec.weak_cohort(METRICS, "USD")
    # The newest cohort with a finished month 1 is 2026-09 (October ended with the
    # period): 5% against the mean of 2026-06, -07 and -08 (28%, 32%, 20%: 26.7%).
    assert found.headline == "Find out why customers who first ordered in Sep 2026 came back less."
    assert "26.7%" in found.detail
    assert found.expected_value == pytest.approx((0.8 / 3 - 0.05) * 100 * 200)
    # A week report ending mid-October has not seen the end of 2026-09's month 1.
    metrics = copy.deepcopy(METRICS)
    metrics["period"].update(kind="week", end="2026-10-19T00:00:00")
    found = rec.weak_cohort(metrics, "USD")
    assert "Aug 2026" in found.headline
    assert found.expected_value is None  # no whole-month revenue for a week


def test_recommendations_never_pull_one_kpi_both_ways_and_come_in_priority_order():
    found = rec.recommend(METRICS, "USD")
    pulls: dict[str, set[str]] = {}
    for item in found:
        if item.kpi:
            pulls.setdefault(item.kpi, set()).add(item.pull)
    assert all(len(ways) == 1 for ways in pulls.values())
    assert [item.priority for item in found] == sorted(item.priority for item in found)
    assert {item.section for item in found} == {"marketing"}


def test_an_empty_period_gets_only_the_feed_check():
    metrics = copy.deepcopy(METRICS)
    metrics["kpis"]["marketing.orders"] = 0
    found = rec.recommend(metrics, "USD")
    assert [item.headline for item in found] == [
        "Check the orders feed before reading the marketing section."
    ]


def test_a_provisional_period_says_so():
    metrics = copy.deepcopy(METRICS)
    metrics["data_quality"]["marketing.newest_order"] = "2026-10-20 08:00:00"
    found = rec.provisional(metrics, "USD")
    assert found.headline == "Read the retention and repeat purchase rates as provisional."
    assert "20 Oct 2026 08:00" in found.detail
    assert marketing_view(metrics, "USD", {}, {})["customers"]["provisional"] == [found.detail]
