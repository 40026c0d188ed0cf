"""How the event section's metrics are shown: KPI labels and kinds, stage and segment names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.plugin import KpiSpec
from reportgen.render.formatters import fmt_category, fmt_percent, fmt_text

EVENT_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec("events.users", "Users", "number", "up", headline=True),
    KpiSpec(
        "events.overall_conversion_rate", "View-to-purchase conversion", "rate", "up", headline=True
    ),
    KpiSpec("events.revenue", "Event revenue", "money", "up", headline=True),
    KpiSpec("events.cart_to_purchase_rate", "Cart-to-purchase rate", "rate", "up"),
    KpiSpec("events.sessions", "Sessions", "number", "up"),
    KpiSpec("events.views", "Product views", "number", "up"),
    KpiSpec("events.carts", "Add-to-cart events", "number", "up"),
    KpiSpec("events.removes", "Remove-from-cart events", "number"),
    KpiSpec("events.purchases", "Purchase events", "number", "up"),
    KpiSpec("events.transactions", "Transactions", "number", "up"),
    KpiSpec("events.aov", "Average purchase value", "money", "up"),
    KpiSpec("events.revenue_per_transaction", "Revenue per transaction", "money", "up"),
    KpiSpec("events.user_conversion_rate", "User conversion rate", "rate", "up"),
    KpiSpec("events.view_to_cart_rate", "View-to-cart rate", "rate", "up"),
    KpiSpec("events.cart_to_purchase_event_rate", "Purchases per cart event", "rate", "up"),
)
"""The 15 KPIs of METRICS.md §4. Three are headlines: with the cart section's six they
fill three rows of the cover and keep it on one page."""

COUNT_KPIS = (
    "events.users",
    "events.sessions",
    "events.views",
    "events.carts",
    "events.removes",
    "events.purchases",
    "events.transactions",
    "events.revenue",
)
"""The KPIs that are counts or sums: all zero means the period had no clean events."""

PRODUCT_TABLES = (
    "events.top_products",
    "events.abandoned_products",
    "events.zero_purchase_products",
)
"""The section's tables keyed by product_id: they gain ``name`` and ``category``."""

FUNNEL_STAGES = {"view": "Viewed", "cart": "Added to cart", "purchase": "Purchased"}
"""``events.funnel`` stages, in order, and how a chart or table names them."""

STAGE_USERS = {"view": "viewers", "cart": "cart users", "purchase": "buyers"}
"""What the users who reached each funnel stage are called in sentences."""

DROP_SENTENCES = {
    "cart": "of viewers never add to cart",
    "purchase": "of users who add to cart never buy",
}
"""How the drop into each stage reads after its percentage."""

SEGMENT_LABELS = {
    "view_only": "View only",
    "cart_abandoners": "Cart abandoners",
    "single_purchase": "One transaction",
    "multi_purchase": "Two or more transactions",
    "high_value": "High value (top 10% of buyers)",
}
"""``events.user_segments`` values as the report names them (METRICS.md §4)."""

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
"""``weekday`` 0-6 (0 = Monday), for a row that carries no ``weekday_name``."""


def is_number(value: object) -> bool:
    """Whether ``value`` is a number as metrics.json holds it (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def pipeline_rows(metrics: Mapping[str, Any], stage: str) -> int | float | None:
    """Return the rows left after a cleaning stage of ``events.pipeline``, or None."""
    for row in (metrics.get("tables") or {}).get("events.pipeline") or []:
        if isinstance(row, Mapping) and row.get("stage") == stage and is_number(row.get("rows")):
            return row["rows"]
    return None


def is_empty_period(metrics: Mapping[str, Any]) -> bool:
    """Whether the period has no events: no raw rows, or every count KPI is zero or null."""
    if pipeline_rows(metrics, "raw") == 0:
        return True
    kpis = metrics.get("kpis") or {}
    return not any(is_number(kpis.get(key)) and kpis[key] for key in COUNT_KPIS)


def largest_drop(rows: Sequence[Mapping[str, Any]]) -> tuple[int, Mapping[str, Any]] | None:
    """Return (index, row) of the funnel stage with the largest drop_off (the first on a tie).

    Stages with a null drop-off (``view``, or any stage after an empty one) are left out;
    None when no stage has one.
    """
    found: tuple[int, Mapping[str, Any]] | None = None
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping) or not is_number(row.get("drop_off")):
            continue
        if found is None or row["drop_off"] > found[1]["drop_off"]:
            found = (index, row)
    return found


def drop_sentence(rows: Sequence[Mapping[str, Any]], index: int) -> str:
    """Return "from view to cart: 93.2% of viewers never add to cart" for a funnel row."""
    row = rows[index]
    stage = str(row.get("stage"))
    before = str(rows[index - 1].get("stage")) if index > 0 else "the previous stage"
    what = DROP_SENTENCES.get(stage, f"of {STAGE_USERS.get(before, before)} never reach {stage}")
    return f"from {before} to {stage}: {fmt_percent(row.get('drop_off'))} {what}"


def weekday_name(row: Mapping[str, Any]) -> str:
    """Return a ``by_weekday`` row's day name: its ``weekday_name``, else from ``weekday``."""
    name = row.get("weekday_name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    day = row.get("weekday")
    return WEEKDAYS[day] if isinstance(day, int) and 0 <= day < len(WEEKDAYS) else fmt_text(day)


def product_label(row: Mapping[str, Any]) -> str:
    """Return a product as a reader knows it: "Kettle Pro (id 20)" when the products table
    names it, else its id (rule ``events-product-names``)."""
    name = row.get("name")
    shown = fmt_text(row.get("product_id"))
    if isinstance(name, str) and name.strip():
        return f"{name.strip()} (id {shown})"
    return shown


def with_product_labels(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return product rows with a display ``product`` and a readable ``category``."""
    return [
        {**row, "product": product_label(row), "category": _category(row.get("category"))}
        for row in rows
    ]


def _category(code: object) -> str | None:
    return fmt_category(code) if isinstance(code, str) and code.strip() else None


def has_categories(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any product row carries a category from the products table."""
    return any(row.get("category") for row in rows)
