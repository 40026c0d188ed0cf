"""Results → print-sized charts: an Altair theme, chart helpers and inline SVG.

Every chart is rendered by vl-convert to a static SVG string with no script, no
external reference and no XML prolog, so it can be inlined in the HTML report and
stays vector in the PDF. Charts are about 16 cm wide (600 CSS px at 96 dpi).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from html import escape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import altair as alt
import vl_convert as vlc

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


def render_all(jobs: Mapping[str, Callable[[], str]]) -> dict[str, str]:
    """Run chart builders side by side: vl-convert renders outside the GIL."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render an Altair chart with the report theme to an inlinable SVG string."""
    register_fonts()
    spec = chart.to_dict()
    spec["config"] = _merged(THEME["config"], spec.get("config", {}))
    return clean_svg(vlc.vegalite_to_svg(xml_safe(spec)))


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


def _fit(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    """Size a chart to the print width, padding and axes included."""
    return chart.properties(
        width=WIDTH, height=height, autosize=alt.AutoSizeParams(type="fit", contains="padding")
    )


def _label_angle(rows: Sequence[Mapping[str, Any]], field: str) -> int:
    """Keep x labels level while they fit; slant them when there are many."""
    return 0 if len({row[field] for row in rows}) <= 12 else -45


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
    value_format: str = ",.0f",
    color: str = ACCENT,
    headroom: float = 1.0,
) -> alt.TopLevelMixin:
    """Return horizontal bars in the rows' order, with an optional text label at each end.

    ``label`` names a field holding the already formatted value to print by the bar;
    ``headroom`` stretches the value axis (1.3 = 30% more) so the labels fit.
    """
    height = max(60, 22 * len(rows))
    largest = max((row[value] or 0 for row in rows), default=0)
    scale = alt.Scale(domainMax=largest * headroom, nice=True) if largest > 0 else alt.Scale()
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y(f"{category}:N", sort=None, title=category_title),
        x=alt.X(
            f"{value}:Q",
            title=value_title,
            axis=alt.Axis(format=value_format, tickCount=5),
            scale=scale,
        ),
    )
    chart = base.mark_bar(color=color, height={"band": 0.7})
    if label:
        text = base.mark_text(align="left", dx=4, baseline="middle").encode(text=f"{label}:N")
        chart = alt.layer(chart, text)
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
                f"{x}:O", sort=None, title=x_title, axis=alt.Axis(labelAngle=_label_angle(rows, x))
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
    base = alt.Chart(_data(rows)).encode(
        x=alt.X(f"{bucket}:O", sort=list(order), title=bucket_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(f"{count}:Q", title=count_title, axis=alt.Axis(format=",d", tickCount=5)),
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
    value_title: str,
    value_format: str = ",.0f",
    label: str | None = None,
    domain: tuple[float, float] | None = None,
) -> alt.TopLevelMixin:
    """Return horizontal bars grouped by category, one bar per series (long-format rows)."""
    categories = list(dict.fromkeys(row[category] for row in rows))
    height = max(70, len(categories) * (14 * len(series_order) + 12))
    scale = alt.Scale(domain=list(domain)) if domain else alt.Scale(nice=True)
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y(f"{category}:N", sort=categories, title=category_title),
        yOffset=alt.YOffset(f"{series}:N", sort=list(series_order)),
        x=alt.X(
            f"{value}:Q",
            title=value_title,
            scale=scale,
            axis=alt.Axis(format=value_format, tickCount=5),
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
        chart = alt.layer(
            bars, base.mark_text(align="left", dx=3, baseline="middle").encode(text=f"{label}:N")
        )
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
    height: int = 220,
) -> alt.Chart:
    """Return vertical bars stacked by series over an ordinal x (long-format rows)."""
    angle = _label_angle(rows, x)
    order_field = f"{series}_order"
    ranks = {name: i for i, name in enumerate(series_order)}
    data = [{**row, order_field: ranks.get(row[series], len(ranks))} for row in rows]
    return (
        alt.Chart(_data(data))
        .mark_bar(width={"band": 0.7})
        .encode(
            x=alt.X(f"{x}:O", sort=None, title=x_title, axis=alt.Axis(labelAngle=angle)),
            y=alt.Y(f"sum({value}):Q", title=y_title, axis=alt.Axis(format=",d", tickCount=5)),
            color=alt.Color(
                f"{series}:N",
                sort=list(series_order),
                scale=alt.Scale(domain=list(series_order), range=list(colors)),
            ),
            order=alt.Order(f"{order_field}:Q", sort="ascending"),
        )
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
    """Overlay a rate (a fraction, right-hand axis) on a bar chart sharing its x."""
    line = (
        alt.Chart(_data(rows))
        .mark_line(color=color, point=alt.OverlayMarkDef(color=color, filled=True, size=30))
        .encode(
            x=alt.X(f"{x}:O", sort=None),
            y=alt.Y(
                f"{rate}:Q",
                title=rate_title,
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format=".0%", orient="right", grid=False, tickCount=5),
            ),
        )
    )
    layered = alt.layer(bars, line).resolve_scale(y="independent")
    return _fit(layered, height)
