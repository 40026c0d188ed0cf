"""How the cart section reads METRICS.md §3 and §8, in plain English (Assumptions appendix)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.render.formatters import fmt_number, fmt_rule_value
from reportgen.sections.carts.kpis import segment_columns
from reportgen.sections.carts.rules import ORDER_LINKS


def cart_readings(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the fixed readings behind the cart figures."""
    rules = metrics.get("rules") or {}
    days = fmt_number(rules.get("reengagement_days", 7))
    return [
        {
            "name": "Status normalisation",
            "meaning": (
                "Statuses are compared after trimming spaces and lower-casing; a missing "
                "status counts as other."
            ),
        },
        {
            "name": "Duplicate carts",
            "meaning": (
                "A cart_id that appears more than once counts once, with its most advanced "
                "status: converted, then abandoned, then open, then other. Ties go to the "
                "earliest created_at, then the smallest customer_id. Data quality counts the "
                "duplicates; carts with no cart_id are left out."
            ),
        },
        {
            "name": "Cart lines and value",
            "meaning": (
                "Lines are first merged per cart and product, then lines with a missing or "
                "non-positive quantity, or a missing or negative unit price, are dropped "
                "(a price of 0 is valid). A cart's value is the sum of quantity times unit "
                "price over its lines, 0 when it has none."
            ),
        },
        {
            "name": "Unknown segment",
            "meaning": (
                "A cart with no customer, a customer missing from the customer table, or an "
                "empty value for the segment column is in segment 'Unknown'. Segment values "
                "are case-sensitive."
            ),
        },
        {
            "name": "Re-engagement",
            "meaning": (
                "An abandoner is a customer with an abandoned cart in the period. They are "
                "re-engaged when any order of theirs (whatever its status) comes after one "
                f"of those carts and at most {days} days later. When either date has no time "
                "of day, the comparison is by calendar day. Orders after the period end "
                "count: the window can cross it. Carts without a customer are never "
                "abandoners."
            ),
        },
        {
            "name": "Immature carts",
            "meaning": (
                f"An abandoned cart created less than {days} days before the newest order in "
                "the data has not had its full window yet; such carts are counted and the "
                "re-engagement rate may still rise."
            ),
        },
        {
            "name": "Automatic order link",
            "meaning": (
                f"With order_link auto: {ORDER_LINKS['auto'][0].lower()}{ORDER_LINKS['auto'][1:]}"
                " Orders of any date count."
            ),
        },
        {
            "name": "Time to order",
            "meaning": (
                "Time from a converted cart's creation to its linked order, in real elapsed "
                "days, or whole days when either date has no time of day. Converted carts "
                "whose cart_id orders all precede them are left out of the statistics."
            ),
        },
        {
            "name": "Percentiles",
            "meaning": (
                "Median and 90th percentile interpolate linearly between the ordered values "
                "(percentile_cont); with no values they are n/a."
            ),
        },
    ]


def segment_rule(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the appendix row of the top-level ``segments`` setting, if any column is set."""
    columns = segment_columns(metrics)
    if not columns:
        return []
    return [
        {
            "key": "segments",
            "name": "Segments",
            "value": fmt_rule_value(columns),
            "meaning": (
                "Customer attributes the cart segment tables split by; a missing value is "
                "'Unknown'."
            ),
        }
    ]
