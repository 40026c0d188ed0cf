"""The cart section's charts: metrics.json tables → inline SVG, keyed by table name.

An empty (or all-zero) table gives a placeholder saying so, never an exception.
Every label printed on a chart is formatted with ``reportgen.render.formatters``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import altair as alt

from reportgen.render import charts
from reportgen.render.formatters import (
    fmt_date,
    fmt_money_short,
    fmt_month,
    fmt_number,
    fmt_percent,
    fmt_text,
)
from reportgen.sections.carts.kpis import segment_tables

Rows = Sequence[Mapping[str, Any]]

STATUSES = (
    ("converted", "Converted", charts.GOOD),
    ("abandoned", "Abandoned", charts.BAD),
    ("open", "Open", charts.NEUTRAL),
    ("other", "Other", charts.FAINT),
)
"""Funnel trend columns, their legend labels and colours, bottom of the stack first."""

RATES = (
    ("cart_conversion_rate", "Conversion rate", charts.GOOD),
    ("abandonment_rate", "Abandonment rate", charts.BAD),
)
"""The rates compared across segments."""

HIST_BUCKETS = {
    "<1d": "under 1 day",
    "1d": "1 day",
    "2-3d": "2-3 days",
    "4-7d": "4-7 days",
    "8-14d": "8-14 days",
    "15d+": "15+ days",
}
"""The time-to-order buckets of METRICS.md §3, in order, with axis labels."""


def build_charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    """Return every cart chart as inline SVG, keyed by the metrics.json table it draws."""
    tables = metrics.get("tables") or {}
    period = metrics.get("period") or {}
    jobs: dict[str, Callable[[], str | None]] = {
        "carts.funnel_trend": lambda: funnel_chart(tables.get("carts.funnel_trend") or [], period),
        "carts.top_abandoned_skus": lambda: value_chart(
            tables.get("carts.top_abandoned_skus") or [], _sku_label, "Product", currency
        ),
        "carts.top_abandoned_categories": lambda: value_chart(
            tables.get("carts.top_abandoned_categories") or [],
            lambda row: fmt_text(row.get("category")),
            "Category",
            currency,
        ),
        "carts.time_to_order_hist": lambda: time_to_order_chart(
            tables.get("carts.time_to_order_hist") or []
        ),
    }
    for key in segment_tables(metrics):
        jobs[key] = functools.partial(segment_chart, tables.get(key) or [])
    return charts.render_all(jobs)


def funnel_chart(rows: Rows, period: Mapping[str, Any] | None = None) -> str | None:
    """Stack carts by status per trend bucket and overlay the conversion rate.

    Buckets only partly in the period (the first and last week of a month) are lighter,
    and a note under the chart names the days they count; one bucket draws no chart.
    """
    if not rows or not any(_count(row.get("carts_total")) for row in rows):
        return charts.placeholder("No carts were created in this period")
    if charts.too_few(rows):
        return None
    grain = charts.trend_grain(period) if period and period.get("start") else "day"
    starts = [date.fromisoformat(str(row.get("bucket_start"))[:10]) for row in rows]
    with_year = len({start.year for start in starts}) > 1
    labels = [
        fmt_month(f"{start:%Y-%m}") if grain == "month" else fmt_date(start, year=with_year)
        for start in starts
    ]
    partial = charts.partial_buckets(starts, grain, period)
    stacked = [
        {"bucket": label, "status": title, "carts": _count(row.get(field))}
        for label, row in zip(labels, rows, strict=True)
        for field, title, _ in STATUSES
    ]
    rates = [
        {"bucket": label, "rate": row.get("conversion_rate")}
        for label, row in zip(labels, rows, strict=True)
    ]
    bars = charts.stacked_bar_chart(
        stacked,
        "bucket",
        "status",
        "carts",
        series_order=[title for _, title, _ in STATUSES],
        colors=[color for _, _, color in STATUSES],
        x_title=None,
        y_title="Carts",
        partial=[labels[index] for index in partial],
    )
    chart = charts.with_rate_line(bars, rates, "bucket", "rate", rate_title="Conversion rate")
    note = charts.partial_note(partial, len(rows), grain, "lighter bars")
    return charts.to_svg(charts.with_note(chart, note))


def value_chart(rows: Rows, label_of: Any, title: str, currency: str) -> str | None:
    """Draw abandoned value per row (already ordered and cut to top_n), largest first."""
    data = [
        {
            "item": label_of(row),
            "value": row.get("abandoned_value") or 0,
            "label": f"{fmt_money_short(row.get('abandoned_value'), currency)}"
            f"  ({fmt_percent(row.get('share'))})",
        }
        for row in rows
    ]
    if not data:
        return charts.placeholder("No abandoned carts in this period")
    if charts.too_few(data):
        return None
    chart = charts.bar_chart(
        data,
        "item",
        "value",
        category_title=None,
        value_title="Abandoned value",
        value_axis=charts.money_axis(currency),
        label="label",
        color=charts.BAD,
    )
    return charts.to_svg(chart)


def segment_chart(rows: Rows) -> str:
    """Compare conversion and abandonment rates across one segment's values."""
    data = [
        {
            "segment": fmt_text(row.get("segment")),
            "rate": title,
            "value": row.get(field),
            "label": fmt_percent(row.get(field)),
        }
        for row in rows
        for field, title, _ in RATES
        if row.get(field) is not None
    ]
    if not data:
        return charts.placeholder("No carts in any segment in this period")
    chart = charts.grouped_bar_chart(
        data,
        "segment",
        "rate",
        "value",
        series_order=[title for _, title, _ in RATES],
        colors=[color for _, _, color in RATES],
        category_title=None,
        value_title="Share of the segment's carts",
        value_axis=alt.Axis(format=".0%", tickCount=5),
        label="label",
        fraction=True,
    )
    return charts.to_svg(chart)


def time_to_order_chart(rows: Rows) -> str:
    """Draw converted carts per time-to-order bucket, in the buckets' fixed order."""
    counts = {str(row.get("bucket")): _count(row.get("carts")) for row in rows}
    if not any(counts.values()):
        return charts.placeholder("No converted cart was linked to an order in this period")
    order = list(HIST_BUCKETS) + [bucket for bucket in counts if bucket not in HIST_BUCKETS]
    data = [
        {
            "bucket": HIST_BUCKETS.get(bucket, bucket),
            "carts": counts.get(bucket, 0),
            "label": fmt_number(counts.get(bucket, 0)),
        }
        for bucket in order
    ]
    chart = charts.histogram(
        data,
        "bucket",
        "carts",
        order=[HIST_BUCKETS.get(bucket, bucket) for bucket in order],
        bucket_title="Time from cart to order",
        count_title="Converted carts",
        label="label",
    )
    return charts.to_svg(chart)


def _sku_label(row: Mapping[str, Any]) -> str:
    name, product = row.get("name"), fmt_text(row.get("product_id"))
    return f"{fmt_text(name)} ({product})" if name not in (None, "") else product


def _count(value: object) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0
