"""Turn the event section's metrics into recommendations a director can act on.

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
from reportgen.render.formatters import fmt_delta, fmt_money, fmt_number, fmt_percent
from reportgen.report import reading as read
from reportgen.sections.events.kpis import (
    STAGE_USERS,
    drop_sentence,
    is_empty_period,
    pipeline_rows,
)
from reportgen.sections.events.kpis import largest_drop as find_largest_drop

SECTION = "events"

# Thresholds. Rates and shares are fractions, as in metrics.json (0.05 = 5%).
CONVERSION_MIN_RELATIVE_CHANGE = 0.10
"""View-to-purchase conversion must move by a tenth of its previous value ..."""
CONVERSION_MIN_CHANGE = 0.002
"""... and by at least 0.2 pp: event conversion rates are a few percent, so the cart
section's 2 pp would almost never fire."""
ZERO_PURCHASE_NAMED = 3
"""How many never-bought products are named, most viewed first."""
CATALOG_GAP_MIN_SHARE = 0.05
"""A missing brand or category is worth fixing when it hides this share of revenue."""
ABANDONED_BRAND_MIN_SHARE = 0.10
"""The most abandoned brand is named when it holds this share of all abandoned value."""
ABANDONED_BRANDS_NAMED = 3
"""How many abandoned brands are named, largest value first."""
GAP_ATTRIBUTES = {"brand": ("brand", "brands"), "category_code": ("category", "categories")}
"""``events.catalog_gaps`` attributes as sentences name them (singular, plural)."""
UNTARGETABLE = frozenset({"Unknown"})
"""Brand values nobody can target (no brand in the data)."""
DEFAULT_ZERO_PURCHASE_MIN_VIEWS = 200
"""METRICS.md §4 default, used when metrics.json carries no rule."""
EPSILON = 1e-9
"""Slack for "at least" comparisons, so 0.15 - 0.10 counts as 5 pp."""

# Priorities: lower comes first in the report.
PRIORITY_EMPTY_PERIOD = 0
PRIORITY_CONVERSION_FELL = 12
PRIORITY_LARGEST_DROP = 22
PRIORITY_ABANDONED_BRANDS = 32
PRIORITY_ZERO_PURCHASE = 42
PRIORITY_CATALOG_GAPS = 48
PRIORITY_CONVERSION_ROSE = 68

Metrics = dict[str, Any]
Rule = Callable[[Metrics, str], Recommendation | None]

CONVERSION_KEY = "events.overall_conversion_rate"
STEP_KEYS = (
    ("events.view_to_cart_rate", "view-to-cart"),
    ("events.cart_to_purchase_rate", "cart-to-purchase"),
)


def _at_least(value: float, threshold: float) -> bool:
    """Return whether ``value >= threshold``, tolerating float noise."""
    return value >= threshold - EPSILON


def _listing(items: list[str]) -> str:
    """Return ``a``, ``a and b`` or ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _recommendation(
    headline: str,
    detail: str,
    evidence: dict[str, Any],
    priority: int,
    *,
    kpi: str | None = None,
    pull: str | None = None,
    compares: bool = False,
) -> Recommendation:
    """Return an event-section recommendation: the KPI it acts on and which way, and
    whether it rests on the change against the previous period."""
    return Recommendation(
        SECTION,
        headline,
        detail,
        evidence,
        priority,
        kpi=kpi,
        pull=pull,
        compares=compares,  # type: ignore[arg-type]
    )


# The rules, in the order they break priority ties.


def empty_period(metrics: Metrics, currency: str) -> Recommendation | None:
    """Say there is nothing to analyse when the period has no clean events."""
    if not is_empty_period(read.mapping(metrics)):
        return None
    period = read.period(metrics, "period", "in this period")
    raw = pipeline_rows(read.mapping(metrics), "raw")
    if raw:
        detail = (
            f"All {fmt_number(raw)} events {period} were removed by cleaning (see Event "
            "cleaning in the appendix). Check the event types, prices and quantities the feed "
            "now sends."
        )
    else:
        detail = (
            f"There are no events {period}. Confirm that the events table is still being loaded."
        )
    return _recommendation(
        "Check the event data feed before reading this section.",
        detail,
        {"events.pipeline (raw rows)": raw, "events.users": read.kpi(metrics, "events.users")},
        PRIORITY_EMPTY_PERIOD,
    )


def conversion_change(metrics: Metrics, currency: str) -> Recommendation | None:
    """Flag view-to-purchase conversion that moved by a tenth or more since last period."""
    current, previous = (
        read.kpi(metrics, CONVERSION_KEY),
        read.previous_kpi(metrics, CONVERSION_KEY),
    )
    if current is None or previous is None or previous <= 0:
        return None
    change = current - previous
    if not _at_least(abs(change), CONVERSION_MIN_CHANGE) or not _at_least(
        abs(change) / previous, CONVERSION_MIN_RELATIVE_CHANGE
    ):
        return None
    before = read.period(metrics, "previous_period", "in the previous period")
    now = read.period(metrics, "period", "in this period")
    evidence: dict[str, Any] = {CONVERSION_KEY: current, f"previous.{CONVERSION_KEY}": previous}
    detail = (
        f"View-to-purchase conversion went from {fmt_percent(previous)} {before} to "
        f"{fmt_percent(current)} {now} ({fmt_delta(current, previous, 'rate')})"
    )
    steps = []
    for key, name in STEP_KEYS:
        step, step_before = read.kpi(metrics, key), read.previous_kpi(metrics, key)
        if step is not None and step_before is not None:
            steps.append(
                f"{name} from {fmt_percent(step_before)} to {fmt_percent(step)} "
                f"({fmt_delta(step, step_before, 'rate')})"
            )
            evidence |= {key: step, f"previous.{key}": step_before}
    if steps:
        detail += f"; {_listing(steps)}"
    moves = {"kpi": CONVERSION_KEY, "pull": "up", "compares": True}
    if change < 0:
        return _recommendation(
            "Find what cut view-to-purchase conversion and fix it first.",
            f"{detail}. Check recent changes to product pages, prices, stock and checkout.",
            evidence,
            PRIORITY_CONVERSION_FELL,
            **moves,
        )
    return _recommendation(
        "Keep the changes that lifted view-to-purchase conversion.",
        f"{detail}. Note what changed on product pages, prices and checkout so it is kept.",
        evidence,
        PRIORITY_CONVERSION_ROSE,
        **moves,
    )


def largest_drop(metrics: Metrics, currency: str) -> Recommendation | None:
    """Name the funnel step that loses the largest share of the users who reached it."""
    rows = read.rows(metrics, "events.funnel")
    found = find_largest_drop(rows)
    if found is None:
        return None
    index, row = found
    users = read.number(row.get("users"))
    before = read.number(rows[index - 1].get("users")) if index > 0 else None
    if users is None or not before:
        return None
    stage = str(row.get("stage"))
    previous_stage = str(rows[index - 1].get("stage"))
    cell, before_cell = f"events.funnel[{index}]", f"events.funnel[{index - 1}]"
    evidence: dict[str, Any] = {
        f"{cell}.stage": row.get("stage"),
        f"{cell}.drop_off": row.get("drop_off"),
        f"{cell}.users": users,
        f"{before_cell}.users": before,
    }
    went_on = STAGE_USERS.get(stage, f"{stage} users")
    detail = (
        f"The largest drop is {drop_sentence(rows, index)} ({fmt_number(users)} {went_on} "
        f"of {fmt_number(before)} {STAGE_USERS.get(previous_stage, 'users')})."
    )
    for other_index, other in enumerate(rows):
        drop = read.number(other.get("drop_off"))
        if other_index in (0, index) or drop is None:
            continue
        detail += (
            f" From {rows[other_index - 1].get('stage')} to {other.get('stage')}, "
            f"{fmt_percent(drop)} drop off."
        )
        evidence[f"events.funnel[{other_index}].drop_off"] = drop
    # The steepest step is the one losing the largest share of those who reach it; where
    # the most users stop (of all viewers) may be another step: say which, truthfully.
    lost = _stops_of_viewers(rows)
    most = max(lost, key=lambda item: item[1]) if lost else None
    share = read.number(row.get("drop_off"))
    steepest = f"it loses {fmt_percent(share)} of the users who reach it, the steepest step"
    if most is not None and most[0] != index:
        where = f"{rows[most[0] - 1].get('stage')} to {rows[most[0]].get('stage')}"
        detail += f" Most users stop earlier, from {where} ({fmt_percent(most[1])} of viewers)."
    if stage == "cart":
        headline = f"Make adding to cart easier from product pages: {steepest}."
    elif stage == "purchase":
        headline = f"Fix the path from cart to purchase: {steepest}."
    else:
        headline = f"Work on the step from {previous_stage} to {stage}: {steepest}."
    return _recommendation(
        headline,
        detail,
        evidence,
        PRIORITY_LARGEST_DROP,
        kpi=CONVERSION_KEY,
        pull="up",
    )


def _stops_of_viewers(rows: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """Return (step index, share of viewers who stop at that step) for each step."""
    viewers = read.number(rows[0].get("users")) if rows else None
    if not viewers:
        return []
    out = []
    for index in range(1, len(rows)):
        before, after = (read.number(rows[i].get("users")) for i in (index - 1, index))
        if before is not None and after is not None:
            out.append((index, (before - after) / viewers))
    return out


def abandoned_brands(metrics: Metrics, currency: str) -> Recommendation | None:
    """Name the brands abandoners left most value of, when the top one holds 10% or more."""
    rows = read.rows(metrics, "events.abandoned_brands")
    total = math.fsum(value for row in rows if (value := read.number(row.get("value"))) is not None)
    if total <= 0:
        return None
    named = [
        (index, row, value)
        for index, row in enumerate(rows)
        if read.label(row.get("brand")) not in UNTARGETABLE
        and (value := read.number(row.get("value"))) is not None
        and value > 0
    ][:ABANDONED_BRANDS_NAMED]
    if not named or not _at_least(named[0][2] / total, ABANDONED_BRAND_MIN_SHARE):
        return None
    evidence: dict[str, Any] = {"events.abandoned_brands (sum of value)": total}
    parts = []
    for index, row, value in named:
        cell = f"events.abandoned_brands[{index}]"
        evidence |= {f"{cell}.brand": row.get("brand"), f"{cell}.value": value}
        users = read.number(row.get("users"))
        who = ""
        if users is not None:
            who = f", {fmt_number(users)} {'user' if users == 1 else 'users'}"
            evidence[f"{cell}.users"] = users
        parts.append(
            f"{read.label(row.get('brand'))} {fmt_money(value, currency)} "
            f"({fmt_percent(value / total)}{who})"
        )
    brands = _listing([read.label(row.get("brand")) for _, row, _ in named])
    return _recommendation(
        f"Check the prices, stock and delivery of {brands} against competitors.",
        f"Shoppers who added to cart and never bought left {fmt_money(total, currency)} in "
        f"their carts. The most abandoned brands: {_listing(parts)}.",
        evidence,
        PRIORITY_ABANDONED_BRANDS,
        kpi="events.cart_to_purchase_rate",
        pull="up",
    )


def zero_purchase_products(metrics: Metrics, currency: str) -> Recommendation | None:
    """Ask for a review of the products that draw views and never sell."""
    rows = [
        (index, row)
        for index, row in enumerate(read.rows(metrics, "events.zero_purchase_products"))
        if row.get("product_id") is not None and read.number(row.get("views")) is not None
    ]
    if not rows:
        return None
    threshold = read.number(
        read.mapping(read.mapping(metrics).get("rules")).get("zero_purchase_min_views")
    )
    threshold = DEFAULT_ZERO_PURCHASE_MIN_VIEWS if threshold is None else threshold
    count = len(rows)
    products, draw, sell = (
        ("product", "draws", "sells") if count == 1 else ("products", "draw", "sell")
    )
    evidence: dict[str, Any] = {
        "events.zero_purchase_products (rows)": count,
        "rules.zero_purchase_min_views": threshold,
    }
    named = []
    for index, row in rows[:ZERO_PURCHASE_NAMED]:
        views = f"{fmt_number(row['views'])} views"
        name = row.get("name")
        if isinstance(name, str) and name.strip():
            named.append(f"{name.strip()} (id {read.label(row.get('product_id'))}, {views})")
        else:
            named.append(f"{read.label(row.get('product_id'))} ({views})")
        evidence[f"events.zero_purchase_products[{index}].product_id"] = row.get("product_id")
        evidence[f"events.zero_purchase_products[{index}].views"] = row["views"]
    period = read.period(metrics, "period", "in this period")
    most = "The most viewed is" if len(named) == 1 else "The most viewed are"
    return _recommendation(
        f"Review the {fmt_number(count)} {products} that {draw} views but never {sell}.",
        f"{fmt_number(count)} {products} had at least {fmt_number(threshold)} views {period} "
        f"and no purchase. {most} {_listing(named)}. Check their price, stock and "
        "product page.",
        evidence,
        PRIORITY_ZERO_PURCHASE,
    )


def catalog_gaps(metrics: Metrics, currency: str) -> Recommendation | None:
    """Ask for the missing brands or categories that hide 5% or more of revenue."""
    found = []
    for index, row in enumerate(read.rows(metrics, "events.catalog_gaps")):
        share = read.number(row.get("share_of_revenue"))
        revenue = read.number(row.get("revenue_missing"))
        if share is None or revenue is None or revenue <= 0:
            continue
        if _at_least(share, CATALOG_GAP_MIN_SHARE):
            found.append((index, row, share, revenue))
    if not found:
        return None
    evidence: dict[str, Any] = {}
    missing, plurals = [], []
    for index, row, share, revenue in found:
        attribute = str(row.get("attribute"))
        name, plural = GAP_ATTRIBUTES.get(attribute, (attribute, f"{attribute} values"))
        plurals.append(plural)
        missing.append(
            f"no {name} brought {fmt_money(revenue, currency)}, {fmt_percent(share)} of revenue"
        )
        evidence[f"events.catalog_gaps[{index}].attribute"] = row.get("attribute")
        evidence[f"events.catalog_gaps[{index}].revenue_missing"] = revenue
        evidence[f"events.catalog_gaps[{index}].share_of_revenue"] = share
    return _recommendation(
        f"Fill in the missing {_listing(plurals)} in the product catalog.",
        f"Purchases with {_listing(missing)} (above the {fmt_percent(CATALOG_GAP_MIN_SHARE)} "
        "threshold). This revenue shows as Unknown, so no brand or category gets the credit.",
        evidence,
        PRIORITY_CATALOG_GAPS,
    )


RULES: tuple[Rule, ...] = (
    empty_period,
    conversion_change,
    largest_drop,
    abandoned_brands,
    zero_purchase_products,
    catalog_gaps,
)


def recommend(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Return the event recommendations, by priority and then by rule order.

    An empty period gets only the note that there is nothing to analyse.
    """
    empty = empty_period(metrics, currency)
    if empty is not None:
        return [empty]
    fired = [rec for rule in RULES if (rec := rule(metrics, currency)) is not None]
    return sorted(fired, key=lambda rec: rec.priority)
