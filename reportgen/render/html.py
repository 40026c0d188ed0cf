"""Report content → self-contained HTML (Jinja) → PDF (WeasyPrint).

The templates are dumb: this module turns metrics.json into view-model dicts whose every
number is already formatted by ``reportgen.render.formatters``, and the templates only lay them
out. Templates load from the user's folder first, then the packaged ones (also reachable
as ``default:report.html``, so a user template can extend the default one).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
)
from markupsafe import Markup

from reportgen import __version__
from reportgen.plugin import KpiSpec, Recommendation, Section
from reportgen.render import formatters
from reportgen.render.formatters import (
    EN_DASH,
    fmt_date_range,
    fmt_datetime,
    fmt_delta,
    fmt_money_short,
    fmt_number,
    fmt_period_label,
    fmt_period_name,
    fmt_text,
    fmt_value,
)
from reportgen.render.summary import ACTIONS, actions, coverage_line, largest_moves, last_time
from reportgen.render.viewparts import card, number
from reportgen.report.alerts import DataAlert
from reportgen.report.assumptions import interpretive_rules, rules_in_force
from reportgen.report.trends import RANGE_WINDOW, sparkline_svg, usual_range
from reportgen.sections import all_sections

PACKAGE_DIR = Path(__file__).parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
FONT_DIR = PACKAGE_DIR / "assets" / "fonts"
FONTS = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
GENERATOR = f"reportgen {__version__}"
NON_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters no HTML or XML text may hold (as ``render.charts.NON_XML``; not imported from
there, which would load Altair with every page)."""


@dataclass(frozen=True)
class ReportContent:
    """Everything one report shows, computed before rendering."""

    metrics: dict[str, Any]
    """The metrics.json dict."""
    sections: list[Section]
    """The sections to lay out, in report order."""
    charts: dict[str, str]
    """Chart name → inline SVG."""
    recommendations: list[Recommendation]
    generated_at: datetime
    currency: str
    title: str
    author: str
    trends: dict[str, list[dict[str, Any]]] | None = None
    """Headline KPI key → its last periods, oldest first, [{label, value}]
    (``trends.kpi_history``): the cover's sparklines and usual ranges."""
    nav: dict[str, Any] | None = None
    """Links to the previous and next report of its kind and to the archive index
    (``history_index.report_nav``); shown on screen, not in the PDF."""
    alerts: Sequence[DataAlert] = ()
    """Data problems too large for the data-quality page alone (``data_alerts``): the
    cover's banner."""
    year_ago: Mapping[str, Any] | None = None
    """The headline KPIs of the same period a year before (trends.json ``year_ago``), when
    the data reaches back that far."""
    last_time: Sequence[Mapping[str, Any]] = ()
    """The previous report's recommendations (its build.json), for "last time we
    recommended" on the summary page."""


def make_environment(template_dir: Path | None = None) -> Environment:
    """Return the Jinja environment: user templates first, then the packaged ones.

    A section's partials live in its own folder (``sections/<name>/templates/``) and are
    reached as ``sections/<file>``, so a user folder overrides them like any template.
    """
    section_dirs = [str(section.template_dir) for section in all_sections() if section.template_dir]
    packaged = ChoiceLoader(
        [
            FileSystemLoader(str(TEMPLATE_DIR)),
            PrefixLoader({"sections": FileSystemLoader(section_dirs)}),
        ]
    )
    loaders: list[BaseLoader] = []
    if template_dir is not None:
        loaders.append(FileSystemLoader(str(template_dir)))
    loaders += [PrefixLoader({"default": packaged}, delimiter=":"), packaged]
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=printable,
    )
    env.filters.update(
        {name: func for name, func in vars(formatters).items() if name.startswith("fmt_")}
    )
    return env


def printable(value: Any) -> Any:
    """Replace the control characters no document can hold (U+FFFD shows where they were).

    One in a product name made WeasyPrint write a text layer that PDF readers (and
    search) decode as garbage for the whole document. Every ``{{ }}`` passes here, before
    escaping; markup (chart SVG, already cleaned) keeps its type.
    """
    if isinstance(value, str) and NON_XML.search(value):
        cleaned = NON_XML.sub("\ufffd", value)
        return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


def render_html(
    content: ReportContent, template_dir: Path | None = None, *, for_print: bool = False
) -> str:
    """Render the whole report as one self-contained HTML page (charts as inline SVG).

    ``for_print=True`` renders the same page for WeasyPrint, in the form it lays out
    fastest: fonts linked from the package instead of 2 MB of base64, and each chart an
    SVG image (still vector in the PDF) instead of a DOM subtree to style element by
    element. Together they take about a third off the PDF stage.
    """
    env = make_environment(template_dir)
    if for_print:
        charts = {name: _svg_image(svg) for name, svg in content.charts.items()}
        content = dataclasses.replace(content, charts=charts)
    view = build_view(content)
    if for_print:
        view["fonts"] = {weight: (FONT_DIR / name).as_uri() for weight, name in FONTS.items()}
        view["nav"] = None  # links between archived files mean nothing on paper
        # The fixed readings (over a hundred, three pages of small print) are an analyst's
        # reference: the PDF says where they are; report.html beside it lists them all.
        view["readings_elsewhere"] = len(view["interpretive_rules"])
    return env.get_template("report.html").render(**view)


def _svg_image(svg: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="chart" alt="" src="data:image/svg+xml;base64,{data}">'


def write_pdf(html: str, target: Path) -> None:
    """Write the report's PDF; the HTML ``<head>`` becomes the PDF metadata."""
    from weasyprint import HTML  # imported on use: it is slow to import

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html, base_url=f"{PACKAGE_DIR.as_uri()}/").write_pdf(target)


# The view model: plain dicts of display text.


def build_view(content: ReportContent) -> dict[str, Any]:
    """Return the template context: every value formatted, every list in display order."""
    metrics = content.metrics
    skipped = _skipped_reasons(metrics)
    sections = [_section_view(section, content, skipped) for section in content.sections]
    extras = [
        _skipped_row(entry, content.sections)
        for entry in metrics.get("skipped") or []
        if isinstance(entry, Mapping)
    ]
    contents = [
        {"id": "summary", "title": "Summary", "parts": []},
        {"id": "recommendations", "title": "Recommendations", "parts": []},
    ]
    for section in sections:
        parts = [part for part in section["view"]["parts"] if not part.get("appendix")]
        subparts = [] if len(parts) == 1 else parts
        contents.append({"id": parts[0]["id"], "title": section["title"], "parts": subparts})
    # The technical pages go last, in an appendix: a section's own, data quality, rules.
    appendix = [
        part
        for section in sections
        if section["appendix_template"]
        for part in section["view"]["parts"]
        if part.get("appendix")
    ]
    appendix.append({"id": "data-quality", "title": "Data quality"})
    if extras:
        appendix.append({"id": "skipped", "title": "Skipped"})
    appendix.append({"id": "assumptions", "title": "Assumptions"})
    contents.append({"id": appendix[0]["id"], "title": "Appendix", "parts": appendix})
    headline = [
        (section, spec)
        for section in content.sections
        if section.name not in skipped
        for spec in section.kpis
        if spec.headline
    ]
    shown = [section for section in content.sections if section.name not in skipped]
    recommendations = sorted(content.recommendations, key=lambda r: r.priority)
    report = _report_meta(content)
    summary = {
        "coverage": coverage_line(metrics, shown),
        "moves": largest_moves(metrics, shown, content.trends, content.currency),
        "actions": actions(recommendations, content.currency),
        "more": max(0, len(recommendations) - ACTIONS),
        "last_time": last_time(
            content.last_time, metrics, shown, content.currency, report["previous_label"]
        ),
    }
    cards_shown = [_headline_card(spec, content) for _, spec in headline]
    return {
        "report": report,
        "summary": summary,
        "fonts": _font_data_uris(),
        "metrics": metrics,
        "headline": cards_shown,
        "cover_caveats": _cover_caveats(cards_shown),
        "trends_note": _trends_note(content, headline),
        "nav": content.nav,
        "contents": contents,
        "recommendations": [
            {
                "headline": rec.headline,
                "detail": rec.detail,
                "value": item["value"],
            }
            for rec, item in zip(
                recommendations,
                actions(recommendations, content.currency, len(recommendations)),
                strict=True,
            )
        ],
        "sections": sections,
        "data_quality": _data_quality(metrics.get("data_quality") or {}),
        "alerts": [alert.message for alert in content.alerts],
        "future_rows": _future_rows(metrics.get("data_quality") or {}),
        "skipped": extras,
        "rules": rules_in_force(metrics, content.sections),
        "interpretive_rules": interpretive_rules(metrics, content.sections),
    }


SPARKLINE_MIN_POINTS = 3
"""A cover sparkline needs this many known periods (the data's own start leaves fewer in a
long custom window)."""


def _headline_card(spec: KpiSpec, content: ReportContent) -> dict[str, Any]:
    """Return a cover card: the KPI card, plus its sparkline and usual-range phrase."""
    found: dict[str, Any] = card(spec, content.metrics, content.currency)
    found.update(sparkline=None, range=None, range_status=None, year_ago=None)
    # The cover says why once, under the cards (cover_caveats) and in the coverage line,
    # instead of the same sentence on every card: it must fit one page.
    if found.get("provisional"):
        found["comparison"] = "provisional"
    elif not found.get("comparable"):
        found["comparison"] = "change n/a"
    earlier = (content.year_ago or {}).get("kpis") or {}
    then, now = earlier.get(spec.key), (content.metrics.get("kpis") or {}).get(spec.key)
    if number(then) is not None and number(now) is not None and not found.get("provisional"):
        name = fmt_period_name((content.year_ago or {}).get("period"))
        found["year_ago"] = f"{fmt_delta(now, then, spec.kind, content.currency)} vs {name}"
        if spec.kind == "money" and then:
            found["year_ago"] = f"{(now - then) / abs(then) * 100:+.1f}% vs {name}"
    if spec.kind == "money":  # headline money is rounded (full value in the tables)
        kpis = content.metrics.get("kpis") or {}
        now, then = kpis.get(spec.key), (kpis.get("previous") or {}).get(spec.key)
        found["value"] = fmt_money_short(now, content.currency)
        if number(now) is not None and number(then) is not None and found.get("comparable"):
            if not found.get("provisional"):
                sign = "+" if now >= then else "\u2212"
                change = f"{sign}{fmt_money_short(abs(now - then), content.currency)}"
                if then:
                    change += f" ({(now - then) / abs(then) * 100:+.1f}%)"
                found["comparison"] = f"{change} vs {fmt_money_short(then, content.currency)}"
    history = (content.trends or {}).get(spec.key) or []
    label = (content.metrics.get("period") or {}).get("label")
    if not history or history[-1].get("label") != label:
        return found
    values = [point.get("value") for point in history]
    # The last point is the card's own value (the same computation, read once).
    values[-1] = (content.metrics.get("kpis") or {}).get(spec.key)
    shown = [v for v in values if number(v) is not None]
    if len(shown) >= SPARKLINE_MIN_POINTS:  # a dot or a single stroke is no trend
        first, last = (fmt_period_label(point["label"]) for point in (history[0], history[-1]))
        span = f"{first} to {last}"
        low, high = (fmt_value(v, spec.kind, content.currency) for v in (min(shown), max(shown)))
        found["sparkline"] = sparkline_svg(values, f"{found['label']}, {span}: {low} to {high}")
    spread = usual_range(values)
    status = spread["status"]
    if status is None:
        return found

    def bound(value: float) -> str:
        if spec.kind == "money":
            return fmt_money_short(value, content.currency)
        return fmt_value(value, spec.kind, content.currency)

    # A value that shows as equal to a bound is within the range as the reader sees it.
    edge = spread["high"] if status == "above" else spread["low"]
    if status != "within" and bound(values[-1]) == bound(edge):
        status = "within"
    if found.get("provisional") or not found.get("comparable"):
        return found  # no usual-range verdict on a figure that is not final or comparable
    found["range_status"] = status
    found["range"] = (
        "within the usual range"
        if status == "within"
        else f"outside the usual range ({bound(spread['low'])}{EN_DASH}{bound(spread['high'])})"
    )
    return found


def _cover_caveats(cards_shown: list[dict[str, Any]]) -> list[str]:
    """Return why each provisional cover figure is not final, each reason once with the
    figures it holds for ("Cart conversion rate, Abandonment rate: 118 of 1,624 carts…")."""
    reasons: dict[str, list[str]] = {}
    for shown in cards_shown:
        if shown.get("provisional"):
            reasons.setdefault(shown["provisional"], []).append(shown["label"])
    return [f"{', '.join(labels)}: {reason}" for reason, labels in reasons.items()]


def _trends_note(content: ReportContent, headline: list[tuple[Section, KpiSpec]]) -> str | None:
    """Return the line under the cover cards saying what the sparklines show."""
    if content.trends is None:
        return None
    period = content.metrics.get("period") or {}
    unit = {"month": "months", "week": "weeks"}.get(period.get("kind"), "periods")
    history = [content.trends.get(spec.key) for _, spec in headline]
    lengths = [  # only the sparklines drawn: a history of fewer known periods has none
        len(found)
        for found in history
        if found
        and sum(number(point.get("value")) is not None for point in found) >= SPARKLINE_MIN_POINTS
    ]
    sentences = []
    if lengths:
        count = max(lengths)
        sentences.append(
            f"Sparklines show the last {count} {unit}, recomputed from the source. The usual "
            f"range is the lowest to the highest of the {RANGE_WINDOW} {unit} before "
            f"{fmt_period_name(period)}."
        )
    left_out = dict.fromkeys(
        section.history_note
        for (section, _), found in zip(headline, history, strict=True)
        if not found and section.history_note
    )
    sentences += list(left_out)
    return " ".join(sentences) or None


def _report_meta(content: ReportContent) -> dict[str, Any]:
    metrics = content.metrics
    period = metrics.get("period") or {}
    previous = metrics.get("previous_period") or {}
    zone = period.get("timezone") or "UTC"
    label = period.get("label") or ""
    span = fmt_date_range(period.get("start"), period.get("end"))
    shown_at = content.generated_at
    if shown_at.tzinfo is not None:
        try:
            shown_at = shown_at.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return {
        "title": content.title,
        "author": content.author,
        "description": f"{content.title}: {label} ({span}), generated by {GENERATOR}.",
        "generator": GENERATOR,
        "created": _w3c_datetime(content.generated_at),
        "generated_at": fmt_datetime(shown_at),
        "period_label": label,
        "period_name": fmt_period_name(period),
        "period_kind": {"month": "Month", "week": "ISO week", "custom": "Custom period"}.get(
            period.get("kind"), "Period"
        ),
        "period_range": span,
        "timezone": zone,
        "previous_label": fmt_period_name(previous) if previous else "the previous period",
        "previous_range": fmt_date_range(previous.get("start"), previous.get("end")),
        "currency": content.currency,
    }


def _w3c_datetime(moment: datetime) -> str:
    """Return a W3C datetime WeasyPrint accepts for ``dcterms.created`` (zone required)."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.replace(microsecond=0).isoformat()


@functools.cache
def _font_data_uris() -> dict[str, str]:
    """Return the shipped fonts as data URIs, so an archived HTML never needs a file."""
    return {
        weight: "data:font/ttf;base64,"
        + base64.b64encode((FONT_DIR / name).read_bytes()).decode("ascii")
        for weight, name in FONTS.items()
    }


def _skipped_reasons(metrics: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(entry.get("section")): str(entry.get("reason") or "no reason given")
        for entry in metrics.get("skipped") or []
        if isinstance(entry, Mapping)
    }


def _skipped_row(entry: Mapping[str, Any], sections: Sequence[Section]) -> dict[str, str]:
    """Name a skipped section or part as its section calls it (or by its key)."""
    name = str(entry.get("section"))
    title = None
    for section in all_sections():
        if name == section.name:
            title = section.title
        elif section.part_title is not None and name.startswith(f"{section.name}."):
            title = section.part_title(name)
        if title:
            break
    title = title or name.replace("_", " ").replace(".", " \u203a ").capitalize()
    return {
        "name": title,
        "reason": _sentence(str(entry.get("reason") or "no reason given")),
    }


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _section_view(
    section: Section, content: ReportContent, skipped: Mapping[str, str]
) -> dict[str, Any]:
    reason = skipped.get(section.name)
    if reason is not None or section.view is None:
        view = {"parts": [{"id": section.name, "title": section.title}]}
    else:
        view = section.view(content.metrics, content.currency, content.charts, skipped)
    return {
        "name": section.name,
        "title": section.title,
        "template": section.template,
        "appendix_template": section.appendix_template,
        "skipped": f"Skipped because {reason.rstrip('.')}." if reason is not None else None,
        "view": view,
    }


def _data_quality(quality: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return each data_quality entry with a label; a dict becomes a small table."""
    labels = {k: v for section in all_sections() for k, v in section.data_quality_labels.items()}
    rows = []
    for key, value in quality.items():
        label = labels.get(key) or key.split(".", 1)[-1].replace("_", " ")
        entry: dict[str, Any] = {
            "key": key,
            "label": label[:1].upper() + label[1:],
            "zero": value == 0 or (isinstance(value, Mapping) and not value),
        }
        if isinstance(value, Mapping):
            entry["value"] = fmt_number(sum(v for v in value.values() if number(v)))
            entry["rows"] = [
                {"label": fmt_text(name), "value": _quality_value(count)}
                for name, count in value.items()
            ]
        else:
            entry["value"] = _quality_value(value)
            entry["rows"] = None
        rows.append(entry)
    return rows


def _quality_value(value: Any) -> str:
    if number(value) is not None:
        return fmt_number(value) if float(value).is_integer() else fmt_number(value, 2)
    return fmt_text(value)


FUTURE_KEYS = {
    "carts.future_created_at": "carts",
    "orders.future_order_date": "orders",
    "events.future_event_time": "events",
}
"""Counts of rows dated after the build, and the noun the data-quality page uses."""


def _future_rows(quality: Mapping[str, Any]) -> str | None:
    """Return the data-quality page's sentence on rows dated after the build, if any."""
    counts = [
        (int(quality[key]), noun) for key, noun in FUTURE_KEYS.items() if number(quality.get(key))
    ]
    if not counts:
        return None
    found = [f"{fmt_number(n)} {noun if n != 1 else noun[:-1]}" for n, noun in counts]
    listed = found[0] if len(found) == 1 else ", ".join(found[:-1]) + " and " + found[-1]
    verb = "is" if counts == [(1, counts[0][1])] else "are"
    return (
        f"{listed} {verb} dated after the moment this report was built (in its time zone): "
        "a clock or export error. Such rows fall in no past period."
    )
