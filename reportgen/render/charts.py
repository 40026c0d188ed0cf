"""Results → print-sized charts: an Altair theme, chart helpers and inline SVG.

Every chart is rendered by vl-convert to a static SVG string with no script, no
external reference and no XML prolog, so it can be inlined in the HTML report and
stays vector in the PDF. Charts are about 16 cm wide (600 CSS px at 96 dpi).
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import altair as alt
import vl_convert as vlc

from reportgen.render.converter import ChartConverter, ConverterGoneError
from reportgen.render.formatters import CURRENCY_SYMBOLS, fmt_day_span

FONT_DIR = Path(__file__).parent / "assets" / "fonts"
FONT = "DejaVu Sans"

WIDTH = 600
"""Chart width in CSS px, padding included: 600 px at 96 dpi is 15.9 cm."""

INK = "#1f2933"
MUTED = "#616e7c"
RULE = "#9aa5b1"
GRID = "#e4e7eb"
ACCENT = "#1f4e79"
GOOD = "#2f7d5b"
BAD = "#b5482f"
NEUTRAL = "#8fa3b8"
FAINT = "#cfd5dc"
SERIES = (ACCENT, "#d08c2e", GOOD, BAD, NEUTRAL, "#6c5b7b")

THEME: dict[str, Any] = {
    "config": {
        "font": FONT,
        "background": "white",
        "padding": 4,
        "view": {"stroke": None},
        "axis": {
            "labelFont": FONT,
            "titleFont": FONT,
            "labelFontSize": 10,
            "titleFontSize": 10,
            "titleFontWeight": "normal",
            "labelColor": MUTED,
            "titleColor": INK,
            "domainColor": RULE,
            "tickColor": RULE,
            "gridColor": GRID,
            "labelLimit": 230,
        },
        "axisBand": {"grid": False, "tickSize": 0, "labelPadding": 6},
        "legend": {
            "labelFont": FONT,
            "titleFont": FONT,
            "labelFontSize": 10,
            "titleFontSize": 10,
            "labelColor": INK,
            "orient": "top",
            "direction": "horizontal",
            "symbolType": "square",
            "title": None,
        },
        "text": {"font": FONT, "fontSize": 9, "color": INK},
        "bar": {"color": ACCENT},
        "line": {"color": INK, "strokeWidth": 2},
        "point": {"color": INK, "filled": True, "size": 30},
        "range": {"category": list(SERIES)},
    }
}
"""Sober print theme: DejaVu Sans, muted axes, no chart border."""


@alt.theme.register("reportgen", enable=False)
def reportgen_theme() -> alt.theme.ThemeConfig:
    """Return the report theme, for anyone drawing extra charts with ``alt.theme.enable``."""
    return copy.deepcopy(THEME)  # type: ignore[return-value]


_fonts_registered = False


def register_fonts() -> None:
    """Make the shipped DejaVu fonts available to vl-convert (once per process)."""
    global _fonts_registered
    if not _fonts_registered:
        vlc.register_font_directory(str(FONT_DIR))
        _fonts_registered = True


def render_all(jobs: Mapping[str, Callable[[], str | None]]) -> dict[str, str]:
    """Run chart builders side by side: while one waits for its SVG from the converter
    process (``converting``), the others build their specs.

    A builder returning None draws nothing (a single bar, see ``too_few``): its name is
    left out, and the section shows its table alone.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        results = {name: future.result() for name, future in futures.items()}
    return {name: svg for name, svg in results.items() if svg}


VALIDATE_SPECS = False
"""Whether ``to_svg`` checks each spec against the Vega-Lite JSON schema. The check holds
the GIL for 70-150 ms a chart (a second or more of a report's chart stage) and changes
nothing in the output; the tests turn it on (tests/render/test_chart_rules.py)."""


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render an Altair chart with the report theme to an inlinable SVG string."""
    spec = chart.to_dict(validate=VALIDATE_SPECS)
    spec["config"] = _merged(THEME["config"], spec.get("config", {}))
    return clean_svg(_vega_lite_to_svg(xml_safe(spec)))


_converter: ChartConverter | None = None
"""The converter process of the ``converting()`` block in progress, if any."""


@contextmanager
def converting() -> Iterator[None]:
    """Draw the block's charts in a converter process (``reportgen.render.converter``),
    beside the Python that builds them: a build's chart stage on two cores."""
    global _converter
    try:
        converter = ChartConverter(FONT_DIR)
    except OSError:  # no process to be had (a sandbox may forbid one): drawn here
        yield
        return
    _converter = converter
    try:
        yield
    finally:
        _converter = None
        converter.close()


def _vega_lite_to_svg(spec: dict[str, Any]) -> str:
    converter = _converter
    if converter is not None:
        try:
            return converter.convert(spec)
        except ConverterGoneError:
            pass  # the process died (killed, out of memory): this chart is drawn here
    register_fonts()
    return vlc.vegalite_to_svg(spec)


NON_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot hold: vl-convert aborts the whole process on one in a label."""
MAX_TEXT = 300
"""Longest string a chart is given. Labels are cut to ``labelLimit`` (230 px, about 40
characters) anyway, and vl-convert measures the whole text to cut it: seven 10 KB product
names took a minute of chart rendering."""


def xml_safe(value: Any) -> Any:
    """Return a chart spec whose every string is XML text (others become U+FFFD) of at most
    ``MAX_TEXT`` characters."""
    if isinstance(value, str):
        text = NON_XML.sub("\ufffd", value)
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    if isinstance(value, dict):
        return {key: xml_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [xml_safe(item) for item in value]
    return value


_TAG = re.compile(r"""<(?:[^"'>]|"[^"]*"|'[^']*')*>""")
"""One markup tag, quoted attribute values (which may hold ``>``) included."""
_LINKS = ("href", "src")
_ACTIVE = ("script", "foreignobject", "iframe", "object", "embed")


def clean_svg(svg: str) -> str:
    """Strip the XML prolog, give ids a per-chart prefix and refuse active content.

    Several charts share one HTML page, and vl-convert numbers clip paths and
    gradients from 1 in every chart: the prefix keeps ``url(#clip1)`` pointing into
    its own chart. Ids are rewritten inside tags only and the check reads elements and
    attributes, never text: a product named ``<img src="x">`` is a label, not a link.
    """
    svg = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"^\s*<!DOCTYPE[^>]*>\s*", "", svg).strip()
    prefix = "c" + hashlib.sha1(svg.encode("utf-8")).hexdigest()[:8] + "-"

    def prefixed(tag: re.Match[str]) -> str:
        text = re.sub(r'(?<=\s)id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', tag[0])
        text = re.sub(r'(?<=\s)([\w:-]+)="url\(#', rf'\1="url(#{prefix}', text)
        return re.sub(r'(?<=\s)((?:xlink:)?href)="#', rf'\1="#{prefix}', text)

    svg = _TAG.sub(prefixed, svg)
    problem = active_content(svg)
    if problem:
        raise ValueError(f"chart SVG {problem}")
    return svg


def active_content(svg: str) -> str | None:
    """Say what in an SVG could run or fetch something, or None when nothing can.

    Refused: script, foreignObject and embedding elements; ``on*`` handlers; href, src
    or xlink:href other than a fragment (``#clip1``); CSS ``url()``/``@import`` outside
    the document.
    """
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError as exc:
        return f"is not well-formed XML ({exc})"
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1].lower()
        if tag in _ACTIVE:
            return f"contains a <{tag}> element"
        if tag == "style" and _external_css(element.text or ""):
            return "has a stylesheet that refers to an external resource"
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return f"has an event handler attribute {local!r}"
            if local in _LINKS and not value.strip().startswith("#"):
                return f"refers to an external resource ({local}={value[:80]!r})"
            if local == "style" and _external_css(value):
                return "has a style that refers to an external resource"
    return None


def _external_css(css: str) -> bool:
    return bool(re.search(r"@import|url\(\s*['\"]?(?!#)", css, re.IGNORECASE))


def placeholder(message: str, height: int = 90) -> str:
    """Return a quiet SVG box saying why there is no chart."""
    text = escape(message)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="placeholder" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{text}">'
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1}" fill="#f7f8f9" '
        f'stroke="{FAINT}" stroke-dasharray="4 3"/>'
        f'<text x="{WIDTH / 2:g}" y="{height / 2 + 4:g}" text-anchor="middle" '
        f'font-family="{FONT}" font-size="11" fill="{MUTED}">{text}</text></svg>'
    )


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated recursively by ``override``."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


MIN_MARKS = 2
"""Bars or points a chart needs: one bar compares nothing, and its table says it all
(named rule ``no-single-bar-chart``)."""


def too_few(rows: Sequence[Any]) -> bool:
    """Say whether ``rows`` are too few to chart (the builder then returns None)."""
    return len(rows) < MIN_MARKS


DOMAIN_SLACK = 1.25
"""A value axis ends at most this far beyond the largest value (named rule ``tight-axis``)."""


def nice_max(largest: float, ticks: int = 5) -> float:
    """Return a round axis end at or above ``largest``, at most ``DOMAIN_SLACK`` times it.

    Vega's own ``nice`` may double a range (5,012 users on an axis to 10,000); this picks
    a 1-2-2.5-5 step for about ``ticks`` ticks and halves it until the end is tight.
    """
    if not (largest > 0 and math.isfinite(largest)):
        return 1.0
    step = 10 ** math.floor(math.log10(largest / ticks))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step * ticks >= largest)
    top = math.ceil(largest / step - 1e-9) * step
    while top > largest * DOMAIN_SLACK:
        step /= 2
        top = math.ceil(largest / step - 1e-9) * step
    return round(top, 12)


def value_scale(values: Sequence[Any], *, fraction: bool = False) -> alt.Scale:
    """Return a zero-based scale ending at ``nice_max`` of the largest value (at most 100%
    for a ``fraction``)."""
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    top = nice_max(max(numbers, default=0))
    if fraction and max(numbers, default=0) <= 1:
        top = min(top, 1.0)
    return alt.Scale(domain=[0, top], nice=False, zero=True)


def _number_expr(prefix: str, compact: bool) -> str:
    """A Vega expression printing ``datum.value`` after ``prefix``: ``904k`` / ``1.2M`` /
    ``3bn`` when ``compact`` (amounts under 1 in full), else in full (``2,500``)."""
    size = "abs(datum.value)"
    full = f"format({size}, ',~r')"
    body = f"(({size} >= 1) ? format({size}, '.3~s') : {full})" if compact else full
    return f"(datum.value < 0 ? '-' : '') + '{prefix}' + replace({body}, 'G', 'bn')"


def money_axis(currency: str, **options: Any) -> alt.Axis:
    """Return a value axis whose ticks are compact money (``$904k``), as the chart labels
    are (named rule ``chart-money``): the tables keep the full value."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    prefix = symbol if symbol else f"{currency.upper()} "
    return alt.Axis(labelExpr=_number_expr(prefix, True), **{"tickCount": 5, **options})


COMPACT_COUNTS = 10_000
"""A count axis reaching this far reads ``20k``; a shorter one ``2,500`` (one style per axis)."""


def count_axis(top: float, **options: Any) -> alt.Axis:
    """Return a value axis of counts ending at ``top``: every tick compact (``5k``,
    ``10k``) from ``COMPACT_COUNTS`` on, every tick in full below it."""
    expr = _number_expr("", top >= COMPACT_COUNTS)
    return alt.Axis(labelExpr=expr, **{"tickCount": 5, **options})


PLOT_WIDTH = 470
"""Room for a level x axis's labels: the print width less the axes on both sides."""
CHAR_WIDTH = 6.2
"""Average width of a 10 px DejaVu Sans character, to foresee labels overprinting."""
LABEL_GAP = 8


def ordinal_axis(
    categories: Sequence[str], plot_width: float = PLOT_WIDTH, **options: Any
) -> alt.Axis:
    """Return an x axis whose labels never overprint (named rule ``no-overprint``).

    Labels stay level; when they do not fit side by side they break at their spaces
    (``Nov`` over ``2026``), and when they still do not fit only every k-th is shown.
    Vega's ``parity`` overlap removal is the last resort for a misjudged width.
    """
    texts = [str(category) for category in categories] or [""]

    def room(parts: Sequence[str]) -> float:
        return max(len(part) for part in parts) * CHAR_WIDTH + LABEL_GAP

    width = room(texts)
    stacked = len(texts) * width > plot_width and all(" " in text for text in texts)
    if stacked:
        width = room([part for text in texts for part in text.split(" ")])
    every = max(1, math.ceil(len(texts) * width / plot_width))
    settings: dict[str, Any] = {"labelAngle": 0, "labelOverlap": "parity", **options}
    if stacked:
        settings["labelExpr"] = "split(datum.label, ' ')"
    if every > 1:
        settings["values"] = texts[::every]
    return alt.Axis(**settings)


PARTIAL_OPACITY = 0.4
"""Bars of a partial bucket are drawn this opaque: the same colour, lighter."""


def trend_grain(period: Mapping[str, Any]) -> str:
    """Return the trend buckets' grain (METRICS.md §2, §8): days for a week or a custom
    window up to 14 days, ISO weeks for a month or up to 92 days, months beyond."""
    kind = period.get("kind")
    if kind == "week":
        return "day"
    if kind == "month":
        return "week"
    first, last = period_days(period)
    days = (last - first).days + 1
    return "day" if days <= 14 else "week" if days <= 92 else "month"


def period_days(period: Mapping[str, Any]) -> tuple[date, date]:
    """Return the first and last day of the half-open period (its end is exclusive)."""
    start = datetime.fromisoformat(str(period.get("start")))
    end = datetime.fromisoformat(str(period.get("end")))
    return start.date(), (end - timedelta(microseconds=1)).date()


def bucket_last_day(first: date, grain: str) -> date:
    """Return the last day of the bucket starting on ``first``."""
    if grain == "day":
        return first
    if grain == "week":
        return first + timedelta(days=6)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)


def partial_buckets(
    starts: Sequence[date], grain: str, period: Mapping[str, Any] | None
) -> dict[int, tuple[date, date]]:
    """Return, for each bucket only partly inside the period, its index and the days of it
    that are (named rule ``partial-buckets``): a week of which the month holds 4 days
    counts 4 days, and must not read as a dip."""
    if not period or not period.get("start") or not period.get("end"):
        return {}
    first_day, last_day = period_days(period)
    found = {}
    for index, start in enumerate(starts):
        end = bucket_last_day(start, grain)
        if start < first_day or end > last_day:
            found[index] = (max(start, first_day), min(end, last_day))
    return found


def partial_note(
    partial: Mapping[int, tuple[date, date]], buckets: int, grain: str, marker: str
) -> str | None:
    """Return the note under a chart naming its partial buckets and the days they count:
    ``First and last weeks are partial (lighter bars): 1-4 Oct and 26-31 Oct only.`` (en dashes)"""
    if not partial:
        return None
    ends = set(partial) <= {0, buckets - 1}
    which = {frozenset({0}): "First", frozenset({buckets - 1}): "Last"}.get(
        frozenset(partial), "First and last" if ends else "Some"
    )
    several = len(partial) > 1
    noun = f"{grain}s are" if several else f"{grain} is"
    marks = marker if several else marker.rstrip("s")
    years = len({day.year for span in partial.values() for day in span}) > 1
    spans = [fmt_day_span(first, last, year=years) for first, last in partial.values()]
    listed = ", ".join(spans[:-1]) + " and " + spans[-1] if several else spans[0]
    return f"{which} {noun} partial ({marks}): {listed} only."


def with_note(chart: alt.TopLevelMixin, note: str | None) -> alt.TopLevelMixin:
    """Print ``note`` in small type under the chart (nothing when there is none)."""
    if not note:
        return chart
    return chart.properties(
        title=alt.TitleParams(
            note,
            orient="bottom",
            anchor="start",
            fontSize=9,
            fontWeight="normal",
            color=MUTED,
            font=FONT,
            offset=6,
        )
    )


TEXT_CHAR_WIDTH = 5.6
"""Average width of a 9 px DejaVu Sans character (the labels by the bars)."""
INSIDE = "inside"
"""Row field saying a bar's label is printed inside its end, white on the bar."""


def _labels_inside(
    rows: Sequence[Mapping[str, Any]], category: str, value: str, label: str, top: float
) -> list[dict[str, Any]]:
    """Return the rows, each marked whether its label goes inside the bar's end.

    The axis ends tight at the longest bar, so its label has no room after it: a label
    that would run past the plot is printed inside the bar instead (when it fits there).
    The plot's width is foreseen from the category labels, as Vega will lay it out.
    """
    longest = max((len(str(row[category])) for row in rows), default=0)
    plot = WIDTH - 16 - min(230, longest * CHAR_WIDTH)
    marked = []
    for row in rows:
        amount = row[value] if isinstance(row[value], int | float) else 0
        end = amount / top * plot if top else 0
        room = len(str(row[label])) * TEXT_CHAR_WIDTH + 8
        marked.append({**row, INSIDE: end + room > plot and end > room})
    return marked


def _end_labels(base: alt.Chart, label: str, dx: int = 4) -> list[alt.Chart]:
    """Return the label layers of horizontal bars: after the bar, or inside its end."""
    outside = base.transform_filter(f"!datum.{INSIDE}").mark_text(
        align="left", dx=dx, baseline="middle"
    )
    inside = base.transform_filter(f"datum.{INSIDE}").mark_text(
        align="right", dx=-dx, baseline="middle", color="white"
    )
    return [layer.encode(text=f"{label}:N") for layer in (outside, inside)]


def _fit(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    """Size a chart to the print width, padding and axes included."""
    return chart.properties(
        width=WIDTH, height=height, autosize=alt.AutoSizeParams(type="fit", contains="padding")
    )


def _data(rows: Sequence[Mapping[str, Any]]) -> alt.Data:
    return alt.Data(values=[dict(row) for row in rows])


def bar_chart(
    rows: Sequence[Mapping[str, Any]],
    category: str,
    value: str,
    *,
    category_title: str | None,
    value_title: str,
    label: str | None = None,
    value_axis: alt.Axis | None = None,
    color: str = ACCENT,
) -> alt.TopLevelMixin:
    """Return horizontal bars in the rows' order, with an optional text label at each end.

    ``label`` names a field holding the already formatted value to print by the bar; the
    axis ends tight at the largest bar, and the labels run on past it (the plot narrows
    to leave them room).
    """
    height = max(60, 18 * len(rows))
    scale = value_scale([row[value] for row in rows])
    if label:
        rows = _labels_inside(rows, category, value, label, scale.domain[1])
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y(f"{category}:N", sort=None, title=category_title),
        x=alt.X(
            f"{value}:Q",
            title=value_title,
            axis=value_axis or count_axis(scale.domain[1]),
            scale=scale,
        ),
    )
    chart = base.mark_bar(color=color, height={"band": 0.7})
    if label:
        chart = alt.layer(chart, *_end_labels(base, label))
    return _fit(chart, height)


def line_chart(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    *,
    x_title: str,
    y_title: str,
    y_format: str = ",.0f",
    color: str = INK,
    height: int = 180,
) -> alt.TopLevelMixin:
    """Return a line with points over an ordinal x (gaps where y is null)."""
    chart = (
        alt.Chart(_data(rows))
        .mark_line(color=color, point=alt.OverlayMarkDef(color=color, filled=True, size=30))
        .encode(
            x=alt.X(
                f"{x}:O",
                sort=None,
                title=x_title,
                axis=ordinal_axis(list(dict.fromkeys(row[x] for row in rows))),
            ),
            y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format, tickCount=5)),
        )
    )
    return _fit(chart, height)


def histogram(
    rows: Sequence[Mapping[str, Any]],
    bucket: str,
    count: str,
    *,
    order: Sequence[str],
    bucket_title: str,
    count_title: str,
    label: str | None = None,
    color: str = ACCENT,
    height: int = 200,
) -> alt.TopLevelMixin:
    """Return vertical bars over pre-binned buckets in a fixed order."""
    scale = value_scale([row[count] for row in rows])
    base = alt.Chart(_data(rows)).encode(
        x=alt.X(f"{bucket}:O", sort=list(order), title=bucket_title, axis=ordinal_axis(order)),
        y=alt.Y(f"{count}:Q", title=count_title, axis=count_axis(scale.domain[1]), scale=scale),
    )
    chart = base.mark_bar(color=color, width={"band": 0.8})
    if label:
        chart = alt.layer(chart, base.mark_text(baseline="bottom", dy=-3).encode(text=f"{label}:N"))
    return _fit(chart, height)


def grouped_bar_chart(
    rows: Sequence[Mapping[str, Any]],
    category: str,
    series: str,
    value: str,
    *,
    series_order: Sequence[str],
    colors: Sequence[str],
    category_title: str | None,
    value_title: str | None,
    value_axis: alt.Axis | None = None,
    label: str | None = None,
    fraction: bool = False,
) -> alt.TopLevelMixin:
    """Return horizontal bars grouped by category, one bar per series (long-format rows).

    ``fraction``: the values are shares, and the axis stops at 100% at the latest.
    """
    categories = list(dict.fromkeys(row[category] for row in rows))
    height = max(70, len(categories) * (14 * len(series_order) + 12))
    scale = value_scale([row[value] for row in rows], fraction=fraction)
    if label:
        rows = _labels_inside(rows, category, value, label, scale.domain[1])
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y(f"{category}:N", sort=categories, title=category_title),
        yOffset=alt.YOffset(f"{series}:N", sort=list(series_order)),
        x=alt.X(
            f"{value}:Q",
            title=value_title,
            scale=scale,
            axis=value_axis or count_axis(scale.domain[1]),
        ),
    )
    bars = base.mark_bar(height={"band": 0.85}).encode(
        color=alt.Color(
            f"{series}:N",
            sort=list(series_order),
            scale=alt.Scale(domain=list(series_order), range=list(colors)),
        )
    )
    chart: alt.TopLevelMixin = bars
    if label:
        chart = alt.layer(bars, *_end_labels(base, label, dx=3))
    return _fit(chart, height)


def stacked_bar_chart(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    series: str,
    value: str,
    *,
    series_order: Sequence[str],
    colors: Sequence[str],
    x_title: str | None,
    y_title: str,
    y_axis: alt.Axis | None = None,
    partial: Collection[str] = (),
    height: int = 220,
) -> alt.Chart:
    """Return vertical bars stacked by series over an ordinal x (long-format rows).

    The x values in ``partial`` (buckets only partly in the period) are drawn lighter.
    """
    labels = list(dict.fromkeys(row[x] for row in rows))
    order_field = f"{series}_order"
    ranks = {name: i for i, name in enumerate(series_order)}
    data = [{**row, order_field: ranks.get(row[series], len(ranks))} for row in rows]
    totals: dict[Any, float] = {}
    for row in rows:
        amount = row[value] if isinstance(row[value], int | float) else 0
        totals[row[x]] = totals.get(row[x], 0) + amount
    scale = value_scale(list(totals.values()))
    encoding: dict[str, Any] = {
        "x": alt.X(f"{x}:O", sort=None, title=x_title, axis=ordinal_axis(labels)),
        "y": alt.Y(
            f"sum({value}):Q",
            title=y_title,
            axis=y_axis or count_axis(scale.domain[1]),
            scale=scale,
        ),
        "color": alt.Color(
            f"{series}:N",
            sort=list(series_order),
            scale=alt.Scale(domain=list(series_order), range=list(colors)),
        ),
        "order": alt.Order(f"{order_field}:Q", sort="ascending"),
    }
    if partial:
        encoding["opacity"] = alt.condition(
            alt.FieldOneOfPredicate(field=x, oneOf=list(partial)),
            alt.value(PARTIAL_OPACITY),
            alt.value(1.0),
        )
    return (
        alt.Chart(_data(data))
        .mark_bar(width={"band": 0.7})
        .encode(**encoding)
        .properties(height=height)
    )


def with_rate_line(
    bars: alt.Chart,
    rows: Sequence[Mapping[str, Any]],
    x: str,
    rate: str,
    *,
    rate_title: str,
    color: str = INK,
    height: int = 220,
) -> alt.TopLevelMixin:
    """Overlay a rate (a fraction, right-hand axis, fitted to the rates) on a bar chart
    sharing its x."""
    line = (
        alt.Chart(_data(rows))
        .mark_line(color=color, point=alt.OverlayMarkDef(color=color, filled=True, size=30))
        .encode(
            x=alt.X(f"{x}:O", sort=None),
            y=alt.Y(
                f"{rate}:Q",
                title=rate_title,
                scale=value_scale([row[rate] for row in rows], fraction=True),
                axis=alt.Axis(format=".0%", orient="right", grid=False, tickCount=5),
            ),
        )
    )
    layered = alt.layer(bars, line).resolve_scale(y="independent")
    return _fit(layered, height)
