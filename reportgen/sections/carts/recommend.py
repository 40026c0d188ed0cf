"""Turn the cart section's metrics into recommendations a director can act on.

Each rule is a small function ``(metrics, currency) -> Recommendation | None`` listed in
``RULES``; adding a rule is adding one function there. A rule reads only ``metrics.json``
(the section README), formats every number with ``reportgen.render.formatters`` so the text
says what the tables show, and simply does not fire when what it needs is missing, empty
or null. Thresholds and priorities are the constants below (lower priority comes first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reportgen.plugin import Recommendation
from reportgen.render.formatters import fmt_days, fmt_delta, fmt_money, fmt_number, fmt_percent
from reportgen.report import reading as read
from reportgen.sections.carts.kpis import window_open

SECTION = "carts"

# Thresholds. Rates and shares are fractions, as in metrics.json (0.05 = 5 pp or 5%).
SEGMENT_MIN_GAP = 0.05
"""A segment's abandonment rate must exceed the overall rate by at least this much."""
SEGMENT_MIN_SHARE = 0.05
"""A segment must hold at least this share of all carts ..."""
SEGMENT_MIN_CARTS = 30
"""... and at least this many carts."""
UNTARGETABLE_SEGMENTS = frozenset({"Unknown"})
SEGMENT_NAMES = {
    "signup_channel": "signup channel",
    "loyalty_tier": "loyalty tier",
    "clv_bucket": "CLV bucket",
    "age_band": "age band",
}
"""Segment values nobody can target (no customer row or no value)."""
TOP_SKU_MIN_SHARE = 0.05
"""The top SKU is named when it carries at least this share of abandoned value."""
TOP_CATEGORY_MIN_SHARE = 0.20
"""The top category is named when it carries at least this share of abandoned value."""
REENGAGEMENT_CHANGE = 0.02
"""A change in re-engagement rate vs the previous period worth reporting (2 pp)."""
ABANDONMENT_CHANGE = 0.02
"""A change in abandonment rate vs the previous period worth reporting (2 pp)."""
SAVABLE_MIN_CUSTOMERS = 1
"""The win-back list is recommended from this many savable customers."""
SAVABLE_NAMED = 3
"""How many savable customers are named, largest abandoned value first."""
SLOW_P90_DAYS = 3.0
"""A 90th percentile time to order above this many days calls for later reminders."""
UNLINKED_MAX_SHARE = 0.05
"""Converted carts with no linked order above this share call for a tracking fix."""
DEFAULT_REENGAGEMENT_DAYS = 7
"""METRICS.md §3 default, used when metrics.json carries no ``rules.reengagement_days``."""
EPSILON = 1e-9
"""Slack for "at least" comparisons, so 0.69 - 0.64 counts as 5 pp."""

# Priorities: lower comes first in the report.
PRIORITY_EMPTY_PERIOD = 0
PRIORITY_ABANDONMENT_WORSE = 10
PRIORITY_REENGAGEMENT_FELL = 25
PRIORITY_SAVABLE_CUSTOMERS = 20
PRIORITY_TOP_SKU = 40
PRIORITY_TOP_CATEGORY = 45
PRIORITY_SLOW_TIME_TO_ORDER = 50
PRIORITY_UNLINKED_ORDERS = 55
PRIORITY_REENGAGEMENT_ROSE = 65
PRIORITY_ABANDONMENT_BETTER = 70

Metrics = dict[str, Any]
Rule = Callable[[Metrics, str], Recommendation | None]


def _reengagement_days(metrics: Metrics) -> int:
    """Return the re-engagement window in days from the rules in force."""
    days = read.number(read.mapping(read.mapping(metrics).get("rules")).get("reengagement_days"))
    return int(days) if days is not None else DEFAULT_REENGAGEMENT_DAYS


def _at_least(value: float, threshold: float) -> bool:
    """Return whether ``value >= threshold``, tolerating float noise."""
    return value >= threshold - EPSILON


def _rate_comparison(metrics: Metrics, current: float, previous: float) -> str:
    """Return ``from 60.0% in 2026-09 to 64.0% (+4.0 pp)``."""
    before = read.period(metrics, "previous_period", "in the previous period")
    change = fmt_delta(current, previous, "rate")
    return f"from {fmt_percent(previous)} {before} to {fmt_percent(current)} ({change})"


def _recommendation(
    headline: str,
    detail: str,
    evidence: dict[str, Any],
    priority: int,
    *,
    kpi: str | None = None,
    pull: str | None = None,
    compares: bool = False,
    expected_value: float | None = None,
    basis: str | None = None,
) -> Recommendation:
    """Return a cart-section recommendation: the KPI it acts on and which way (``pull``),
    whether it rests on the change against the previous period (``compares``), and the
    money it may bring (``expected_value``, estimated as ``basis`` says)."""
    return Recommendation(
        SECTION,
        headline,
        detail,
        evidence,
        priority,
        kpi=kpi,
        pull=pull,  # type: ignore[arg-type]
        expected_value=expected_value,
        expected_value_basis=basis,
        compares=compares,
    )


# The rules, in the order they break priority ties.


def empty_period(metrics: Metrics, currency: str) -> Recommendation | None:
    """Say there is nothing to analyse when the period has no carts."""
    total = read.kpi(metrics, "carts.carts_total")
    if total is not None and total > 0:
        return None
    period = read.period(metrics, "period", "in this period")
    if total is None:
        detail = f"The cart section has no count of carts created {period}."
    else:
        detail = f"No carts were created {period}, so there is no cart activity to analyse."
    return _recommendation(
        "Check the cart data feed before reading this section.",
        f"{detail} Confirm that the carts table is still being loaded.",
        {"carts.carts_total": total},
        PRIORITY_EMPTY_PERIOD,
    )


def _rate_move(metrics: Metrics, key: str, threshold: float) -> tuple[float, float] | None:
    """Return (current, previous) of a rate KPI that moved by ``threshold`` or more."""
    current, previous = read.kpi(metrics, key), read.previous_kpi(metrics, key)
    if current is None or previous is None or not _at_least(abs(current - previous), threshold):
        return None
    return current, previous


def abandonment_change(metrics: Metrics, currency: str) -> Recommendation | None:
    """Flag an abandonment rate that moved by 2 pp or more since the previous period."""
    moved = _rate_move(metrics, "carts.abandonment_rate", ABANDONMENT_CHANGE)
    if moved is None:
        return None
    current, previous = moved
    comparison = _rate_comparison(metrics, current, previous)
    evidence = {
        "carts.abandonment_rate": current,
        "previous.carts.abandonment_rate": previous,
    }
    abandoned = read.kpi(metrics, "carts.carts_abandoned")
    total = read.kpi(metrics, "carts.carts_total")
    value = read.kpi(metrics, "carts.abandoned_cart_value")
    volume = ""
    if abandoned is not None and total is not None:
        volume = f"; {fmt_number(abandoned)} of {fmt_number(total)} carts were abandoned"
        evidence |= {"carts.carts_abandoned": abandoned, "carts.carts_total": total}
        if value is not None:
            volume += f", worth {fmt_money(value, currency)}"
            evidence["carts.abandoned_cart_value"] = value
    moves = {"kpi": "carts.abandonment_rate", "pull": "down", "compares": True}
    if current > previous:
        return _recommendation(
            "Find what pushed cart abandonment up and fix it first.",
            f"The abandonment rate rose {comparison}{volume}. Check recent changes to "
            "checkout, prices, shipping costs and stock.",
            evidence,
            PRIORITY_ABANDONMENT_WORSE,
            **moves,
        )
    return _recommendation(
        "Keep the changes that lowered cart abandonment.",
        f"The abandonment rate fell {comparison}{volume}. Note what changed in checkout, "
        "offers and reminders so it is not undone.",
        evidence,
        PRIORITY_ABANDONMENT_BETTER,
        **moves,
    )


def _worst_segment(metrics: Metrics) -> tuple[str, str, float, float, dict[str, Any]] | None:
    """Return the segment (across all segment tables) that abandons most above the overall
    rate: (segment, dimension, rate, carts, evidence), or None."""
    overall = read.kpi(metrics, "carts.abandonment_rate")
    total = read.kpi(metrics, "carts.carts_total")
    if overall is None or not total:
        return None
    worst: tuple[float, float, str, int, dict[str, Any]] | None = None
    tables = read.mapping(read.mapping(metrics).get("tables"))
    for table in tables:
        if not isinstance(table, str) or not table.startswith("carts.segment."):
            continue
        for index, row in enumerate(read.rows(metrics, table)):
            rate = read.number(row.get("abandonment_rate"))
            carts = read.number(row.get("carts_total"))
            if rate is None or carts is None or carts < SEGMENT_MIN_CARTS:
                continue
            if not _at_least(carts / total, SEGMENT_MIN_SHARE):
                continue
            if read.label(row.get("segment")) in UNTARGETABLE_SEGMENTS:
                continue
            if not _at_least(rate - overall, SEGMENT_MIN_GAP):
                continue
            # Highest rate wins; on a tie the larger segment, then the first listed.
            if worst is None or (rate, carts) > (worst[0], worst[1]):
                worst = (rate, carts, table, index, row)
    if worst is None:
        return None
    rate, carts, table, index, row = worst
    cell = f"{table}[{index}]"
    evidence: dict[str, Any] = {
        f"{cell}.segment": row.get("segment"),
        f"{cell}.abandonment_rate": rate,
        f"{cell}.carts_total": carts,
        "carts.abandonment_rate": overall,
    }
    dimension = SEGMENT_NAMES.get(
        table.removeprefix("carts.segment."),
        table.removeprefix("carts.segment.").replace("_", " "),
    )
    return read.label(row.get("segment")), dimension, rate, carts, evidence


def reengagement_change(metrics: Metrics, currency: str) -> Recommendation | None:
    """Flag a re-engagement rate that moved by 2 pp or more since the previous period."""
    moved = _rate_move(metrics, "carts.reengagement_rate", REENGAGEMENT_CHANGE)
    if moved is None:
        return None
    current, previous = moved
    days = _reengagement_days(metrics)
    comparison = _rate_comparison(metrics, current, previous)
    evidence: dict[str, Any] = {
        "carts.reengagement_rate": current,
        "previous.carts.reengagement_rate": previous,
        "rules.reengagement_days": days,
    }
    reengaged = read.kpi(metrics, "carts.reengaged")
    abandoners = read.kpi(metrics, "carts.abandoners")
    volume = ""
    if reengaged is not None and abandoners is not None:
        volume = f"; {fmt_number(reengaged)} of {fmt_number(abandoners)} abandoners ordered again"
        evidence |= {"carts.reengaged": reengaged, "carts.abandoners": abandoners}
    moves = {"kpi": "carts.reengagement_rate", "pull": "up", "compares": True}
    if current < previous:
        return _recommendation(
            "Check that the cart reminder emails still go out.",
            f"{days}-day re-engagement fell {comparison}{volume}. Review the reminders' "
            "timing and offer.",
            evidence,
            PRIORITY_REENGAGEMENT_FELL,
            **moves,
        )
    return _recommendation(
        "Keep the cart reminders as they are now.",
        f"{days}-day re-engagement rose {comparison}{volume}. Note what changed in the "
        "reminders so it is kept.",
        evidence,
        PRIORITY_REENGAGEMENT_ROSE,
        **moves,
    )


def recovery_campaign(metrics: Metrics, currency: str) -> Recommendation | None:
    """One cart-recovery campaign: the savable customers, with the segment and category to
    lead with, and what it may bring back.

    The savable customers (abandoners who did not order within the window) are who a
    campaign can reach; the segment that abandons most above the overall rate and the
    category with the most abandoned value are its targets. Expected value: what the
    savable customers left in their carts times this period's re-engagement rate (as many
    won back as the reminders win back now).
    """
    # A cart with no customer is never savable (METRICS.md §8): such a row is not counted.
    rows = [
        (index, row, read.number(row.get("abandoned_value")))
        for index, row in enumerate(read.rows(metrics, "carts.savable_customers"))
        if row.get("customer_id") is not None
    ]
    if len(rows) < SAVABLE_MIN_CUSTOMERS:
        return None
    total = math.fsum(value for _, _, value in rows if value is not None)
    # The table is ordered by value already; a stable sort keeps its tie order.
    valued = [item for item in rows if item[2] is not None]
    top = sorted(valued, key=lambda item: -item[2])[:SAVABLE_NAMED]
    count = len(rows)
    customers = "customer" if count == 1 else "customers"
    days = _reengagement_days(metrics)
    evidence: dict[str, Any] = {
        "carts.savable_customers (rows)": count,
        "carts.savable_customers (sum of abandoned_value)": total,
    }
    detail = (
        f"{fmt_number(count)} {customers} abandoned a cart and did not order within "
        f"{days} days, leaving {fmt_money(total, currency)} in their carts."
    )
    targets = []
    worst = _worst_segment(metrics)
    if worst is not None:
        segment, dimension, rate, carts, cells = worst
        overall = read.kpi(metrics, "carts.abandonment_rate")
        targets.append(
            f"{segment} customers ({dimension}) abandon {fmt_percent(rate)} of their carts against "
            f"{fmt_percent(overall)} overall ({fmt_number(carts)} carts)"
        )
        evidence |= cells
    category = _leading_row(metrics, "carts.top_abandoned_categories", TOP_CATEGORY_MIN_SHARE)
    if category is not None and read.label(category[0].get("category")) not in (
        UNTARGETABLE_SEGMENTS
    ):
        row, value, share, _ = category
        targets.append(
            f"{read.label(row.get('category'))} carries the most abandoned value of any "
            f"category ({fmt_money(value, currency)}, {fmt_percent(share)})"
        )
        evidence |= {
            "carts.top_abandoned_categories[0].category": row.get("category"),
            "carts.top_abandoned_categories[0].abandoned_value": value,
        }
    if targets:
        detail += f" Lead with these: {'; '.join(targets)}."
    named = []
    for index, row, value in top:
        named.append(f"{read.label(row.get('customer_id'))} ({fmt_money(value, currency)})")
        evidence[f"carts.savable_customers[{index}].customer_id"] = row.get("customer_id")
        evidence[f"carts.savable_customers[{index}].abandoned_value"] = value
    if len(named) == 1:
        detail += f" Start with customer {named[0]}."
    elif named:
        detail += f" Start with customers {', '.join(named[:-1])} and {named[-1]}."
    rate, whose = read.kpi(metrics, "carts.reengagement_rate"), "this period's"
    if window_open(metrics) is not None:  # not final yet: the previous period's final rate
        rate = read.previous_kpi(metrics, "carts.reengagement_rate")
        whose = "the previous period's"
        key = "previous.carts.reengagement_rate"
    else:
        key = "carts.reengagement_rate"
    expected = total * rate if rate is not None and total > 0 else None
    if expected is not None:
        evidence[key] = rate
    return _recommendation(
        f"Run one cart-recovery campaign for the {fmt_number(count)} savable {customers}.",
        detail,
        evidence,
        PRIORITY_SAVABLE_CUSTOMERS,
        kpi="carts.reengagement_rate",
        pull="up",
        expected_value=expected,
        basis=(
            f"what they left, times {whose} {fmt_percent(rate)} re-engagement rate"
            if expected is not None
            else None
        ),
    )


def _leading_row(
    metrics: Metrics, table: str, min_share: float
) -> tuple[dict[str, Any], float, float, int | float | None] | None:
    """Return the first row of a top-abandoned table (row, value, share, total abandoned
    value) when it carries at least ``min_share`` of the abandoned value."""
    rows = read.rows(metrics, table)
    if not rows:
        return None
    row = rows[0]
    value, share = read.number(row.get("abandoned_value")), read.number(row.get("share"))
    if value is None or value <= 0 or share is None or not _at_least(share, min_share):
        return None
    return row, value, share, read.kpi(metrics, "carts.abandoned_cart_value")


def top_abandoned_sku(metrics: Metrics, currency: str) -> Recommendation | None:
    """Name the SKU carrying the most abandoned value when its share is material."""
    leading = _leading_row(metrics, "carts.top_abandoned_skus", TOP_SKU_MIN_SHARE)
    if leading is None:
        return None
    row, value, share, total = leading
    product_id = read.label(row.get("product_id"))
    name = row.get("name")
    product = f"{read.label(name)} (SKU {product_id})" if name else f"SKU {product_id}"
    category = read.label(row.get("category"))
    evidence: dict[str, Any] = {
        "carts.top_abandoned_skus[0].product_id": row.get("product_id"),
        "carts.top_abandoned_skus[0].name": name,
        "carts.top_abandoned_skus[0].category": row.get("category"),
        "carts.top_abandoned_skus[0].abandoned_value": value,
        "carts.top_abandoned_skus[0].share": share,
        "carts.abandoned_cart_value": total,
    }
    carts = read.number(row.get("carts"))
    left_in = ""
    if carts is not None:
        left_in = f" in {fmt_number(carts)} {'cart' if carts == 1 else 'carts'}"
        evidence["carts.top_abandoned_skus[0].carts"] = carts
    of_total = f" of the {fmt_money(total, currency)} abandoned" if total is not None else ""
    return _recommendation(
        f"Review the price, stock and delivery cost of {product}.",
        f"It carries the most abandoned value of any product: {fmt_money(value, currency)}"
        f"{left_in}, {fmt_percent(share)}{of_total} (category {category}).",
        evidence,
        PRIORITY_TOP_SKU,
        kpi="carts.abandoned_cart_value",
        pull="down",
    )


def missing_categories(metrics: Metrics, currency: str) -> Recommendation | None:
    """Ask for the missing product categories when products without one carry the most
    abandoned value (20% or more): until then that value cannot be targeted by category."""
    leading = _leading_row(metrics, "carts.top_abandoned_categories", TOP_CATEGORY_MIN_SHARE)
    if leading is None:
        return None
    row, value, share, total = leading
    if read.label(row.get("category")) not in UNTARGETABLE_SEGMENTS:
        return None
    evidence: dict[str, Any] = {
        "carts.top_abandoned_categories[0].category": row.get("category"),
        "carts.top_abandoned_categories[0].abandoned_value": value,
        "carts.top_abandoned_categories[0].share": share,
        "carts.abandoned_cart_value": total,
    }
    of_total = f" of the {fmt_money(total, currency)} abandoned" if total is not None else ""
    return _recommendation(
        "Fill in the missing product categories in the catalog.",
        f"Products with no category carry the most abandoned value: "
        f"{fmt_money(value, currency)}, {fmt_percent(share)}{of_total}; until they are "
        "categorised this value cannot be targeted by category.",
        evidence,
        PRIORITY_TOP_CATEGORY,
    )


def slow_time_to_order(metrics: Metrics, currency: str) -> Recommendation | None:
    """Suggest later reminders when one converted cart in ten takes over 3 days to order."""
    p90 = read.kpi(metrics, "carts.p90_time_to_order_days")
    if p90 is None or p90 <= SLOW_P90_DAYS:
        return None
    evidence: dict[str, Any] = {"carts.p90_time_to_order_days": p90}
    median = read.kpi(metrics, "carts.median_time_to_order_days")
    median_text = ""
    if median is not None:
        median_text = f"; the median is {fmt_days(median)}"
        evidence["carts.median_time_to_order_days"] = median
    return _recommendation(
        "Extend the cart reminder sequence past the first days.",
        f"One converted cart in ten takes longer than {fmt_days(p90)} to become an order "
        f"(90th percentile, above the threshold of {fmt_days(SLOW_P90_DAYS)}){median_text}. "
        "Keep a reminder going until then.",
        evidence,
        PRIORITY_SLOW_TIME_TO_ORDER,
        kpi="carts.reengagement_rate",
        pull="up",
    )


def unlinked_orders(metrics: Metrics, currency: str) -> Recommendation | None:
    """Ask for a tracking fix when over 5% of converted carts have no linked order."""
    unlinked = read.kpi(metrics, "carts.converted_unlinked")
    converted = read.kpi(metrics, "carts.carts_converted")
    if unlinked is None or converted is None or converted <= 0:
        return None
    share = unlinked / converted
    if share <= UNLINKED_MAX_SHARE:
        return None
    return _recommendation(
        "Fix order tracking so converted carts link to their orders.",
        f"{fmt_percent(share)} of converted carts ({fmt_number(unlinked)} of "
        f"{fmt_number(converted)}) have no linked order, above the "
        f"{fmt_percent(UNLINKED_MAX_SHARE)} threshold; time to order leaves them out.",
        {"carts.converted_unlinked": unlinked, "carts.carts_converted": converted},
        PRIORITY_UNLINKED_ORDERS,
        kpi="carts.converted_unlinked",
        pull="down",
    )


RULES: tuple[Rule, ...] = (
    empty_period,
    abandonment_change,
    reengagement_change,
    recovery_campaign,
    top_abandoned_sku,
    missing_categories,
    slow_time_to_order,
    unlinked_orders,
)
"""A provisional re-engagement rate is not a rule: its card says so (report.maturity)."""


def recommend(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Return the cart recommendations, by priority and then by rule order.

    An empty period gets only the note that there is nothing to analyse.
    """
    empty = empty_period(metrics, currency)
    if empty is not None:
        return [empty]
    fired = [rec for rule in RULES if (rec := rule(metrics, currency)) is not None]
    return sorted(fired, key=lambda rec: rec.priority)
