"""How the marketing section's KPIs are shown, and when a retention figure is provisional."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reportgen.plugin import KpiSpec
from reportgen.render.formatters import fmt_date, fmt_datetime


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def window_open(metrics: Mapping[str, Any]) -> str | None:
    """Return why the period's repeat and retention figures may still rise, or None.

    They are final once the data holds an order at or after the period end (a bare date,
    from a date-only column, covers its whole day); before that, customers of the period
    may still order in it (named rule ``provisional-retention``).
    """
    quality = metrics.get("data_quality") or {}
    if "marketing.newest_order" not in quality:
        return None
    end = _moment((metrics.get("period") or {}).get("end"))
    newest_text = quality.get("marketing.newest_order")
    if end is None:
        return None
    if newest_text is None:
        return "There is no readable order date in the data, so the period cannot be complete."
    newest = _moment(newest_text)
    if newest is None:
        return None
    whole_day = len(str(newest_text)) == 10
    covered = newest + timedelta(days=1) if whole_day else newest
    if covered >= end:
        return None
    shown = fmt_date(newest) if whole_day else fmt_datetime(newest)
    return (
        f"The newest order in the data is from {shown}, before the period ends "
        f"({fmt_date(end)}, exclusive): customers may still order in the period, so this "
        "figure may still rise."
    )


# No headline KPI: the cover holds nine cards on its page and the cart and event sections
# fill them; a tenth card pushes the cover onto a second page.
MARKETING_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec(
        "marketing.retention_rate",
        "Customer retention rate",
        "rate",
        "up",
        provisional_when=window_open,
    ),
    KpiSpec(
        "marketing.repeat_purchase_rate",
        "Repeat purchase rate",
        "rate",
        "up",
        provisional_when=window_open,
    ),
    KpiSpec("marketing.orders", "Orders", "number", "up"),
    KpiSpec("marketing.customers", "Ordering customers", "number", "up"),
    KpiSpec("marketing.orders_per_customer", "Orders per customer", "number", "up"),
    KpiSpec("marketing.order_abandonment_rate", "Order abandonment rate", "rate", "down"),
    KpiSpec("marketing.discount_revenue_share", "Revenue with a discount code", "rate"),
)

KPI_KEYS: tuple[str, ...] = (
    "marketing.orders",
    "marketing.customers",
    "marketing.orders_per_customer",
    "marketing.repeat_purchase_rate",
    "marketing.retention_rate",
    "marketing.order_abandonment_rate",
    "marketing.discount_revenue_share",
)
"""The KPIs of METRICS.md §6, in its order (every one in ``kpis`` and ``kpis.previous``)."""
