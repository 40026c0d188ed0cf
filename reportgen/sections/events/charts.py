"""The event section's charts: metrics.json tables → inline SVG, keyed by table name.

An empty (or all-zero) table gives a placeholder saying so, never an exception.
Every label printed on a chart is formatted with ``reportgen.render.formatters``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import altair as alt

from reportgen.render import charts
from reportgen.render.formatters import (
    CURRENCY_SYMBOLS,
    fmt_money,
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

NO_EVENTS = "No events in this period"

PANEL_HEIGHT = 52
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

    jobs: dict[str, Callable[[], str]] = {
        "events.funnel": lambda: funnel_chart(rows("events.funnel")),
        "events.top_products": lambda: revenue_chart(
            rows("events.top_products"), text_of("product_id"), currency
        ),
        "events.top_brands": lambda: revenue_chart(
            rows("events.top_brands"), text_of("brand"), currency
        ),
        "events.top_categories": lambda: revenue_chart(
            rows("events.top_categories"), text_of("category_code"), currency
        ),
        "events.by_hour": lambda: time_chart(
            rows("events.by_hour"), _hour_label, "Hour of day (local time)", currency
        ),
        "events.by_weekday": lambda: time_chart(
            rows("events.by_weekday"), weekday_name, None, currency
        ),
        "events.by_month": lambda: time_chart(
            rows("events.by_month"), text_of("month"), None, currency
        ),
        "events.user_segments": lambda: segments_chart(rows("events.user_segments")),
        "events.abandoned_brands": lambda: abandoned_chart(
            _top(metrics, rows("events.abandoned_brands")), text_of("brand"), currency
        ),
        "events.abandoned_products": lambda: abandoned_chart(
            _top(metrics, rows("events.abandoned_products")), text_of("product_id"), currency
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
        headroom=1.8,
    )
    return charts.to_svg(chart.properties(height=FUNNEL_BAR_HEIGHT * len(data)))


def revenue_chart(rows: Rows, label_of: Callable[[Mapping[str, Any]], str], currency: str) -> str:
    """Draw purchase revenue per row (already ordered and cut to top_n), largest first."""
    if not rows:
        return charts.placeholder("No purchases in this period")
    data = [
        {
            "item": label_of(row),
            "revenue": _count(row.get("revenue")),
            "label": f"{fmt_money(row.get('revenue'), currency, 0)}"
            f"  ({fmt_number(row.get('purchases'))} purchases)",
        }
        for row in rows
    ]
    chart = charts.bar_chart(
        data,
        "item",
        "revenue",
        category_title=None,
        value_title=f"Purchase revenue ({_symbol(currency)})",
        label="label",
        headroom=1.6,
    )
    return charts.to_svg(chart)


def time_chart(
    rows: Rows,
    label_of: Callable[[Mapping[str, Any]], str],
    x_title: str | None,
    currency: str,
) -> str:
    """Draw views, add-to-carts, purchases and revenue as strips of bars sharing one x axis.

    Each measure keeps its own scale: views outnumber purchases a hundredfold, and one
    shared axis would flatten every bar but the views.
    """
    if not any(_count(row.get(field)) for row in rows for field, *_ in _measures(currency)):
        return charts.placeholder(NO_EVENTS)
    labels = [label_of(row) for row in rows]
    measures = _measures(currency)
    width = min(PANEL_WIDTH, PANEL_WIDTH_PER_BAR * (len(rows) + 1))
    panels = []
    for number, (field, title, color, value_format) in enumerate(measures, start=1):
        last = number == len(measures)
        data = [
            {"x": label, "value": _count(row.get(field))}
            for label, row in zip(labels, rows, strict=True)
        ]
        panels.append(
            alt.Chart(alt.Data(values=data))
            .mark_bar(color=color, width={"band": 0.75})
            .encode(
                x=alt.X(
                    "x:O",
                    sort=labels,
                    title=x_title if last else None,
                    axis=alt.Axis(labels=last, ticks=last, labelAngle=0),
                ),
                y=alt.Y(
                    "value:Q",
                    title=title,
                    axis=alt.Axis(
                        format=value_format,
                        tickCount=3,
                        titleAngle=0,
                        titleAlign="right",
                        titleBaseline="middle",
                        titleX=-48,
                    ),
                ),
            )
            .properties(width=width, height=PANEL_HEIGHT)
        )
    return charts.to_svg(alt.vconcat(*panels, spacing=6))


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
        headroom=1.4,
    )
    return charts.to_svg(chart)


def abandoned_chart(rows: Rows, label_of: Callable[[Mapping[str, Any]], str], currency: str) -> str:
    """Draw the value abandoned users left in their carts per row, largest first."""
    if not rows:
        return charts.placeholder("No abandoned carts in this period")
    data = [
        {
            "item": label_of(row),
            "value": _count(row.get("value")),
            "label": fmt_money(row.get("value"), currency, 0),
        }
        for row in rows
    ]
    chart = charts.bar_chart(
        data,
        "item",
        "value",
        category_title=None,
        value_title=f"Value left in carts ({_symbol(currency)})",
        label="label",
        color=charts.BAD,
        headroom=1.25,
    )
    return charts.to_svg(chart)


def _measures(currency: str) -> tuple[tuple[str, str, str, str], ...]:
    """(field, axis title, colour, axis format) of the strips of a time chart."""
    return (
        ("views", "Views", charts.ACCENT, "~s"),
        ("carts", "Add to carts", charts.SERIES[1], "~s"),
        ("purchases", "Purchases", charts.GOOD, "~s"),
        ("revenue", f"Revenue ({_symbol(currency)})", charts.INK, "~s"),
    )


def _top(metrics: Mapping[str, Any], rows: Rows) -> Rows:
    """Return the first ``rules.top_n`` rows: the tables that hold every row are cut here."""
    top_n = (metrics.get("rules") or {}).get("top_n")
    return rows[: top_n if isinstance(top_n, int) and top_n > 0 else 10]


def _hour_label(row: Mapping[str, Any]) -> str:
    hour = row.get("hour")
    return f"{hour:02d}" if isinstance(hour, int) else fmt_text(hour)


def _symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())


def _count(value: object) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0
