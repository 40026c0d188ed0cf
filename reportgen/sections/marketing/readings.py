"""How the marketing section reads METRICS.md §6 and §8, in plain English (Assumptions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.render.formatters import fmt_number


def marketing_readings(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the fixed readings behind the marketing figures."""
    rules = metrics.get("rules") or {}
    clicks = fmt_number(rules.get("campaign_min_clicks", 100))
    return [
        {
            "name": "Orders and customers",
            "meaning": (
                "An order belongs to the period of its order_date, whatever its status; an "
                "order whose date cannot be read belongs to none. Ordering customers are the "
                "distinct customer ids among the period's orders."
            ),
        },
        {
            "name": "Repeat purchase and retention",
            "meaning": (
                "Repeat purchase rate: customers with two or more orders in the period over "
                "customers with at least one. Retention: customers who ordered in the "
                "previous period and again in this one, over those who ordered in the "
                "previous period; the previous period's retention compares it with the "
                "period before it."
            ),
        },
        {
            "name": "Order abandonment",
            "meaning": (
                "Orders whose status, trimmed and lower-cased, is an abandoned status, over "
                "the orders that have a status (not empty after trimming)."
            ),
        },
        {
            "name": "Discount revenue share",
            "meaning": (
                "Revenue of orders with a discount code (not empty after trimming) over the "
                "revenue of all orders; a missing order total counts as 0."
            ),
        },
        {
            "name": "Campaigns",
            "meaning": (
                "Every campaign with activity or attributed orders in the period. Clicks, "
                "cost and impressions are summed over its activity rows; orders and revenue "
                "over orders carrying its campaign_id. CTR = clicks / impressions, CPC = cost "
                "/ clicks, ROI = (revenue - cost) / cost, each n/a on a zero denominator. "
                f"Campaigns with fewer than {clicks} clicks are not ranked."
            ),
        },
        {
            "name": "Cohorts",
            "meaning": (
                "A customer's cohort is the local calendar month of their first order before "
                "the period end; a cell counts the cohort's customers ordering in the month "
                "0 to 6 months later, and is listed while that month starts before the "
                "period end."
            ),
        },
    ]
