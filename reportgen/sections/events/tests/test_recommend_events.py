"""Tests for the event recommendations: hand-built metrics, hand-worked sentences."""

from __future__ import annotations

from typing import Any

import pytest

from reportgen.plugin import Recommendation
from reportgen.sections.events import recommend as rec
from reportgen.sections.events.recommend import RULES, recommend


def quiet_metrics() -> dict[str, Any]:
    """Return a busy month on which only the standing funnel rule fires.

    1,000 viewers, 150 cart users (a drop of 85.0%), 45 buyers (a drop of 70.0%);
    conversion moved by under a tenth; no never-bought product; gaps under 5% of revenue;
    the top abandoned brand holds 8.0% of the abandoned value.
    """
    return {
        "period": {"kind": "month", "label": "2026-10"},
        "previous_period": {"kind": "month", "label": "2026-09"},
        "rules": {"top_n": 10, "zero_purchase_min_views": 200},
        "kpis": {
            "events.users": 1200,
            "events.views": 9000,
            "events.purchases": 60,
            "events.revenue": 20000.0,
            "events.overall_conversion_rate": 0.045,
            "events.view_to_cart_rate": 0.15,
            "events.cart_to_purchase_rate": 0.30,
            "previous": {
                "events.users": 1100,
                "events.overall_conversion_rate": 0.042,
                "events.view_to_cart_rate": 0.14,
                "events.cart_to_purchase_rate": 0.30,
            },
        },
        "tables": {
            "events.pipeline": [
                {"stage": "raw", "rows": 10000},
                {"stage": "deduplicated", "rows": 10000},
                {"stage": "valid_price", "rows": 9990},
                {"stage": "mapped_type", "rows": 9990},
                {"stage": "clean", "rows": 9990},
            ],
            "events.funnel": [
                {
                    "stage": "view",
                    "users": 1000,
                    "conversion_from_previous": None,
                    "drop_off": None,
                    "share_of_viewers": 1.0,
                },
                {
                    "stage": "cart",
                    "users": 150,
                    "conversion_from_previous": 0.15,
                    "drop_off": 0.85,
                    "share_of_viewers": 0.15,
                },
                {
                    "stage": "purchase",
                    "users": 45,
                    "conversion_from_previous": 0.30,
                    "drop_off": 0.70,
                    "share_of_viewers": 0.045,
                },
            ],
            "events.abandoned_brands": [
                {"brand": f"brand{i:02d}", "users": 20 - i, "cart_events": 30, "value": 800.0}
                for i in range(10)
            ]
            + [{"brand": "Unknown", "users": 5, "cart_events": 8, "value": 2000.0}],
            "events.zero_purchase_products": [],
            "events.catalog_gaps": [
                {
                    "attribute": "brand",
                    "events_missing": 300,
                    "share_of_events": 0.03,
                    "revenue_missing": 800.0,
                    "share_of_revenue": 0.04,
                },
                {
                    "attribute": "category_code",
                    "events_missing": 100,
                    "share_of_events": 0.01,
                    "revenue_missing": 200.0,
                    "share_of_revenue": 0.01,
                },
            ],
        },
        "data_quality": {},
        "skipped": [],
    }


def empty_metrics() -> dict[str, Any]:
    """Return a month with no events: zero counts, null rates, empty or zero tables."""
    metrics = quiet_metrics()
    kpis = metrics["kpis"]
    for key in list(kpis):
        if key != "previous":
            kpis[key] = None if key.endswith("_rate") else 0
    tables = metrics["tables"]
    tables["events.pipeline"] = [{**row, "rows": 0} for row in tables["events.pipeline"]]
    tables["events.funnel"] = [
        {**row, "users": 0, "conversion_from_previous": None, "drop_off": None}
        for row in tables["events.funnel"]
    ]
    tables["events.abandoned_brands"] = []
    tables["events.catalog_gaps"] = [
        {**row, "events_missing": 0, "share_of_events": None, "revenue_missing": 0}
        | {"share_of_revenue": None}
        for row in tables["events.catalog_gaps"]
    ]
    return metrics


def fired(metrics: dict[str, Any], rule) -> Recommendation | None:
    """Return what one rule says, checking its section."""
    result = rule(metrics, "USD")
    if result is not None:
        assert result.section == "events"
    return result


def test_quiet_period_gives_only_the_funnel_recommendation():
    assert [r.headline for r in recommend(quiet_metrics(), "USD")] == [
        "Make adding to cart easier from product pages: it loses 85.0% of the users who "
        "reach it, the steepest step."
    ]


def test_rules_are_registered_functions():
    assert len(RULES) >= 6
    assert len(set(RULES)) == len(RULES)
    assert all(callable(rule) for rule in RULES)


# The empty period


def test_empty_period_gives_only_the_feed_check():
    assert recommend(empty_metrics(), "USD") == [
        Recommendation(
            "events",
            "Check the event data feed before reading this section.",
            "There are no events in 2026-10. Confirm that the events table is still being loaded.",
            {"events.pipeline (raw rows)": 0, "events.users": 0},
            rec.PRIORITY_EMPTY_PERIOD,
        )
    ]


@pytest.mark.parametrize("rule", [rule for rule in RULES if rule is not rec.empty_period])
def test_no_rule_fires_on_an_empty_period(rule):
    metrics = empty_metrics()
    metrics["tables"]["events.zero_purchase_products"] = []
    assert fired(metrics, rule) is None


def test_events_all_removed_by_cleaning_point_to_the_cleaning_page():
    metrics = empty_metrics()
    metrics["tables"]["events.pipeline"][0]["rows"] = 1234
    result = fired(metrics, rec.empty_period)
    assert result.detail == (
        "All 1,234 events in 2026-10 were removed by cleaning (see Event cleaning in the "
        "appendix). Check the event types, prices and quantities the feed now sends."
    )


def test_busy_period_is_not_empty():
    assert fired(quiet_metrics(), rec.empty_period) is None


# The largest funnel drop


def test_largest_drop_sentence():
    assert fired(quiet_metrics(), rec.largest_drop) == Recommendation(
        "events",
        "Make adding to cart easier from product pages: it loses 85.0% of the users who "
        "reach it, the steepest step.",
        "The largest drop is from view to cart: 85.0% of viewers never add to cart "
        "(150 cart users of 1,000 viewers). From cart to purchase, 70.0% drop off.",
        {
            "events.funnel[1].stage": "cart",
            "events.funnel[1].drop_off": 0.85,
            "events.funnel[1].users": 150,
            "events.funnel[0].users": 1000,
            "events.funnel[2].drop_off": 0.70,
        },
        rec.PRIORITY_LARGEST_DROP,
        kpi="events.overall_conversion_rate",
        pull="up",
    )


def test_largest_drop_at_checkout():
    metrics = quiet_metrics()
    metrics["tables"]["events.funnel"][2] |= {"users": 12, "drop_off": 0.92}
    result = fired(metrics, rec.largest_drop)
    # The steepest step is the checkout; most users stop earlier (issue 10: "most shoppers
    # stop there" was false).
    assert result.headline == (
        "Fix the path from cart to purchase: it loses 92.0% of the users who reach it, "
        "the steepest step."
    )
    assert result.detail == (
        "The largest drop is from cart to purchase: 92.0% of users who add to cart never buy "
        "(12 buyers of 150 cart users). From view to cart, 85.0% drop off. Most users stop "
        "earlier, from view to cart (85.0% of viewers)."
    )


def test_largest_drop_tie_names_the_earlier_step():
    metrics = quiet_metrics()
    metrics["tables"]["events.funnel"][2]["drop_off"] = 0.85
    assert fired(metrics, rec.largest_drop).evidence["events.funnel[1].stage"] == "cart"


@pytest.mark.parametrize(
    "change",
    [
        {"funnel": []},
        {"funnel": None},
        {"drops": None},
        {"viewers": 0},
        {"viewers": None},
    ],
)
def test_largest_drop_needs_drops_and_users(change):
    metrics = quiet_metrics()
    funnel = metrics["tables"]["events.funnel"]
    if "funnel" in change:
        metrics["tables"]["events.funnel"] = change["funnel"]
    if "drops" in change:
        for row in funnel:
            row["drop_off"] = None
    if "viewers" in change:
        funnel[0]["users"] = change["viewers"]
    assert fired(metrics, rec.largest_drop) is None


# Never-bought products


def test_zero_purchase_products_sentence():
    metrics = quiet_metrics()
    metrics["rules"]["zero_purchase_min_views"] = 250
    metrics["tables"]["events.zero_purchase_products"] = [
        {"product_id": 5001, "views": 1250},
        {"product_id": "P-7", "views": 400},
        {"product_id": 5003, "views": 260},
        {"product_id": 5004, "views": 250},
    ]
    assert fired(metrics, rec.zero_purchase_products) == Recommendation(
        "events",
        "Review the 4 products that draw views but never sell.",
        "4 products had at least 250 views in 2026-10 and no purchase. The most viewed are "
        "5001 (1,250 views), P-7 (400 views) and 5003 (260 views). Check their price, stock "
        "and product page.",
        {
            "events.zero_purchase_products (rows)": 4,
            "rules.zero_purchase_min_views": 250,
            "events.zero_purchase_products[0].product_id": 5001,
            "events.zero_purchase_products[0].views": 1250,
            "events.zero_purchase_products[1].product_id": "P-7",
            "events.zero_purchase_products[1].views": 400,
            "events.zero_purchase_products[2].product_id": 5003,
            "events.zero_purchase_products[2].views": 260,
        },
        rec.PRIORITY_ZERO_PURCHASE,
    )


def test_never_bought_products_are_named_where_the_products_table_names_them():
    metrics = quiet_metrics()
    metrics["tables"]["events.zero_purchase_products"] = [
        {"product_id": 1047, "name": "Galaxy A51", "category": None, "views": 316},
        {"product_id": 1048, "name": None, "category": None, "views": 250},
    ]
    detail = fired(metrics, rec.zero_purchase_products).detail
    assert "The most viewed are Galaxy A51 (id 1047, 316 views) and 1048 (250 views)." in detail


def test_one_zero_purchase_product_reads_in_the_singular():
    metrics = quiet_metrics()
    del metrics["rules"]["zero_purchase_min_views"]  # the default, 200
    metrics["tables"]["events.zero_purchase_products"] = [{"product_id": 7, "views": 200}]
    result = fired(metrics, rec.zero_purchase_products)
    assert result.headline == "Review the 1 product that draws views but never sells."
    assert result.detail.startswith(
        "1 product had at least 200 views in 2026-10 and no purchase. The most viewed is 7 "
        "(200 views)."
    )


def test_zero_purchase_rows_without_views_are_ignored():
    metrics = quiet_metrics()
    metrics["tables"]["events.zero_purchase_products"] = [
        {"product_id": 7, "views": None},
        {"product_id": None, "views": 300},
        "not a row",
    ]
    assert fired(metrics, rec.zero_purchase_products) is None


# Catalog gaps


def test_catalog_gap_sentence():
    metrics = quiet_metrics()
    metrics["tables"]["events.catalog_gaps"][1] |= {
        "revenue_missing": 2469.14,
        "share_of_revenue": 0.123457,
    }
    assert fired(metrics, rec.catalog_gaps) == Recommendation(
        "events",
        "Fill in the missing categories in the product catalog.",
        "Purchases with no category brought $2,469.14, 12.3% of revenue (above the 5.0% "
        "threshold). This revenue shows as Unknown, so no brand or category gets the credit.",
        {
            "events.catalog_gaps[1].attribute": "category_code",
            "events.catalog_gaps[1].revenue_missing": 2469.14,
            "events.catalog_gaps[1].share_of_revenue": 0.123457,
        },
        rec.PRIORITY_CATALOG_GAPS,
    )


def test_catalog_gaps_name_both_attributes():
    metrics = quiet_metrics()
    metrics["tables"]["events.catalog_gaps"][0]["share_of_revenue"] = 0.05
    metrics["tables"]["events.catalog_gaps"][1] |= {
        "revenue_missing": 3000.0,
        "share_of_revenue": 0.15,
    }
    result = fired(metrics, rec.catalog_gaps)
    assert result.headline == "Fill in the missing brands and categories in the product catalog."
    assert result.detail.startswith(
        "Purchases with no brand brought $800.00, 5.0% of revenue and no category brought "
        "$3,000.00, 15.0% of revenue (above the 5.0% threshold)."
    )


@pytest.mark.parametrize(
    "row",
    [
        {"share_of_revenue": 0.0499},
        {"share_of_revenue": None, "revenue_missing": None},  # no brand column
        {"share_of_revenue": 0.5, "revenue_missing": 0},
        {"share_of_revenue": True},
    ],
)
def test_catalog_gaps_stay_quiet(row):
    metrics = quiet_metrics()
    metrics["tables"]["events.catalog_gaps"][0] |= row
    assert fired(metrics, rec.catalog_gaps) is None


# Abandoned brands


def brand_metrics() -> dict[str, Any]:
    metrics = quiet_metrics()
    metrics["tables"]["events.abandoned_brands"] = [
        {"brand": "Unknown", "users": 40, "cart_events": 70, "value": 6000.0},
        {"brand": "samsung", "users": 120, "cart_events": 180, "value": 4500.5},
        {"brand": "apple", "users": 1, "cart_events": 3, "value": 3000.0},
        {"brand": "xiaomi", "users": None, "cart_events": 20, "value": 1500.0},
        {"brand": "lg", "users": 9, "cart_events": 10, "value": 0.0},
    ]
    return metrics


def test_abandoned_brands_sentence():
    # Unknown counts in the total (15,000.50) but nobody can target it.
    assert fired(brand_metrics(), rec.abandoned_brands) == Recommendation(
        "events",
        "Check the prices, stock and delivery of samsung, apple and xiaomi against competitors.",
        "Shoppers who added to cart and never bought left $15,000.50 in their carts. The most "
        "abandoned brands: samsung $4,500.50 (30.0%, 120 users), apple $3,000.00 (20.0%, "
        "1 user) and xiaomi $1,500.00 (10.0%).",
        {
            "events.abandoned_brands (sum of value)": 15000.5,
            "events.abandoned_brands[1].brand": "samsung",
            "events.abandoned_brands[1].value": 4500.5,
            "events.abandoned_brands[1].users": 120,
            "events.abandoned_brands[2].brand": "apple",
            "events.abandoned_brands[2].value": 3000.0,
            "events.abandoned_brands[2].users": 1,
            "events.abandoned_brands[3].brand": "xiaomi",
            "events.abandoned_brands[3].value": 1500.0,
        },
        rec.PRIORITY_ABANDONED_BRANDS,
        kpi="events.cart_to_purchase_rate",
        pull="up",
    )


def test_abandoned_brand_under_a_tenth_is_not_named():
    # quiet_metrics: the top brand holds 800 of 10,000 = 8.0%.
    assert fired(quiet_metrics(), rec.abandoned_brands) is None
    metrics = quiet_metrics()
    metrics["tables"]["events.abandoned_brands"][0]["value"] = 1022.3  # 1022.3 / 10222.3
    assert fired(metrics, rec.abandoned_brands).headline.startswith(
        "Check the prices, stock and delivery of brand00"
    )


def test_abandoned_brands_skipped_table_stays_quiet():
    metrics = quiet_metrics()
    del metrics["tables"]["events.abandoned_brands"]
    assert fired(metrics, rec.abandoned_brands) is None


# Conversion against the previous period


def conversion_metrics(current: float | None, previous: float | None) -> dict[str, Any]:
    metrics = quiet_metrics()
    metrics["kpis"]["events.overall_conversion_rate"] = current
    metrics["kpis"]["previous"]["events.overall_conversion_rate"] = previous
    return metrics


def test_conversion_fell_sentence():
    metrics = conversion_metrics(0.036, 0.045)
    metrics["kpis"]["events.cart_to_purchase_rate"] = 0.24
    assert fired(metrics, rec.conversion_change) == Recommendation(
        "events",
        "Find what cut view-to-purchase conversion and fix it first.",
        "View-to-purchase conversion went from 4.5% in 2026-09 to 3.6% in 2026-10 (-0.9 pp); "
        "view-to-cart from 14.0% to 15.0% (+1.0 pp) and cart-to-purchase from 30.0% to 24.0% "
        "(-6.0 pp). Check recent changes to product pages, prices, stock and checkout.",
        {
            "events.overall_conversion_rate": 0.036,
            "previous.events.overall_conversion_rate": 0.045,
            "events.view_to_cart_rate": 0.15,
            "previous.events.view_to_cart_rate": 0.14,
            "events.cart_to_purchase_rate": 0.24,
            "previous.events.cart_to_purchase_rate": 0.30,
        },
        rec.PRIORITY_CONVERSION_FELL,
        kpi="events.overall_conversion_rate",
        pull="up",
        compares=True,
    )


def test_conversion_rose_without_step_rates():
    metrics = conversion_metrics(0.05, 0.04)
    del metrics["kpis"]["previous"]["events.view_to_cart_rate"]
    metrics["kpis"]["events.cart_to_purchase_rate"] = None
    result = fired(metrics, rec.conversion_change)
    assert result.headline == "Keep the changes that lifted view-to-purchase conversion."
    assert result.priority == rec.PRIORITY_CONVERSION_ROSE
    assert result.detail == (
        "View-to-purchase conversion went from 4.0% in 2026-09 to 5.0% in 2026-10 (+1.0 pp). "
        "Note what changed on product pages, prices and checkout so it is kept."
    )


@pytest.mark.parametrize(
    ("current", "previous", "fires"),
    [
        (0.044, 0.04, True),  # +10% and +0.4 pp
        (0.0439, 0.04, False),  # under a tenth
        (0.0165, 0.015, False),  # +10% but only +0.15 pp
        (0.003, 0.002, False),  # +50% but only +0.1 pp
        (0.1, 0.0, False),  # from nothing: no relative change
        (None, 0.04, False),
        (0.04, None, False),
    ],
)
def test_conversion_change_thresholds(current, previous, fires):
    result = fired(conversion_metrics(current, previous), rec.conversion_change)
    assert (result is not None) is fires


# Robustness


@pytest.mark.parametrize(
    "metrics",
    [
        {},
        {"kpis": None, "tables": None},
        {"kpis": {"previous": None}, "tables": {"events.funnel": "oops"}},
        {"tables": {"events.funnel": [None, 3, {"stage": "cart", "drop_off": "high"}]}},
    ],
)
def test_malformed_metrics_never_raise(metrics):
    for rule in RULES:
        rule(metrics, "USD")
    assert recommend(metrics, "USD")[0].headline.startswith("Check the event data feed")


def test_recommendations_come_in_priority_order():
    metrics = brand_metrics()
    metrics["kpis"]["events.overall_conversion_rate"] = 0.03
    metrics["tables"]["events.zero_purchase_products"] = [{"product_id": 1, "views": 900}]
    priorities = [r.priority for r in recommend(metrics, "USD")]
    assert priorities == sorted(priorities)
    assert len(priorities) == 4
