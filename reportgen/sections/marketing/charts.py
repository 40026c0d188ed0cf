"""The marketing section's charts: metrics.json tables → inline SVG, keyed by chart name.

An empty table gives a placeholder saying so, never an exception. Every label printed on
a chart is formatted with ``reportgen.render.formatters``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

import altair as alt

from reportgen.render import charts
from reportgen.render.formatters import fmt_money_short, fmt_month, fmt_number, fmt_percent
from reportgen.report import reading as read

Rows = Sequence[Mapping[str, Any]]

HEATMAP_COHORTS = 12
"""The heatmap shows the most recent cohorts (metrics.json and the CSV hold them all)."""
SPEND_CHART_CAMPAIGNS = 20
"""Campaigns drawn in the spend and revenue chart, in the ranking's order."""
TREND_RATES = (
    ("repeat_purchase_rate", "Repeat purchase rate", charts.ACCENT),
    ("retention_rate", "Retention vs the month before", "#d08c2e"),
)
REVENUE_SPLIT = (
    ("discount_revenue", "With a discount code", "#d08c2e"),
    ("other_revenue", "Without", charts.NEUTRAL),
)


def build_charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    """Return every marketing chart as inline SVG, keyed by chart name."""
    from reportgen.sections.marketing.view import ranked_campaigns

    rules = read.mapping(metrics.get("rules"))
    period = read.mapping(metrics.get("period"))
    jobs: dict[str, Callable[[], str | None]] = {
        "marketing.by_month": lambda: trend_chart(read.rows(metrics, "marketing.by_month"), period),
        "marketing.cohorts": lambda: cohort_heatmap(read.rows(metrics, "marketing.cohorts")),
        "marketing.discount_by_month": lambda: discount_chart(
            read.rows(metrics, "marketing.by_month"), currency, period
        ),
    }
    if "marketing.campaigns" in read.mapping(metrics.get("tables")):
        ranked = ranked_campaigns(
            read.rows(metrics, "marketing.campaigns"), read.number(rules.get("campaign_min_clicks"))
        )
        jobs["marketing.campaigns"] = lambda: spend_chart(ranked, currency)
    return charts.render_all(jobs)


def month_label(month: object) -> str:
    """Return ``Nov 2026`` for ``2026-11`` (the text itself when it is not a month)."""
    return fmt_month(month)


def partial_months(rows: Rows, period: Mapping[str, Any]) -> dict[int, tuple[date, date]]:
    """Return the months of ``by_month`` the data stops inside: only the last can be, when
    the period ends before its month does (named rule ``by-month-window``: earlier months
    are whole calendar months)."""
    if not rows or not period.get("end"):
        return {}
    try:
        start = date.fromisoformat(f"{rows[-1].get('month')}-01")
    except ValueError:
        return {}
    window = {"start": start.isoformat(), "end": period["end"]}
    found = charts.partial_buckets([start], "month", window)
    return {len(rows) - 1: found[0]} if found else {}


def trend_chart(rows: Rows, period: Mapping[str, Any] | None = None) -> str | None:
    """Draw the repeat purchase and retention rates month by month; a month the period
    ends inside has open dots, named under the chart."""
    data = [
        {"month": month_label(row.get("month")), "rate": title, "value": row.get(field)}
        for row in rows
        for field, title, _ in TREND_RATES
        if read.number(row.get(field)) is not None
    ]
    if not data:
        return charts.placeholder("No orders in these months")
    order = [month_label(row.get("month")) for row in rows]
    if charts.too_few(order):
        return None
    partial = partial_months(rows, period or {})
    titles = [title for _, title, _ in TREND_RATES]
    color = alt.Color(
        "rate:N",
        sort=titles,
        scale=alt.Scale(domain=titles, range=[color for _, _, color in TREND_RATES]),
    )
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X("month:O", sort=order, title=None, axis=charts.ordinal_axis(order)),
        y=alt.Y(
            "value:Q",
            title="Share of the month's customers",
            scale=charts.value_scale([d["value"] for d in data], fraction=True),
            axis=alt.Axis(format=".0%", tickCount=5),
        ),
        color=color,
    )
    lighter = alt.FieldOneOfPredicate(field="month", oneOf=[order[i] for i in partial])
    whole = base.mark_point(filled=True, size=30, opacity=1)
    dots = [whole.transform_filter(~lighter) if partial else whole]
    if partial:
        open_dots = base.mark_point(filled=False, fill="white", size=34, opacity=1, strokeWidth=1.5)
        dots.append(open_dots.transform_filter(lighter))
    chart = alt.layer(base.mark_line(), *dots).properties(
        width=charts.WIDTH,
        height=200,
        autosize=alt.AutoSizeParams(type="fit", contains="padding"),
    )
    note = charts.partial_note(partial, len(order), "month", "open dots")
    return charts.to_svg(charts.with_note(chart, note))


def cohort_heatmap(rows: Rows) -> str:
    """Draw the share of each first-order cohort ordering N months later, cells labelled."""
    cohorts = sorted({str(row.get("cohort")) for row in rows if row.get("cohort")})
    shown = set(cohorts[-HEATMAP_COHORTS:])
    sizes = {str(row.get("cohort")): row.get("customers") for row in rows}
    data = [
        {
            "cohort": f"{month_label(row.get('cohort'))} ({fmt_number(sizes.get(row['cohort']))})",
            "months": int(row.get("months_since") or 0),
            "share": row.get("share"),
            "label": fmt_percent(row.get("share"), 0),
        }
        for row in rows
        if str(row.get("cohort")) in shown and read.number(row.get("share")) is not None
    ]
    if not data:
        return charts.placeholder("No customer ordered before the period end")
    order = [
        f"{month_label(cohort)} ({fmt_number(sizes.get(cohort))})"
        for cohort in cohorts
        if cohort in shown
    ]
    # Month 0 is 100% by definition: the colour scale spans the later months, clamped.
    later = [d["share"] for d in data if d["months"] > 0]
    top = max(later, default=1.0) or 1.0
    dark = top * 0.6
    base = alt.Chart(alt.Data(values=data)).encode(
        x=alt.X(
            "months:O",
            title="Months since the first order",
            sort=list(range(7)),
            axis=alt.Axis(labelAngle=0, orient="top"),
        ),
        y=alt.Y("cohort:O", sort=order, title="First order (customers)"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.Color(
            "share:Q",
            scale=alt.Scale(domain=[0, top], range=["#eef3f8", charts.ACCENT], clamp=True),
            legend=None,
        )
    )
    labels = base.mark_text(fontSize=9).encode(
        text="label:N",
        color=alt.condition(f"datum.share >= {dark}", alt.value("white"), alt.value(charts.INK)),
    )
    chart = alt.layer(cells, labels).properties(
        width=charts.WIDTH,
        height=max(60, 22 * len(order)),
        autosize=alt.AutoSizeParams(type="fit", contains="padding"),
    )
    return charts.to_svg(chart)


def spend_chart(rows: Rows, currency: str) -> str:
    """Compare each campaign's cost with its attributed revenue, in the ranking's order."""
    data = []
    for row in rows[:SPEND_CHART_CAMPAIGNS]:
        for field, title in (("cost", "Cost"), ("revenue", "Attributed revenue")):
            value = read.number(row.get(field))
            if value is not None:
                data.append(
                    {
                        "campaign": row["label"],
                        "measure": title,
                        "value": value,
                        "text": fmt_money_short(value, currency),
                    }
                )
    if not data or not any(d["value"] for d in data):
        return charts.placeholder("No campaign spend or attributed revenue in this period")
    chart = charts.grouped_bar_chart(
        data,
        "campaign",
        "measure",
        "value",
        series_order=["Cost", "Attributed revenue"],
        colors=[charts.BAD, charts.GOOD],
        category_title=None,
        value_title=None,
        value_axis=charts.money_axis(currency),
        label="text",
    )
    return charts.to_svg(chart)


def discount_chart(
    rows: Rows, currency: str, period: Mapping[str, Any] | None = None
) -> str | None:
    """Stack revenue with and without a discount code per month; the line is the share.

    A month the period ends inside is lighter, named under the chart.
    """
    if not any(read.number(row.get("discount_revenue")) is not None for row in rows):
        return charts.placeholder("No discount codes or order totals in the data")
    if not any(read.number(row.get("revenue")) for row in rows):
        return charts.placeholder("No order revenue in these months")
    if charts.too_few(rows):
        return None
    partial = partial_months(rows, period or {})
    labels = [month_label(row.get("month")) for row in rows]
    stacked = [
        {"month": label, "kind": title, "revenue": read.number(row.get(field)) or 0}
        for label, row in zip(labels, rows, strict=True)
        for field, title, _ in REVENUE_SPLIT
    ]
    shares = [
        {"month": label, "share": row.get("discount_revenue_share")}
        for label, row in zip(labels, rows, strict=True)
    ]
    bars = charts.stacked_bar_chart(
        stacked,
        "month",
        "kind",
        "revenue",
        series_order=[title for _, title, _ in REVENUE_SPLIT],
        colors=[color for _, _, color in REVENUE_SPLIT],
        x_title=None,
        y_title="Revenue",
        y_axis=charts.money_axis(currency),
        partial=[labels[index] for index in partial],
    )
    chart = charts.with_rate_line(
        bars, shares, "month", "share", rate_title="Share with a discount code"
    )
    note = charts.partial_note(partial, len(labels), "month", "lighter bars")
    return charts.to_svg(charts.with_note(chart, note))
