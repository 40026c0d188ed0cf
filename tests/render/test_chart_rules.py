"""Charts a director can read (issue "The director's page", item 8): partial buckets
marked, labels that never overprint, no one-bar charts, tight axes, compact money, one
duration unit per figure, periods named as people say them.

Each test reads the rendered SVG (or the spec vl-convert is given) of a hand-made table.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from typing import Any

import pytest

from reportgen.render import charts
from reportgen.render.formatters import (
    duration_unit,
    fmt_day_span,
    fmt_duration,
    fmt_period_label,
)
from reportgen.sections.carts.charts import build_charts as cart_charts
from reportgen.sections.carts.charts import funnel_chart
from reportgen.sections.carts.charts import value_chart as cart_value_chart
from reportgen.sections.events.charts import build_charts as event_charts
from reportgen.sections.marketing.charts import build_charts as marketing_charts
from reportgen.sections.marketing.charts import discount_chart, trend_chart

OCTOBER = {"kind": "month", "start": "2026-10-01T00:00:00", "end": "2026-11-01T00:00:00"}
WEEK_48 = {"kind": "week", "start": "2026-11-23T00:00:00", "end": "2026-11-30T00:00:00"}
TWELVE_MONTHS = {"kind": "custom", "start": "2025-12-01T00:00:00", "end": "2026-12-01T00:00:00"}


def trend_rows(starts: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "bucket_start": start,
            "carts_total": 100 + 10 * i,
            "converted": 30 + i,
            "abandoned": 60,
            "open": 10 + 9 * i,
            "other": 0,
            "conversion_rate": (30 + i) / (100 + 10 * i),
        }
        for i, start in enumerate(starts)
    ]


OCTOBER_WEEKS = ["2026-09-28", "2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]
MONTHS_13 = [f"{2025 + (m + 11) // 12}-{(m + 11) % 12 + 1:02d}-01" for m in range(13)]


def axis_labels(svg: str) -> list[str]:
    """Return the texts of the axis labels an SVG shows (a two-line label counts once)."""
    groups = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S)
    return [
        " ".join(re.findall(r">([^<]+)</tspan>", text) or re.findall(r">([^<]*)<", text))
        for group in groups
        for text in re.findall(r"<text[^>]*>.*?</text>", group, re.S)
    ]


# Partial buckets


def test_partial_buckets_of_a_month_are_its_first_and_last_weeks():
    starts = [date.fromisoformat(day) for day in OCTOBER_WEEKS]
    found = charts.partial_buckets(starts, "week", OCTOBER)
    assert found == {
        0: (date(2026, 10, 1), date(2026, 10, 4)),
        4: (date(2026, 10, 26), date(2026, 10, 31)),
    }
    assert charts.partial_buckets(starts[1:4], "week", OCTOBER) == {}


def test_no_bucket_of_a_whole_week_or_of_whole_months_is_partial():
    days = [date(2026, 11, 23 + i) for i in range(7)]
    assert charts.partial_buckets(days, "day", WEEK_48) == {}
    months = [date.fromisoformat(day) for day in MONTHS_13[:12]]
    assert charts.trend_grain(TWELVE_MONTHS) == "month"
    assert charts.partial_buckets(months, "month", TWELVE_MONTHS) == {}


def test_partial_months_of_a_custom_window_are_named_with_their_days():
    window = {"kind": "custom", "start": "2026-01-15T00:00:00", "end": "2026-06-10T00:00:00"}
    months = [date(2026, m, 1) for m in range(1, 7)]
    found = charts.partial_buckets(months, "month", window)
    assert found == {
        0: (date(2026, 1, 15), date(2026, 1, 31)),
        5: (date(2026, 6, 1), date(2026, 6, 9)),
    }
    note = charts.partial_note(found, 6, "month", "lighter bars")
    assert (
        note
        == "First and last months are partial (lighter bars): 15\u201331 Jan and 1\u20139 Jun only."
    )


def test_the_month_trend_marks_its_partial_weeks_lighter_with_a_note():
    svg = funnel_chart(trend_rows(OCTOBER_WEEKS), OCTOBER)
    assert svg is not None
    assert (
        "First and last weeks are partial (lighter bars): 1\u20134 Oct and 26\u201331 Oct only."
        in svg
    )
    lighter = re.findall(r'aria-label="[^"]*bucket: (\d+ \w+)[^"]*"[^>]*opacity="0.4"', svg)
    assert set(lighter) == {"28 Sep", "26 Oct"}


def test_a_week_trend_has_no_partial_note():
    svg = funnel_chart(trend_rows([f"2026-11-{23 + i}" for i in range(7)]), WEEK_48)
    assert svg is not None
    assert "partial" not in svg
    assert 'opacity="0.4"' not in svg


def test_a_period_ending_mid_month_marks_the_last_month_of_the_marketing_charts():
    rows = [
        {
            "month": f"2026-{m:02d}",
            "repeat_purchase_rate": 0.15,
            "retention_rate": 0.25,
            "revenue": 1000.0 * m,
            "discount_revenue": 250.0 * m,
            "other_revenue": 750.0 * m,
            "discount_revenue_share": 0.25,
        }
        for m in range(1, 12)
    ]
    svg = discount_chart(rows, "USD", WEEK_48)
    assert svg is not None
    assert "Last month is partial (lighter bar): 1\u201329 Nov only." in svg
    line = trend_chart(rows, WEEK_48)
    assert line is not None
    assert "Last month is partial (open dot): 1\u201329 Nov only." in line
    dots = re.findall(r'<path[^>]*aria-roledescription="point"[^>]*>', line)
    assert len(dots) == 22  # every month's two rates have a dot
    assert [dot for dot in dots if 'fill="white"' in dot and "Nov 2026" not in dot] == []
    assert len([dot for dot in dots if 'fill="white"' in dot]) == 2  # November's are open


# Labels never overprint


def x_labels(svg: str) -> list[tuple[float, list[str]]]:
    """Return the visible labels of the first (x) axis: their centre and their lines."""
    group = re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S)[0]
    found = []
    for attrs, body in re.findall(r"<text([^>]*)>(.*?)</text>", group, re.S):
        if 'opacity="0"' in attrs:
            continue
        x = float(re.search(r"translate\(([-\d.]+),", attrs).group(1))
        found.append((x, re.findall(r"<tspan[^>]*>([^<]*)</tspan>", body) or [body]))
    return found


def test_thirteen_monthly_buckets_show_level_labels_that_do_not_overprint():
    svg = funnel_chart(trend_rows(MONTHS_13), {**TWELVE_MONTHS, "end": "2027-01-01"})
    assert svg is not None
    labels = x_labels(svg)
    assert 2 <= len(labels) <= 13
    assert labels[0][1] == ["Dec", "2025"]  # a month on two level lines, not "1 Dec 2025"
    for (left, lines), (right, _) in itertools.pairwise(labels):
        assert right - left >= max(map(len, lines)) * charts.CHAR_WIDTH, lines


def test_more_labels_than_room_are_thinned():
    many = [f"W{i:02d}-2026" for i in range(40)]  # no space: they cannot break
    shown = charts.ordinal_axis(many).to_dict()["values"]
    assert shown[0] == many[0]
    assert len(shown) * (len(many[0]) * charts.CHAR_WIDTH + charts.LABEL_GAP) <= charts.PLOT_WIDTH
    assert "values" not in charts.ordinal_axis(many[:3]).to_dict()


# No one-bar charts


def test_a_one_bucket_trend_draws_no_chart():
    assert funnel_chart(trend_rows(["2026-10-01"]), OCTOBER) is None
    assert (
        cart_value_chart([{"abandoned_value": 10.0, "share": 1.0}], lambda r: "A", "P", "USD")
        is None
    )


def test_the_event_month_chart_is_left_out_for_a_single_month():
    row = {"month": "2026-10", "views": 10, "carts": 3, "purchases": 1, "revenue": 50.0}
    metrics = {"period": OCTOBER, "tables": {"events.by_month": [row]}}
    assert "events.by_month" not in event_charts(metrics, "USD")
    metrics["tables"]["events.by_month"] = [row, {**row, "month": "2026-11"}]
    metrics["period"] = {
        "kind": "custom",
        "start": "2026-10-01T00:00:00",
        "end": "2026-12-01T00:00:00",
    }
    whole = event_charts(metrics, "USD")["events.by_month"]
    assert "partial" not in whole
    metrics["period"] = {**metrics["period"], "start": "2026-10-15T00:00:00"}
    svg = event_charts(metrics, "USD")["events.by_month"]
    assert "First month is partial (lighter bar): 15\u201331 Oct only." in svg


# Axes fit the data


@pytest.mark.parametrize("largest", [1, 5012, 57755.15, 0.797, 20998, 101, 2.01, 1e9 + 7])
def test_the_axis_end_is_round_and_at_most_a_quarter_beyond_the_data(largest: float):
    top = charts.nice_max(largest)
    assert largest <= top <= largest * charts.DOMAIN_SLACK


def test_bar_charts_are_zero_based_and_end_near_their_largest_bar():
    rows = [
        {"item": "A", "users": 5012, "label": "5,012"},
        {"item": "B", "users": 1518, "label": "1,518"},
    ]
    spec = charts.bar_chart(
        rows, "item", "users", category_title=None, value_title="Users", label="label"
    )
    domain = spec.to_dict()["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert domain[0] == 0
    assert domain[1] <= 1.25 * 5012


def test_rates_stop_at_their_data_not_at_one_hundred_percent():
    svg = funnel_chart(trend_rows(OCTOBER_WEEKS), OCTOBER)
    assert svg is not None
    assert "100%" not in axis_labels(svg)


# Money


def test_money_axis_ticks_and_bar_labels_are_compact():
    rows = [
        {"product_id": "A", "abandoned_value": 57755.15, "share": 0.067},
        {"product_id": "B", "abandoned_value": 36776.0, "share": 0.043},
    ]
    svg = cart_value_chart(rows, lambda r: r["product_id"], "Product", "USD")
    assert svg is not None
    assert "$57.8k  (6.7%)" in svg
    ticks = axis_labels(svg)
    assert "$60k" in ticks
    assert "$20k" in ticks
    assert not any(re.search(r"\d,\d{3}", tick) for tick in ticks)


# Durations and periods


def test_one_duration_unit_per_figure():
    values = [19.0 / 24, 1.24, 11.7 / 24]  # 19.0 h, 1.24 days, 11.7 h
    unit = duration_unit(values)
    assert unit == "days"
    assert [fmt_duration(v, unit) for v in values] == ["0.79 days", "1.24 days", "0.49 days"]
    assert duration_unit([23.1 / 24, 0.5]) == "h"
    assert fmt_duration(0.5, "h") == "12.0 h"
    assert duration_unit([19 / 1440, 0.001]) == "min"


def test_custom_periods_are_named_by_their_days_not_the_half_open_key():
    assert fmt_period_label("2025-12-01..2026-12-01") == "1 Dec 2025 \u2013 30 Nov 2026"
    assert fmt_period_label("2026-10") == "October 2026"
    assert fmt_period_label("2026-W48") == "Week 48, 2026"
    assert fmt_day_span(date(2026, 11, 28), date(2026, 12, 3)) == "28 Nov\u20133 Dec"


def test_one_count_axis_reads_either_compact_or_in_full():
    """A strip reaching 10k read "10k" over "5,000" before: one style per axis."""
    day = {"views": 58000, "carts": 21000, "purchases": 8400, "revenue": 650000.0}
    rows = [{"weekday": d, **{k: v * (0.8 + d / 20) for k, v in day.items()}} for d in range(7)]
    svg = event_charts({"tables": {"events.by_weekday": rows}}, "USD")["events.by_weekday"]
    labels = axis_labels(svg)
    assert "5k" in labels
    assert not any(re.fullmatch(r"\d{1,3}(,\d{3})+", label) for label in labels)


# The schema check to_svg skips for speed is made here, on every kind of chart


@pytest.fixture
def validated(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Turn the schema check on and keep every spec ``to_svg`` is given."""
    monkeypatch.setattr(charts, "VALIDATE_SPECS", True)
    specs: list[dict[str, Any]] = []
    original = charts.xml_safe

    def keep(spec):
        specs.append(spec)
        return original(spec)

    monkeypatch.setattr(charts, "xml_safe", keep)
    return specs


def test_the_chart_specs_are_valid_vega_lite(validated: list[dict[str, Any]]):
    months = [
        {
            "month": f"2026-{m:02d}",
            "repeat_purchase_rate": 0.15,
            "retention_rate": 0.25,
            "revenue": 1000.0 * m,
            "discount_revenue": 250.0 * m,
            "other_revenue": 750.0 * m,
            "discount_revenue_share": 0.25,
            "views": 100 * m,
            "carts": 30 * m,
            "purchases": 10 * m,
        }
        for m in range(1, 12)
    ]
    tables = {
        "carts.funnel_trend": trend_rows(OCTOBER_WEEKS),
        "carts.top_abandoned_skus": [
            {"product_id": i, "name": f"P{i}", "abandoned_value": 100.0 * i, "share": 0.1}
            for i in range(1, 4)
        ],
        "carts.time_to_order_hist": [{"bucket": "<1d", "carts": 3}, {"bucket": "1d", "carts": 1}],
        "events.by_month": months,
        "marketing.by_month": months,
    }
    svgs = {
        **cart_charts({"period": OCTOBER, "tables": tables}, "USD"),
        **event_charts({"period": WEEK_48, "tables": tables}, "USD"),
        **marketing_charts({"period": WEEK_48, "tables": tables}, "USD"),
    }
    assert {"carts.funnel_trend", "events.by_month", "marketing.discount_by_month"} <= set(svgs)
    assert len(validated) >= 6  # the drawn charts went through the schema check


def test_a_duration_card_uses_one_unit_for_its_value_and_the_one_before():
    from reportgen.render.viewparts import card
    from reportgen.sections.carts.kpis import CART_KPIS

    spec = next(s for s in CART_KPIS if s.key == "carts.median_time_to_order_days")
    metrics = {
        "kpis": {
            "carts.median_time_to_order_days": 19 / 24,
            "previous": {"carts.median_time_to_order_days": 1.24},
        },
        "rules": {},
    }
    shown = card(spec, metrics, "USD")
    assert shown["value"] == "0.79 days"
    assert shown["comparison"] == "-0.45 days (-36.2%) vs 1.24 days"


def test_a_duration_change_too_small_for_its_unit_gets_a_decimal():
    from reportgen.render.viewparts import card
    from reportgen.sections.carts.kpis import CART_KPIS

    spec = next(s for s in CART_KPIS if s.key == "carts.median_time_to_order_days")
    metrics = {
        "kpis": {
            "carts.median_time_to_order_days": 17.9 / 1440,
            "previous": {"carts.median_time_to_order_days": 18.0 / 1440},
        },
        "rules": {},
    }
    assert card(spec, metrics, "USD")["comparison"].startswith("-0.1 min (-0.6%) vs 18 min")
