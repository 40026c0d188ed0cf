"""Tests for the cart recommendations: hand-built metrics, hand-worked sentences."""

from __future__ import annotations

from typing import Any

import pytest

from reportgen.plugin import Recommendation
from reportgen.sections.carts import recommend as rec
from reportgen.sections.carts.recommend import RULES, recommend


def quiet_metrics() -> dict[str, Any]:
    """Return a busy period on which no rule fires: every number sits under its threshold."""
    return {
        "period": {"kind": "month", "label": "2026-10"},
        "previous_period": {"kind": "month", "label": "2026-09"},
        "rules": {"reengagement_days": 7, "top_n": 10},
        "kpis": {
            "carts.carts_total": 1000,
            "carts.carts_converted": 400,
            "carts.carts_abandoned": 600,
            "carts.abandonment_rate": 0.60,
            "carts.abandoned_cart_value": 20000.0,
            "carts.abandoners": 500,
            "carts.reengaged": 100,
            "carts.reengagement_rate": 0.20,
            "carts.reengagement_immature_carts": 0,
            "carts.median_time_to_order_days": 0.5,
            "carts.p90_time_to_order_days": 2.0,
            "carts.converted_unlinked": 0,
            "previous": {
                "carts.carts_total": 900,
                "carts.abandonment_rate": 0.60,
                "carts.reengagement_rate": 0.20,
            },
        },
        "tables": {
            "carts.segment.signup_channel": [
                {"segment": "Email", "carts_total": 600, "abandonment_rate": 0.62},
                {"segment": "Paid Social", "carts_total": 400, "abandonment_rate": 0.57},
            ],
            "carts.segment.loyalty_tier": [
                {"segment": "Gold", "carts_total": 1000, "abandonment_rate": 0.60},
            ],
            "carts.top_abandoned_skus": [
                {
                    "product_id": "P-17",
                    "name": "Blue Kettle",
                    "category": "Kitchen",
                    "carts": 45,
                    "units": 50,
                    "abandoned_value": 800.0,
                    "share": 0.04,
                },
            ],
            "carts.top_abandoned_categories": [
                {"category": "Kitchen", "carts": 90, "abandoned_value": 3000.0, "share": 0.15},
            ],
            "carts.savable_customers": [],
        },
    }


def fired(metrics: dict[str, Any], rule) -> Recommendation | None:
    """Return what one rule says, checking its section."""
    result = rule(metrics, "USD")
    if result is not None:
        assert result.section == "carts"
    return result


def test_quiet_period_gives_no_recommendations():
    assert recommend(quiet_metrics(), "USD") == []


def test_rules_are_registered_functions():
    assert len(RULES) >= 6
    assert len(set(RULES)) == len(RULES)
    assert all(callable(rule) for rule in RULES)


# Worst segment


def segment_metrics(rate: float, carts: int = 1234, total: int = 10000) -> dict[str, Any]:
    metrics = quiet_metrics()
    metrics["kpis"]["carts.carts_total"] = total
    metrics["kpis"]["carts.abandonment_rate"] = 0.64
    metrics["tables"]["carts.segment.signup_channel"] = [
        {"segment": "Email", "carts_total": total - carts, "abandonment_rate": 0.62},
        {
            "segment": "Paid Social",
            "carts_total": carts,
            "abandonment_rate": rate,
            "abandoned_value": 1234.5,
        },
    ]
    return metrics


def campaign_metrics(rate: float, carts: int = 1234, total: int = 10000) -> dict[str, Any]:
    """Segments as in ``segment_metrics``, and one savable customer for the campaign."""
    metrics = segment_metrics(rate, carts, total)
    metrics["tables"]["carts.savable_customers"] = [{"customer_id": "C-1", "abandoned_value": 50}]
    return metrics


def test_one_recovery_campaign_names_its_targets_and_expected_value():
    """Issue 10: the worst segment, the savable customers and the leading category were
    three overlapping "aim recovery at X" recommendations; now one campaign names them."""
    metrics = campaign_metrics(0.782)
    metrics["tables"]["carts.top_abandoned_categories"][0]["share"] = 0.30
    result = fired(metrics, rec.recovery_campaign)
    assert result.headline == "Run one cart-recovery campaign for the 1 savable customer."
    assert result.detail == (
        "1 customer abandoned a cart and did not order within 7 days, leaving $50.00 in "
        "their carts. Lead with these: Paid Social customers (signup channel) abandon 78.2% "
        "of their carts against 64.0% overall (1,234 carts); Kitchen carries the most "
        "abandoned value of any category ($3,000.00, 30.0%). Start with customer C-1 ($50.00)."
    )
    assert (result.kpi, result.pull, result.compares) == ("carts.reengagement_rate", "up", False)
    assert result.expected_value == pytest.approx(50 * 0.20)  # left, times the re-engagement rate
    assert result.expected_value_basis == (
        "what they left, times this period's 20.0% re-engagement rate"
    )
    assert result.evidence["carts.segment.signup_channel[1].segment"] == "Paid Social"
    assert result.priority == rec.PRIORITY_SAVABLE_CUSTOMERS


def _targets(metrics: dict[str, Any]) -> str:
    return fired(metrics, rec.recovery_campaign).detail


def test_the_segment_target_needs_five_points_above_overall():
    assert "Paid Social customers" in _targets(campaign_metrics(0.69))  # 0.69 - 0.64 = 5.0 pp
    assert "Paid Social" not in _targets(campaign_metrics(0.689))  # 4.9 pp


@pytest.mark.parametrize(
    ("carts", "total", "named"),
    [
        (30, 600, True),  # 30 carts, exactly 5% of carts
        (29, 580, False),  # 5% of carts but under 30 carts
        (49, 1000, False),  # 30 carts or more but 4.9% of carts
        (50, 1000, True),  # exactly 5%
    ],
)
def test_the_segment_target_needs_enough_carts(carts, total, named):
    detail = _targets(campaign_metrics(0.90, carts=carts, total=total))
    assert ("Paid Social customers" in detail) is named


def test_the_segment_target_is_the_single_worst_across_dimensions():
    metrics = campaign_metrics(0.70)
    metrics["tables"]["carts.segment.loyalty_tier"] = [
        {"segment": "Bronze", "carts_total": 2000, "abandonment_rate": 0.75},
        {"segment": "Gold", "carts_total": 8000, "abandonment_rate": 0.62},
    ]
    assert "Bronze customers (loyalty tier) abandon 75.0% of their carts" in _targets(metrics)


def test_the_segment_target_skips_unknown_and_incomplete_rows():
    metrics = campaign_metrics(0.60)
    metrics["tables"]["carts.segment.clv_bucket"] = [
        {"segment": "Unknown", "carts_total": 3000, "abandonment_rate": 0.95},
        {"segment": "High", "carts_total": None, "abandonment_rate": 0.95},
        {"segment": "Mid", "carts_total": 3000, "abandonment_rate": None},
        None,
        "not a row",
    ]
    assert "Lead with" not in _targets(metrics)


# Top SKU and category


def sku_metrics(share: float | None, **row: Any) -> dict[str, Any]:
    metrics = quiet_metrics()
    sku = {
        "product_id": "P-17",
        "name": "Blue Kettle",
        "category": "Kitchen",
        "carts": 45,
        "units": 50,
        "abandoned_value": 1234.5,
        "share": share,
    }
    metrics["tables"]["carts.top_abandoned_skus"] = [sku | row]
    metrics["kpis"]["carts.abandoned_cart_value"] = 10000.0
    return metrics


def test_top_sku_sentence():
    result = fired(sku_metrics(0.12345), rec.top_abandoned_sku)
    assert result.headline == "Review the price, stock and delivery cost of Blue Kettle (SKU P-17)."
    assert result.detail == (
        "It carries the most abandoned value of any product: $1,234.50 in 45 carts, "
        "12.3% of the $10,000.00 abandoned (category Kitchen)."
    )
    assert result.priority == rec.PRIORITY_TOP_SKU
    assert result.evidence["carts.top_abandoned_skus[0].share"] == 0.12345
    assert result.evidence["carts.abandoned_cart_value"] == 10000.0


def test_top_sku_threshold():
    assert fired(sku_metrics(0.05), rec.top_abandoned_sku) is not None
    assert fired(sku_metrics(0.0499), rec.top_abandoned_sku) is None


def test_top_sku_without_name_or_category():
    metrics = sku_metrics(0.12345, name=None, category=None, carts=1)
    result = fired(metrics, rec.top_abandoned_sku)
    assert result.headline == "Review the price, stock and delivery cost of SKU P-17."
    assert result.detail == (
        "It carries the most abandoned value of any product: $1,234.50 in 1 cart, "
        "12.3% of the $10,000.00 abandoned (category Unknown)."
    )


def test_top_sku_with_a_null_share_does_not_fire():
    # Every number cited comes from metrics.json: a missing share is not recomputed.
    assert rec.top_abandoned_sku(sku_metrics(None), "USD") is None


def test_top_sku_in_another_currency():
    assert "€1,234.50" in rec.top_abandoned_sku(sku_metrics(0.2), "EUR").detail
    assert "CHF 1,234.50" in rec.top_abandoned_sku(sku_metrics(0.2), "chf").detail


def category_metrics(share: float, category: str | None = "Kitchen") -> dict[str, Any]:
    metrics = quiet_metrics()
    metrics["kpis"]["carts.abandoned_cart_value"] = 10000.0
    metrics["tables"]["carts.top_abandoned_categories"] = [
        {"category": category, "carts": 120, "abandoned_value": 3456.78, "share": share},
        {"category": "Garden", "carts": 10, "abandoned_value": 100.0, "share": 0.01},
    ]
    return metrics


def test_the_category_target_needs_a_fifth_of_the_abandoned_value():
    metrics = category_metrics(0.20)
    metrics["tables"]["carts.savable_customers"] = [{"customer_id": "C-1", "abandoned_value": 50}]
    assert "Kitchen carries the most abandoned value of any category ($3,456.78, 20.0%)" in (
        _targets(metrics)
    )
    metrics["tables"]["carts.top_abandoned_categories"][0]["share"] = 0.199
    assert "Kitchen" not in _targets(metrics)
    assert fired(category_metrics(0.5), rec.missing_categories) is None


def test_top_category_unknown_asks_for_catalog_fix():
    result = fired(category_metrics(0.5, category="Unknown"), rec.missing_categories)
    assert result.headline == "Fill in the missing product categories in the catalog."
    assert "$3,456.78, 50.0% of the $10,000.00 abandoned" in result.detail
    assert result.priority == rec.PRIORITY_TOP_CATEGORY


# Re-engagement and savable customers


def reengagement_metrics(current: float | None, previous: float | None) -> dict[str, Any]:
    metrics = quiet_metrics()
    metrics["kpis"]["carts.reengagement_rate"] = current
    metrics["kpis"]["carts.reengaged"] = 91
    metrics["kpis"]["carts.abandoners"] = 500
    metrics["kpis"]["previous"]["carts.reengagement_rate"] = previous
    return metrics


def test_reengagement_fell_sentence():
    result = fired(reengagement_metrics(0.182, 0.24), rec.reengagement_change)
    assert result.headline == "Check that the cart reminder emails still go out."
    assert result.detail == (
        "7-day re-engagement fell from 24.0% in 2026-09 to 18.2% (-5.8 pp); "
        "91 of 500 abandoners ordered again. Review the reminders' timing and offer."
    )
    assert (result.kpi, result.pull, result.compares) == ("carts.reengagement_rate", "up", True)
    assert result.priority == rec.PRIORITY_REENGAGEMENT_FELL
    assert result.evidence["previous.carts.reengagement_rate"] == 0.24


def test_reengagement_thresholds_and_direction():
    assert fired(reengagement_metrics(0.18, 0.20), rec.reengagement_change) is not None
    assert fired(reengagement_metrics(0.181, 0.20), rec.reengagement_change) is None
    rose = fired(reengagement_metrics(0.22, 0.20), rec.reengagement_change)
    assert rose.headline == "Keep the cart reminders as they are now."
    assert "rose from 20.0% in 2026-09 to 22.0% (+2.0 pp)" in rose.detail
    assert rose.priority == rec.PRIORITY_REENGAGEMENT_ROSE
    assert fired(reengagement_metrics(0.219, 0.20), rec.reengagement_change) is None


def test_reengagement_uses_configured_window_and_no_previous_label():
    metrics = reengagement_metrics(0.10, 0.20)
    metrics["rules"]["reengagement_days"] = 14
    del metrics["previous_period"]
    result = fired(metrics, rec.reengagement_change)
    assert result.detail.startswith(
        "14-day re-engagement fell from 20.0% in the previous period to 10.0% (-10.0 pp)"
    )


def test_savable_customers_sentence():
    metrics = quiet_metrics()
    metrics["tables"]["carts.savable_customers"] = [
        {"customer_id": "C-102", "signup_channel": "Email", "abandoned_value": 1234.5},
        {"customer_id": 77, "signup_channel": None, "abandoned_value": 987.0},
        {"customer_id": "C-5", "abandoned_value": 456.1},
        {"customer_id": "C-9", "abandoned_value": 0.005},
        {"customer_id": "C-11", "abandoned_value": None},
    ]
    result = fired(metrics, rec.recovery_campaign)
    # 1234.5 + 987 + 456.1 + 0.005 = 2677.605 → $2,677.61 (half-up)
    assert result.headline == "Run one cart-recovery campaign for the 5 savable customers."
    assert result.detail == (
        "5 customers abandoned a cart and did not order within 7 days, leaving $2,677.61 "
        "in their carts. Start with customers C-102 ($1,234.50), 77 ($987.00) and "
        "C-5 ($456.10)."
    )
    assert result.evidence["carts.savable_customers[1].customer_id"] == 77
    assert result.evidence["carts.savable_customers (rows)"] == 5


def test_savable_customers_one_and_none():
    metrics = quiet_metrics()
    assert fired(metrics, rec.recovery_campaign) is None
    metrics["tables"]["carts.savable_customers"] = [{"customer_id": "C-1", "abandoned_value": 50}]
    result = fired(metrics, rec.recovery_campaign)
    assert result.headline == "Run one cart-recovery campaign for the 1 savable customer."
    assert result.detail.endswith(
        "leaving $50.00 in their carts. Start with customer C-1 ($50.00)."
    )
    metrics["kpis"]["carts.reengagement_rate"] = None
    assert fired(metrics, rec.recovery_campaign).expected_value is None  # nothing to scale by


# Abandonment rate change


def abandonment_metrics(current: float, previous: float | None) -> dict[str, Any]:
    metrics = quiet_metrics()
    metrics["kpis"]["carts.abandonment_rate"] = current
    metrics["kpis"]["carts.carts_abandoned"] = 640
    metrics["kpis"]["carts.abandoned_cart_value"] = 12345.675
    metrics["kpis"]["previous"]["carts.abandonment_rate"] = previous
    metrics["tables"]["carts.segment.signup_channel"] = []
    return metrics


def test_abandonment_worsened_is_urgent():
    result = fired(abandonment_metrics(0.64, 0.60), rec.abandonment_change)
    assert result.headline == "Find what pushed cart abandonment up and fix it first."
    assert result.detail == (
        "The abandonment rate rose from 60.0% in 2026-09 to 64.0% (+4.0 pp); 640 of 1,000 "
        "carts were abandoned, worth $12,345.68. Check recent changes to checkout, prices, "
        "shipping costs and stock."
    )
    assert result.priority == rec.PRIORITY_ABANDONMENT_WORSE
    assert recommend(abandonment_metrics(0.64, 0.60), "USD")[0] == result


def test_abandonment_thresholds_and_improvement():
    assert fired(abandonment_metrics(0.62, 0.60), rec.abandonment_change) is not None
    assert fired(abandonment_metrics(0.619, 0.60), rec.abandonment_change) is None
    better = fired(abandonment_metrics(0.58, 0.60), rec.abandonment_change)
    assert better.headline == "Keep the changes that lowered cart abandonment."
    assert "fell from 60.0% in 2026-09 to 58.0% (-2.0 pp)" in better.detail
    assert better.priority == rec.PRIORITY_ABANDONMENT_BETTER
    assert fired(abandonment_metrics(0.581, 0.60), rec.abandonment_change) is None


def test_abandonment_change_needs_a_previous_rate():
    assert fired(abandonment_metrics(0.9, None), rec.abandonment_change) is None
    metrics = abandonment_metrics(0.9, 0.1)
    del metrics["kpis"]["previous"]
    assert fired(metrics, rec.abandonment_change) is None


# Time to order, tracking and the immature window


def test_slow_time_to_order():
    metrics = quiet_metrics()
    metrics["kpis"]["carts.p90_time_to_order_days"] = 3.0
    assert fired(metrics, rec.slow_time_to_order) is None
    metrics["kpis"]["carts.p90_time_to_order_days"] = 4.505
    result = fired(metrics, rec.slow_time_to_order)
    assert result.headline == "Extend the cart reminder sequence past the first days."
    assert result.detail == (
        "One converted cart in ten takes longer than 4.51 days to become an order "
        "(90th percentile, above the threshold of 3.00 days); the median is 12.0 h. "
        "Keep a reminder going until then."
    )
    assert result.evidence == {
        "carts.p90_time_to_order_days": 4.505,
        "carts.median_time_to_order_days": 0.5,
    }


def test_unlinked_orders():
    metrics = quiet_metrics()
    metrics["kpis"]["carts.converted_unlinked"] = 20  # 20 / 400 = 5.0%: not above
    assert fired(metrics, rec.unlinked_orders) is None
    metrics["kpis"]["carts.converted_unlinked"] = 21  # 5.25% → 5.3%
    result = fired(metrics, rec.unlinked_orders)
    assert result.headline == "Fix order tracking so converted carts link to their orders."
    assert result.detail == (
        "5.3% of converted carts (21 of 400) have no linked order, above the 5.0% "
        "threshold; time to order leaves them out."
    )
    metrics["kpis"]["carts.carts_converted"] = 0
    assert fired(metrics, rec.unlinked_orders) is None


# Empty period


def test_empty_period_gives_one_recommendation():
    metrics = quiet_metrics()
    metrics["kpis"]["carts.carts_total"] = 0
    metrics["kpis"]["carts.reengagement_immature_carts"] = 5
    result = recommend(metrics, "USD")
    assert result == [
        Recommendation(
            "carts",
            "Check the cart data feed before reading this section.",
            "No carts were created in 2026-10, so there is no cart activity to analyse. "
            "Confirm that the carts table is still being loaded.",
            {"carts.carts_total": 0},
            rec.PRIORITY_EMPTY_PERIOD,
        )
    ]


def test_missing_cart_count_is_an_empty_period():
    (result,) = recommend({"kpis": {}}, "USD")
    assert result.detail.startswith(
        "The cart section has no count of carts created in this period."
    )


# Ordering


def test_everything_fires_in_priority_order():
    metrics = segment_metrics(0.782)
    kpis = metrics["kpis"]
    kpis["previous"]["carts.abandonment_rate"] = 0.58
    kpis["previous"]["carts.reengagement_rate"] = 0.17
    kpis["carts.p90_time_to_order_days"] = 5.0
    kpis["carts.converted_unlinked"] = 40
    kpis["carts.reengagement_immature_carts"] = 3
    metrics["tables"]["carts.top_abandoned_skus"][0]["share"] = 0.3
    metrics["tables"]["carts.top_abandoned_categories"][0]["share"] = 0.4
    metrics["tables"]["carts.savable_customers"] = [{"customer_id": 1, "abandoned_value": 10.0}]
    result = recommend(metrics, "USD")
    # Abandonment worse 10, the campaign 20, re-engagement rose 65, top SKU 40, slow time
    # to order 50, unlinked orders 55; no caveat rule (provisional figures say so on their card).
    assert [r.priority for r in result] == [10, 20, 40, 50, 55, 65]
    assert [r.priority for r in result] == sorted(r.priority for r in result)


def test_equal_priorities_keep_rule_order(monkeypatch):
    def first(metrics, currency):
        return Recommendation("carts", "first", "", priority=5)

    def second(metrics, currency):
        return Recommendation("carts", "second", "", priority=5)

    def urgent(metrics, currency):
        return Recommendation("carts", "urgent", "", priority=1)

    monkeypatch.setattr(rec, "RULES", (first, second, urgent))
    assert [r.headline for r in recommend(quiet_metrics(), "USD")] == ["urgent", "first", "second"]


# Robustness: no rule raises on missing, empty or null data


def broken_metrics() -> list[dict[str, Any]]:
    nulls = quiet_metrics()
    for key in list(nulls["kpis"]):
        if key != "previous" and key != "carts.carts_total":
            nulls["kpis"][key] = None
    nulls["kpis"]["previous"] = {key: None for key in nulls["kpis"]["previous"]}
    null_rows = quiet_metrics()
    for rows in null_rows["tables"].values():
        for row in rows:
            for key in row:
                row[key] = None
    no_previous = quiet_metrics()
    no_previous["kpis"]["previous"] = None
    no_previous["previous_period"] = None
    odd = quiet_metrics()
    odd["kpis"]["carts.abandonment_rate"] = float("nan")
    odd["kpis"]["carts.p90_time_to_order_days"] = "5 days"
    odd["rules"] = None
    odd["tables"] = {
        "carts.segment.signup_channel": None,
        "carts.top_abandoned_skus": "oops",
        "carts.top_abandoned_categories": [None],
        "carts.savable_customers": [1, 2],
    }
    empty_tables = quiet_metrics()
    empty_tables["tables"] = {name: [] for name in empty_tables["tables"]}
    no_tables = quiet_metrics()
    del no_tables["tables"]
    return [{}, {"kpis": None, "tables": None}, nulls, null_rows, no_previous, odd,
            empty_tables, no_tables]  # fmt: skip


@pytest.mark.parametrize("metrics", broken_metrics())
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_rules_never_raise(rule, metrics):
    result = rule(metrics, "USD")
    assert result is None or isinstance(result, Recommendation)


@pytest.mark.parametrize("metrics", broken_metrics()[2:])
def test_broken_data_fires_nothing(metrics):
    assert recommend(metrics, "USD") == []
