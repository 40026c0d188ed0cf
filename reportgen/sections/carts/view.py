"""The cart section's view: metrics.json → the display strings of ``_carts.html``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.render.formatters import fmt_number
from reportgen.render.viewparts import cards, figure, notes, number, table
from reportgen.sections.carts.declaration import SEGMENT_LABELS
from reportgen.sections.carts.kpis import CART_KPIS, segment_columns, segment_tables

ABANDONED_COLUMNS = (
    ("carts", "Carts", "number"),
    ("units", "Units", "number"),
    ("abandoned_value", "Abandoned value", "money"),
    ("share", "Share", "rate"),
)
"""The measures the SKU and category tables share (METRICS.md §3)."""
NO_ABANDONED_PRODUCT = "No abandoned cart held a product in this period."


# The cart section (reportgen/sections/carts/README.md).


def carts_view(
    metrics: Mapping[str, Any],
    currency: str,
    charts: Mapping[str, str],
    skipped: Mapping[str, str],
) -> dict[str, Any]:
    """Return the view of the cart section: five parts, each with an id for the contents."""
    kpis = metrics.get("kpis") or {}
    tables = metrics.get("tables") or {}
    rules = metrics.get("rules") or {}
    period_kind = (metrics.get("period") or {}).get("kind")
    total = number(kpis.get("carts.carts_total"))
    empty = not total
    days = number(rules.get("reengagement_days"))
    days = 7 if days is None else int(days)
    top_n = number(rules.get("top_n")) or 10
    bucket = {"week": "Day", "month": "Week starting"}.get(period_kind, "Starting")
    grain = {"week": "day", "month": "week"}.get(period_kind, "bucket")

    funnel = {
        "id": "cart-funnel",
        "title": "Cart funnel",
        "notes": notes(skipped, ("carts.funnel", "carts.funnel_trend")),
        "empty": "No carts were created in this period." if empty else None,
        "cards": cards(
            CART_KPIS,
            (
                "carts.carts_total",
                "carts.carts_converted",
                "carts.carts_abandoned",
                "carts.cart_conversion_rate",
                "carts.abandonment_rate",
                "carts.carts_open",
                "carts.carts_other",
            ),
            metrics,
            currency,
        ),
        "figure": None
        if empty
        else figure(
            charts,
            "carts.funnel_trend",
            f"Carts created per {grain}, stacked by status; the line is the share converted "
            "(right-hand axis).",
        ),
        "table": table(
            tables.get("carts.funnel_trend") or [],
            (
                ("bucket_start", bucket, "date"),
                ("carts_total", "Carts", "number"),
                ("converted", "Converted", "number"),
                ("abandoned", "Abandoned", "number"),
                ("open", "Open", "number"),
                ("other", "Other", "number"),
                ("conversion_rate", "Conversion rate", "rate"),
            ),
            currency,
            caption=f"Carts per {grain} by status",
        ),
    }

    skus = tables.get("carts.top_abandoned_skus") or []
    categories = tables.get("carts.top_abandoned_categories") or []
    abandoned = {
        "id": "abandoned-value",
        "title": "Abandoned value",
        "notes": notes(
            skipped,
            (
                "carts.abandoned_value",
                "carts.products",
                "carts.top_abandoned_skus",
                "carts.top_abandoned_categories",
            ),
        ),
        "cards": cards(
            CART_KPIS,
            (
                "carts.abandoned_cart_value",
                "carts.avg_abandoned_cart_value",
                "carts.carts_abandoned",
                "carts.converted_cart_value",
            ),
            metrics,
            currency,
        ),
        "sku_figure": figure(
            charts,
            "carts.top_abandoned_skus",
            f"Top {fmt_number(len(skus))} products by value left in abandoned carts "
            "(share of all abandoned value).",
        )
        if skus
        else None,
        "sku_table": table(
            skus,
            (
                ("product_id", "Product", "text"),
                ("name", "Name", "text"),
                ("category", "Category", "text"),
                *ABANDONED_COLUMNS,
            ),
            currency,
            empty=NO_ABANDONED_PRODUCT,
            caption="Products left in abandoned carts",
        ),
        "category_figure": figure(
            charts,
            "carts.top_abandoned_categories",
            "Abandoned value by product category (share of all abandoned value).",
        )
        if categories
        else None,
        "category_table": table(
            categories,
            (("category", "Category", "text"), *ABANDONED_COLUMNS),
            currency,
            empty=NO_ABANDONED_PRODUCT,
            caption="Categories left in abandoned carts",
        ),
    }

    segment_parts = []
    for key in segment_tables(metrics):
        column = key.removeprefix("carts.segment.")
        name = SEGMENT_LABELS.get(column, column.replace("_", " "))
        rows = tables.get(key) or []
        note = skipped.get(key)
        segment_parts.append(
            {
                "id": f"segment-{column.replace('_', '-')}",
                "title": f"By {name}",
                "notes": [f"Skipped because {note.rstrip('.')}."] if note else [],
                "figure": figure(charts, key, f"Conversion and abandonment rate of each {name}.")
                if rows
                else None,
                "table": table(
                    rows,
                    (
                        ("segment", _sentence_case(name), "text"),
                        ("carts_total", "Carts", "number"),
                        ("cart_conversion_rate", "Conversion", "rate"),
                        ("abandonment_rate", "Abandonment", "rate"),
                        ("abandoned_value", "Abandoned value", "money"),
                        ("abandoners", "Abandoners", "number"),
                        ("reengaged", "Re-engaged", "number"),
                        ("reengagement_rate", "Re-engagement", "rate"),
                    ),
                    currency,
                    empty="No carts in this period.",
                    caption=f"Carts by {name}",
                )
                if rows or not note
                else None,
            }
        )
    segments = {
        "id": "segments",
        "title": "Segments",
        "notes": notes(skipped, ("carts.segments",)),
        "segments": segment_parts,
        "none": None if segment_parts else "No segment columns are configured.",
    }

    savable_rows = tables.get("carts.savable_customers") or []
    savable_segments = [
        column
        for column in segment_columns(metrics)
        if any(row.get(column) is not None for row in savable_rows)
    ]
    shown = savable_rows[: int(top_n)]
    immature = number(kpis.get("carts.reengagement_immature_carts")) or 0
    reengagement = {
        "id": "reengagement",
        "title": "Re-engagement",
        "notes": notes(skipped, ("carts.reengagement", "carts.savable_customers")),
        "intro": (
            f"An abandoner is re-engaged when they place an order within {days} days "
            "after abandoning a cart. Savable customers abandoned a cart and did not come "
            "back within the window. Recovered revenue is the value of the orders that "
            "re-engaged them, each order counted once."
        ),
        "cards": cards(
            CART_KPIS,
            (
                "carts.abandoners",
                "carts.reengaged",
                "carts.reengagement_rate",
                "carts.reengagement_immature_carts",
                "carts.recovered_orders",
                "carts.recovered_revenue",
            ),
            metrics,
            currency,
        ),
        "immature": (
            f"{fmt_number(immature)} abandoned carts were created less than {days} days "
            "before the newest order in the data: their window has not closed yet, so the "
            "re-engagement rate and recovered revenue may still rise."
            if immature > 0
            else None
        ),
        "table": table(
            shown,
            (
                ("customer_id", "Customer", "text"),
                *(
                    (column, _sentence_case(SEGMENT_LABELS.get(column, column)), "text")
                    for column in savable_segments
                ),
                ("abandoned_carts", "Abandoned carts", "number"),
                ("abandoned_value", "Abandoned value", "money"),
            ),
            currency,
            empty="No savable customers: every abandoner came back or none had an account.",
            caption="Savable customers, largest abandoned value first",
        ),
        "csv_note": (
            f"The {fmt_number(len(shown))} customers with the largest abandoned value are "
            f"shown, of {fmt_number(len(savable_rows))} savable customers; the CSV export "
            "csv/carts.savable_customers.csv lists them all."
            if savable_rows
            else None
        ),
    }

    unlinked = number(kpis.get("carts.converted_unlinked"))
    before = number((metrics.get("data_quality") or {}).get("carts.order_before_cart"))
    time_notes = []
    if unlinked:
        time_notes.append(
            f"{fmt_number(unlinked)} converted carts have no linked order and are not in "
            "these figures."
        )
    if before:
        time_notes.append(
            f"{fmt_number(before)} converted carts whose orders all precede the cart are "
            "left out too."
        )
    time_to_order = {
        "id": "time-to-order",
        "title": "Time to order",
        "notes": notes(skipped, ("carts.time_to_order", "carts.time_to_order_hist")),
        "cards": cards(
            CART_KPIS,
            (
                "carts.median_time_to_order_days",
                "carts.p90_time_to_order_days",
                "carts.mean_time_to_order_days",
                "carts.converted_unlinked",
            ),
            metrics,
            currency,
        ),
        "figure": figure(
            charts,
            "carts.time_to_order_hist",
            "Converted carts by time from cart creation to the linked order.",
        ),
        "remarks": time_notes,
    }

    return {
        "empty": empty,
        "funnel": funnel,
        "abandoned": abandoned,
        "segments": segments,
        "reengagement": reengagement,
        "time_to_order": time_to_order,
        "parts": [funnel, abandoned, segments, reengagement, time_to_order],
    }


def _sentence_case(text: str) -> str:
    """Capitalise the first letter only ("CLV bucket", not "Clv bucket")."""
    return text[:1].upper() + text[1:]
