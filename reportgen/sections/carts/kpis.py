"""How the cart section's metrics are shown: KPI labels and kinds, segment tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.plugin import KpiSpec
from reportgen.render.formatters import fmt_number
from reportgen.sections.carts.declaration import reengagement_label


def window_open(metrics: Mapping[str, Any]) -> str | None:
    """Return why the figures counted within the re-engagement window may still rise: some
    abandoned carts of the period were created less than N days before the newest order."""
    kpis = metrics.get("kpis") or {}
    open_carts = kpis.get("carts.reengagement_immature_carts")
    if not isinstance(open_carts, int) or open_carts <= 0:
        return None
    days = (metrics.get("rules") or {}).get("reengagement_days")
    window = f"{days}-day window" if isinstance(days, int) else "re-engagement window"
    abandoned = kpis.get("carts.carts_abandoned")
    of = f" of {fmt_number(abandoned)}" if isinstance(abandoned, int) else ""
    return f"{fmt_number(open_carts)}{of} abandoned carts are still inside their {window}"


CART_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec("carts.carts_total", "Carts created", "number", "up", headline=True),
    KpiSpec("carts.cart_conversion_rate", "Cart conversion rate", "rate", "up", headline=True),
    KpiSpec("carts.abandonment_rate", "Abandonment rate", "rate", "down", headline=True),
    KpiSpec("carts.abandoned_cart_value", "Abandoned cart value", "money", "down", headline=True),
    KpiSpec(
        "carts.reengagement_rate",
        "7-day re-engagement rate",
        "rate",
        "up",
        headline=True,
        label_from_rules=reengagement_label,
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
    KpiSpec("carts.reengaged", "Re-engaged abandoners", "number", "up"),
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
