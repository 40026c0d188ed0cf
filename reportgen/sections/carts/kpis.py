"""How the cart section's metrics are shown: KPI labels and kinds, segment tables."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from reportgen.plugin import KpiSpec
from reportgen.render.formatters import fmt_date, fmt_number
from reportgen.sections.carts.declaration import reengagement_label


def window_open(metrics: Mapping[str, Any]) -> str | None:
    """Why the re-engagement figures are not final yet, or None (named rule
    ``provisional-reengagement``): some of the period's abandoned carts are younger than the
    re-engagement window at the data's end, so their abandoners may still order."""
    kpis = metrics.get("kpis") or {}
    waiting, abandoned = (
        kpis.get("carts.reengagement_immature_carts"),
        kpis.get("carts.carts_abandoned"),
    )
    if not isinstance(waiting, int) or waiting <= 0:
        return None
    days = (metrics.get("rules") or {}).get("reengagement_days")
    text = (
        f"{fmt_number(waiting)} of {fmt_number(abandoned)} abandoned carts are still inside their"
    )
    text += f" {days}-day window" if isinstance(days, int) else " re-engagement window"
    final = _final_day(metrics, days)
    return f"{text}: final once the data runs to {fmt_date(final)}." if final else f"{text}."


OPEN_SHARE_PROVISIONAL = 0.01
"""Cart figures are provisional while at least this share of the period's carts is open."""


def carts_open(metrics: Mapping[str, Any]) -> str | None:
    """Why the conversion and abandonment figures may still move, or None (named rule
    ``provisional-open-carts``): while 1% or more of the period's carts are still open, they
    can still be bought or abandoned and move a rate by up to their share."""
    kpis = metrics.get("kpis") or {}
    still, total = kpis.get("carts.carts_open"), kpis.get("carts.carts_total")
    if not isinstance(still, int) or not isinstance(total, int) or total <= 0:
        return None
    if still / total < OPEN_SHARE_PROVISIONAL:
        return None
    return (
        f"{fmt_number(still)} of {fmt_number(total)} carts are still open "
        f"({still / total * 100:.1f}%): the figure moves as they are bought or abandoned."
    )


def _final_day(metrics: Mapping[str, Any], days: Any) -> datetime | None:
    """The last day a cart of the period can still be re-engaged on: the day before the
    period end, plus the window."""
    end = (metrics.get("period") or {}).get("end")
    if not isinstance(days, int) or not isinstance(end, str):
        return None
    try:
        return datetime.fromisoformat(end) + timedelta(days=days - 1)
    except ValueError:
        return None


CART_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec("carts.carts_total", "Carts created", "number", "up", headline=True),
    KpiSpec(
        "carts.cart_conversion_rate",
        "Cart conversion rate",
        "rate",
        "up",
        headline=True,
        provisional_when=carts_open,
    ),
    KpiSpec(
        "carts.abandonment_rate",
        "Abandonment rate",
        "rate",
        "down",
        headline=True,
        provisional_when=carts_open,
    ),
    KpiSpec(
        "carts.abandoned_cart_value",
        "Abandoned cart value",
        "money",
        "down",
        headline=True,
        provisional_when=carts_open,
    ),
    KpiSpec(
        "carts.reengagement_rate",
        "7-day re-engagement rate",
        "rate",
        "up",
        headline=True,
        label_from_rules=reengagement_label,
        provisional_when=window_open,
    ),
    KpiSpec(
        "carts.median_time_to_order_days", "Median time to order", "days", "down", headline=True
    ),
    KpiSpec("carts.carts_converted", "Converted carts", "number", "up"),
    KpiSpec("carts.carts_abandoned", "Abandoned carts", "number", "down"),
    KpiSpec("carts.carts_open", "Open carts", "number"),
    KpiSpec("carts.carts_other", "Carts with other statuses", "number"),
    KpiSpec("carts.avg_abandoned_cart_value", "Average abandoned cart", "money", "down"),
    KpiSpec("carts.converted_cart_value", "Converted cart value", "money", "up"),
    KpiSpec("carts.abandoners", "Abandoners", "number", "down"),
    KpiSpec(
        "carts.reengaged", "Re-engaged abandoners", "number", "up", provisional_when=window_open
    ),
    KpiSpec("carts.reengagement_immature_carts", "Abandoned carts still in their window", "number"),
    KpiSpec(
        "carts.recovered_orders",
        "Orders from re-engaged abandoners",
        "number",
        "up",
        provisional_when=window_open,
    ),
    KpiSpec(
        "carts.recovered_revenue",
        "Recovered revenue",
        "money",
        "up",
        provisional_when=window_open,
    ),
    KpiSpec("carts.p90_time_to_order_days", "90th percentile time to order", "days", "down"),
    KpiSpec("carts.mean_time_to_order_days", "Mean time to order", "days", "down"),
    KpiSpec("carts.converted_unlinked", "Converted carts with no linked order", "number", "down"),
)


def segment_tables(metrics: Mapping[str, Any]) -> list[str]:
    """Return the ``carts.segment.*`` table names, in the configured order (metrics.json
    keeps the order the section wrote them in)."""
    return [key for key in metrics.get("tables") or {} if key.startswith("carts.segment.")]


def segment_columns(metrics: Mapping[str, Any]) -> list[str]:
    """Return the configured segment columns: those with a table, then skipped ones."""
    prefix = "carts.segment."
    skipped = [
        str(entry.get("section", "")).removeprefix(prefix)
        for entry in metrics.get("skipped") or []
        if isinstance(entry, Mapping) and str(entry.get("section", "")).startswith(prefix)
    ]
    return [key.removeprefix(prefix) for key in segment_tables(metrics)] + skipped
