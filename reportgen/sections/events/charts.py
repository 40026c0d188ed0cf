"""The event section's charts: metrics.json tables → inline SVG, keyed by table name.

An empty (or all-zero) table gives a placeholder saying so, never an exception.
Every label printed on a chart is formatted with ``reportgen.render.formatters``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import altair as alt

from reportgen.render import charts
from reportgen.render.formatters import (
    fmt_category,
    fmt_money_short,
    fmt_month,
    fmt_number,
    fmt_percent,
    fmt_text,
)
from reportgen.sections.events.kpis import (
    FUNNEL_STAGES,
    SEGMENT_LABELS,
    STAGE_USERS,
    weekday_name,
)

Rows = Sequence[Mapping[str, Any]]


def _product_name(row: Mapping[str, Any]) -> str:
    """A bar's label: the product's name where the products table gives one (the tables
    beside the chart add its id), else its id."""
    name = row.get("name")
    return (
        name.strip() if isinstance(name, str) and name.strip() else fmt_text(row.get("product_id"))
    )


NO_EVENTS = "No events in this period"

PANEL_HEIGHT = 34
"""Height of one measure's strip in the hour, weekday and month charts (CSS px)."""
PANEL_WIDTH = 500
"""Plot width of those strips: the print width less the room for their axis titles."""
PANEL_WIDTH_PER_BAR = 80
"""With few bars (a month or two), the strips narrow instead of drawing slabs."""
FUNNEL_BAR_HEIGHT = 40
"""Height of each funnel stage's bar row (CSS px): three stages need more than a list."""


def build_charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    """Return every event chart as inline SVG, keyed by the metrics.json table it draws."""
    tables = metrics.get("tables") or {}

    def rows(key: str) -> list[Mapping[str, Any]]:
        found = tables.get(key)
        return [row for row in found if isinstance(row, Mapping)] if isinstance(found, list) else []

    def text_of(field: str) -> Callable[[Mapping[str, Any]], str]:
        return lambda row: fmt_text(row.get(field))

    jobs: dict[str, Callable[[], str | None]] = {
        "events.funnel": lambda: funnel_chart(rows("events.funnel")),
        "events.top_products": lambda: revenue_chart(
            rows("events.top_products"), _product_name, currency
        ),
        "events.top_brands": lambda: revenue_chart(
            rows("events.top_brands"), text_of("brand"), currency
        ),
        "events.top_categories": lambda: revenue_chart(
            rows("events.top_categories"),
            lambda row: fmt_category(row.get("category_code")),
            currency,
        ),
        "events.by_hour": lambda: time_chart(
            rows("events.by_hour"), _hour_label, "Hour of day (local time)", currency
        ),
        "events.by_weekday": lambda: time_chart(
            rows("events.by_weekday"), weekday_name, None, currency
        ),
        "events.by_month": lambda: month_chart(
            rows("events.by_month"), metrics.get("period") or {}, currency
        ),
        "events.user_segments": lambda: segments_chart(rows("events.user_segments")),
        "events.abandoned_brands": lambda: abandoned_chart(
            _top(metrics, rows("events.abandoned_brands")), text_of("brand"), currency
        ),
        "events.abandoned_products": lambda: abandoned_chart(
            _top(metrics, rows("events.abandoned_products")), _product_name, currency
        ),
    }
    return charts.render_all(jobs)


def funnel_chart(rows: Rows) -> str:
    """Draw users at each funnel stage, labelled with the conversion from the stage before."""
    if not any(_count(row.get("users")) for row in rows):
        return charts.placeholder(NO_EVENTS)
    data = []
    for index, row in enumerate(rows):
        stage = str(row.get("stage"))
        users = STAGE_USERS.get(stage, "users")
        label = f"{fmt_number(row.get('users'))} {users}"
        if index > 0:
            before = STAGE_USERS.get(str(rows[index - 1].get("stage")), "the stage before")
            label += f" ({fmt_percent(row.get('conversion_from_previous'))} of {before})"
        data.append(
            {
                "stage": FUNNEL_STAGES.get(stage, stage),
                "users": _count(row.get("users")),
                "label": label,
            }
        )
    chart = charts.bar_chart(
        data,
        "stage",
        "users",
        category_title=None,
        value_title="Users",
        label="label",
    )
    return charts.to_svg(chart.properties(height=FUNNEL_BAR_HEIGHT * len(data)))


def revenue_chart(
    rows: Rows, label_of: Callable[[Mapping[str, Any]], str], currency: str
) -> str | None:
    """Draw purchase revenue per row (already ordered and cut to top_n), largest first."""
    if not rows:
        return charts.placeholder("No purchases in this period")
    if charts.too_few(rows):
        return None
    data = [
        {
            "item": label_of(row),
            "revenue": _count(row.get("revenue")),
            "label": f"{fmt_money_short(row.get('revenue'), currency)}"
            f"  ({fmt_number(row.get('purchases'))} purchases)",
        }
        for row in rows
    ]
    chart = charts.bar_chart(
        data,
        "item",
        "revenue",
        category_title=None,
        value_title="Purchase revenue",
        value_axis=charts.money_axis(currency),
        label="label",
    )
    return charts.to_svg(chart)


def month_chart(rows: Rows, period: Mapping[str, Any], currency: str) -> str | None:
    """Draw the activity strips by calendar month: none for a single month (the table says
    it), and months the period only partly covers lighter, named under the chart."""
    if charts.too_few(rows):
        return None
    starts = [start for start in map(_month_start, rows) if start is not None]
    known = len(starts) == len(rows)  # a month that is not YYYY-MM: mark nothing
    partial = charts.partial_buckets(starts, "month", period) if known else {}
    return time_chart(
        rows,
        lambda row: fmt_month(row.get("month")),
        None,
        currency,
        partial=partial,
        note=charts.partial_note(partial, len(rows), "month", "lighter bars"),
    )


def time_chart(
    rows: Rows,
    label_of: Callable[[Mapping[str, Any]], str],
    x_title: str | None,
    currency: str,
    *,
    partial: Mapping[int, Any] | None = None,
    note: str | None = None,
) -> str:
    """Draw views, add-to-carts, purchases and revenue as strips of bars sharing one x axis.

    Each measure keeps its own scale: views outnumber purchases a hundredfold, and one
    shared axis would flatten every bar but the views. Bars at the ``partial`` indexes
    are lighter.
    """
    if not any(_count(row.get(field)) for row in rows for field, *_ in _measures(currency)):
        return charts.placeholder(NO_EVENTS)
    labels = [label_of(row) for row in rows]
    lighter = [labels[index] for index in partial or {}]
    measures = _measures(currency)
    width = min(PANEL_WIDTH, PANEL_WIDTH_PER_BAR * (len(rows) + 1))
    panels = []
    for number, (field, title, color, money) in enumerate(measures, start=1):
        last = number == len(measures)
        data = [
            {"x": label, "value": _count(row.get(field))}
            for label, row in zip(labels, rows, strict=True)
        ]
        scale = charts.value_scale([d["value"] for d in data])
        axis = (
            charts.money_axis(currency, **STRIP_AXIS)
            if money
            else charts.count_axis(scale.domain[1], **STRIP_AXIS)
        )
        encoding: dict[str, Any] = {
            "x": alt.X(
                "x:O",
                sort=labels,
                title=x_title if last else None,
                axis=charts.ordinal_axis(labels, width, labels=last, ticks=last),
            ),
            "y": alt.Y("value:Q", title=title, scale=scale, axis=axis),
        }
        if lighter:
            encoding["opacity"] = alt.condition(
                alt.FieldOneOfPredicate(field="x", oneOf=lighter),
                alt.value(charts.PARTIAL_OPACITY),
                alt.value(1.0),
            )
        panels.append(
            alt.Chart(alt.Data(values=data))
            .mark_bar(color=color, width={"band": 0.75})
            .encode(**encoding)
            .properties(width=width, height=PANEL_HEIGHT)
        )
    return charts.to_svg(charts.with_note(alt.vconcat(*panels, spacing=6), note))


def segments_chart(rows: Rows) -> str:
    """Draw users per segment, labelled with their share of all users."""
    if not any(_count(row.get("users")) for row in rows):
        return charts.placeholder(NO_EVENTS)
    data = [
        {
            "segment": SEGMENT_LABELS.get(str(row.get("segment")), fmt_text(row.get("segment"))),
            "users": _count(row.get("users")),
            "label": f"{fmt_number(row.get('users'))}  ({fmt_percent(row.get('share'))})",
        }
        for row in rows
    ]
    chart = charts.bar_chart(
        data,
        "segment",
        "users",
        category_title=None,
        value_title="Users",
        label="label",
    )
    return charts.to_svg(chart)


def abandoned_chart(
    rows: Rows, label_of: Callable[[Mapping[str, Any]], str], currency: str
) -> str | None:
    """Draw the value abandoned users left in their carts per row, largest first."""
    if not rows:
        return charts.placeholder("No abandoned carts in this period")
    if charts.too_few(rows):
        return None
    data = [
        {
            "item": label_of(row),
            "value": _count(row.get("value")),
            "label": fmt_money_short(row.get("value"), currency),
        }
        for row in rows
    ]
    chart = charts.bar_chart(
        data,
        "item",
        "value",
        category_title=None,
        value_title="Value left in carts",
        value_axis=charts.money_axis(currency),
        label="label",
        color=charts.BAD,
    )
    return charts.to_svg(chart)


STRIP_AXIS = {
    "tickCount": 3,
    "titleAngle": 0,
    "titleAlign": "right",
    "titleBaseline": "middle",
    "titleX": -48,
}
"""A strip's value axis: three ticks, its title level at the left."""


def _measures(currency: str) -> tuple[tuple[str, str, str, bool], ...]:
    """(field, axis title, colour, whether it is money) of the strips of a time chart."""
    return (
        ("views", "Views", charts.ACCENT, False),
        ("carts", "Add to carts", charts.SERIES[1], False),
        ("purchases", "Purchases", charts.GOOD, False),
        ("revenue", "Revenue", charts.INK, True),
    )


def _month_start(row: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(f"{row.get('month')}-01")
    except ValueError:
        return None


def _top(metrics: Mapping[str, Any], rows: Rows) -> Rows:
    """Return the first ``rules.top_n`` rows: the tables that hold every row are cut here."""
    top_n = (metrics.get("rules") or {}).get("top_n")
    return rows[: top_n if isinstance(top_n, int) and top_n > 0 else 10]


def _hour_label(row: Mapping[str, Any]) -> str:
    hour = row.get("hour")
    return f"{hour:02d}" if isinstance(hour, int) else fmt_text(hour)


def _count(value: object) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0
