"""Report content → self-contained HTML (Jinja) → PDF (WeasyPrint).

The templates are dumb: this module turns metrics.json into view-model dicts whose every
number is already formatted by ``reportgen.formatters``, and the templates only lay them
out. Templates load from the user's folder first, then the packaged ones (also reachable
as ``default:report.html``, so a user template can extend the default one).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
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

from reportgen import __version__, formatters
from reportgen.assumptions import interpretive_rules, rules_in_force
from reportgen.formatters import (
    fmt_date,
    fmt_date_range,
    fmt_datetime,
    fmt_delta,
    fmt_number,
    fmt_text,
    fmt_value,
)
from reportgen.sections import Recommendation, Section
from reportgen.sections.carts.kpis import CART_KPIS, KpiSpec, segment_columns, segment_tables

PACKAGE_DIR = Path(__file__).parent
TEMPLATE_DIR = PACKAGE_DIR / "templates"
FONT_DIR = PACKAGE_DIR / "assets" / "fonts"
FONTS = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
GENERATOR = f"reportgen {__version__}"

SECTION_KPIS: dict[str, tuple[KpiSpec, ...]] = {"carts": CART_KPIS}
"""Each section's KPI specs; the ``headline`` ones go on the cover."""

SEGMENT_LABELS = {
    "signup_channel": "signup channel",
    "loyalty_tier": "loyalty tier",
    "clv_bucket": "CLV bucket",
    "age_band": "age band",
}

DATA_QUALITY_LABELS = {
    "carts.null_cart_ids": "Cart rows with no cart_id (whole table, left out)",
    "carts.duplicate_cart_ids": "Cart ids appearing more than once",
    "carts.duplicate_cart_rows": "Extra rows of duplicated carts (collapsed)",
    "carts.other_statuses": "Carts with a status outside the configured lists",
    "carts.duplicate_lines": "Cart lines merged from more than one row",
    "carts.invalid_lines": "Cart lines left out (bad quantity or price)",
    "carts.orphan_lines": "Cart lines whose cart does not exist (whole table)",
    "carts.carts_without_lines": "Carts with no valid line (value 0)",
    "carts.null_customer_carts": "Carts with no customer",
    "carts.unknown_customer_carts": "Carts whose customer is missing from customers",
    "carts.order_before_cart": "Converted carts whose orders all precede the cart",
    "carts.linked_by_cart_id": "Converted carts linked to an order by cart_id",
    "carts.linked_by_next_order": "Converted carts linked to the customer's next order",
    "carts.duplicate_customer_ids": "Customer ids appearing more than once (whole table)",
    "carts.duplicate_product_ids": "Product ids appearing more than once (whole table)",
    "carts.unparsed_created_at": "Carts with an unreadable created_at (whole table)",
    "events.unparsed_event_time": "Events with an unreadable event_time (whole table)",
    "events.duplicates_removed": "Duplicate events removed",
    "events.bad_price_removed": "Events removed for a missing or bad price or quantity",
    "events.unmapped_removed": "Events removed for an unmapped event type",
    "events.unmapped_types": "Unmapped event types",
    "experiments.crossover_sessions": "Experiment sessions seen under two variants (dropped)",
}
"""Plain-English labels for the data_quality keys of METRICS.md §8."""

PART_NAMES = {
    "carts": "Cart & customer behaviour",
    "carts.products": "Product names and categories",
    "events": "Events and funnels",
    "experiments": "Experiments",
    "marketing": "Marketing",
}
"""Display names for ``skipped`` entries that are not a section of this report."""

DIRECTION_ARROWS = {"up": "\u25b2", "down": "\u25bc", "flat": ""}


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


def make_environment(template_dir: Path | None = None) -> Environment:
    """Return the Jinja environment: user templates first, then the packaged ones."""
    packaged = FileSystemLoader(str(TEMPLATE_DIR))
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
    )
    env.filters.update(
        {name: func for name, func in vars(formatters).items() if name.startswith("fmt_")}
    )
    return env


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
    contents = [{"id": "recommendations", "title": "Recommendations", "parts": []}]
    for section in sections:
        parts = section["view"]["parts"]
        subparts = [] if len(parts) == 1 else parts
        contents.append({"id": parts[0]["id"], "title": section["title"], "parts": subparts})
    contents.append({"id": "data-quality", "title": "Data quality", "parts": []})
    if extras:
        contents.append({"id": "skipped", "title": "Skipped", "parts": []})
    contents.append({"id": "assumptions", "title": "Assumptions", "parts": []})
    return {
        "report": _report_meta(content),
        "fonts": _font_data_uris(),
        "metrics": metrics,
        "headline": [
            _card(spec, metrics, content.currency)
            for section in content.sections
            if section.name not in skipped
            for spec in SECTION_KPIS.get(section.name, ())
            if spec.headline
        ],
        "contents": contents,
        "recommendations": [
            {"headline": rec.headline, "detail": rec.detail}
            for rec in sorted(content.recommendations, key=lambda r: r.priority)
        ],
        "sections": sections,
        "data_quality": _data_quality(metrics.get("data_quality") or {}),
        "skipped": extras,
        "rules": rules_in_force(metrics),
        "interpretive_rules": interpretive_rules(metrics),
    }


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
        "period_kind": {"month": "Month", "week": "ISO week", "custom": "Custom period"}.get(
            period.get("kind"), "Period"
        ),
        "period_range": span,
        "timezone": zone,
        "previous_label": previous.get("label") or "the previous period",
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
    titles = {section.name: section.title for section in sections}
    name = str(entry.get("section"))
    if name.startswith("carts.segment."):
        column = name.removeprefix("carts.segment.")
        title = f"Segments by {SEGMENT_LABELS.get(column, column.replace('_', ' '))}"
    else:
        title = titles.get(name) or PART_NAMES.get(name) or name
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
    builder = SECTION_VIEWS.get(section.name)
    if reason is not None or builder is None:
        view = {"parts": [{"id": section.name, "title": section.title}]}
    else:
        view = builder(content.metrics, content.currency, content.charts, skipped)
    return {
        "name": section.name,
        "title": section.title,
        "template": section.template,
        "skipped": f"Skipped because {reason.rstrip('.')}." if reason is not None else None,
        "view": view,
    }


# Building blocks shared by every section.


def _card(spec: KpiSpec, metrics: Mapping[str, Any], currency: str) -> dict[str, str]:
    """Return one KPI card: value, change vs the previous period and its tone."""
    kpis = metrics.get("kpis") or {}
    current = kpis.get(spec.key)
    previous = (kpis.get("previous") or {}).get(spec.key)
    direction, tone = "flat", "neutral"
    if isinstance(current, int | float) and isinstance(previous, int | float):
        change = current - previous
        if not _shows_as_zero(change, spec.kind):
            direction = "up" if change > 0 else "down"
            if spec.better != "neutral":
                tone = "good" if direction == spec.better else "bad"
    delta = fmt_delta(current, previous, spec.kind, currency)
    label = spec.label
    days = (metrics.get("rules") or {}).get("reengagement_days")
    if spec.key == "carts.reengagement_rate" and isinstance(days, int):
        label = f"{days}-day re-engagement rate"
    return {
        "key": spec.key,
        "label": label,
        "value": fmt_value(current, spec.kind, currency),
        "delta": delta,
        "previous": fmt_value(previous, spec.kind, currency),
        "comparison": f"{delta} vs {fmt_value(previous, spec.kind, currency)}"
        if previous is not None
        else "previous period n/a",
        "direction": direction,
        "arrow": DIRECTION_ARROWS[direction],
        "tone": tone,
    }


def _shows_as_zero(change: float, kind: str) -> bool:
    """Whether a change rounds to zero as the card shows it (0.1 pp, cents, 0.01 days)."""
    if kind == "rate":
        return fmt_number(abs(change) * 100, 1) == "0.0"
    places = 2 if kind in ("money", "days") else 0
    return float(fmt_number(abs(change), places).replace(",", "")) == 0


def _cards(keys: Sequence[str], metrics: Mapping[str, Any], currency: str) -> list[dict[str, str]]:
    specs = {spec.key: spec for specs in SECTION_KPIS.values() for spec in specs}
    return [_card(specs[key], metrics, currency) for key in keys]


Column = tuple[str, str, str]
"""(row key, header, kind): kind is text, number, rate, money, days or date."""


def _table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    currency: str,
    *,
    empty: str = "No rows in this period.",
    caption: str | None = None,
) -> dict[str, Any]:
    """Return a table view: headers and cells as display text, numbers right-aligned."""

    def cell(value: Any, kind: str) -> dict[str, str]:
        if kind == "text":
            return {"text": fmt_text(value), "cls": ""}
        if kind == "date":
            return {"text": fmt_date(value) if value else fmt_text(value), "cls": ""}
        return {"text": fmt_value(value, kind, currency), "cls": "num"}

    return {
        "caption": caption,
        "columns": [
            {"label": label, "cls": "" if kind in ("text", "date") else "num"}
            for _, label, kind in columns
        ],
        "rows": [[cell(row.get(key), kind) for key, _, kind in columns] for row in rows],
        "empty": empty,
    }


def _figure(charts: Mapping[str, str], key: str, caption: str) -> dict[str, str] | None:
    svg = charts.get(key)
    return {"svg": svg, "caption": caption} if svg else None


def _notes(skipped: Mapping[str, str], keys: Sequence[str]) -> list[str]:
    return [f"Partly skipped: {skipped[key].rstrip('.')}." for key in keys if key in skipped]


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


# The cart section (docs/metrics-carts.md).


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
    total = _number(kpis.get("carts.carts_total"))
    empty = not total
    days = _number(rules.get("reengagement_days"))
    days = 7 if days is None else int(days)
    top_n = _number(rules.get("top_n")) or 10
    bucket = {"week": "Day", "month": "Week starting"}.get(period_kind, "Starting")
    grain = {"week": "day", "month": "week"}.get(period_kind, "bucket")

    funnel = {
        "id": "cart-funnel",
        "title": "Cart funnel",
        "notes": _notes(skipped, ("carts.funnel", "carts.funnel_trend")),
        "empty": "No carts were created in this period." if empty else None,
        "cards": _cards(
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
        else _figure(
            charts,
            "carts.funnel_trend",
            f"Carts created per {grain}, stacked by status; the line is the share converted "
            "(right-hand axis).",
        ),
        "table": _table(
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
        "notes": _notes(
            skipped,
            (
                "carts.abandoned_value",
                "carts.products",
                "carts.top_abandoned_skus",
                "carts.top_abandoned_categories",
            ),
        ),
        "cards": _cards(
            (
                "carts.abandoned_cart_value",
                "carts.avg_abandoned_cart_value",
                "carts.carts_abandoned",
                "carts.converted_cart_value",
            ),
            metrics,
            currency,
        ),
        "sku_figure": _figure(
            charts,
            "carts.top_abandoned_skus",
            f"Top {fmt_number(len(skus))} products by value left in abandoned carts "
            "(share of all abandoned value).",
        )
        if skus
        else None,
        "sku_table": _table(
            skus,
            (
                ("product_id", "Product", "text"),
                ("name", "Name", "text"),
                ("category", "Category", "text"),
                ("carts", "Carts", "number"),
                ("units", "Units", "number"),
                ("abandoned_value", "Abandoned value", "money"),
                ("share", "Share", "rate"),
            ),
            currency,
            empty="No abandoned cart held a product in this period.",
            caption="Products left in abandoned carts",
        ),
        "category_figure": _figure(
            charts,
            "carts.top_abandoned_categories",
            "Abandoned value by product category (share of all abandoned value).",
        )
        if categories
        else None,
        "category_table": _table(
            categories,
            (
                ("category", "Category", "text"),
                ("carts", "Carts", "number"),
                ("units", "Units", "number"),
                ("abandoned_value", "Abandoned value", "money"),
                ("share", "Share", "rate"),
            ),
            currency,
            empty="No abandoned cart held a product in this period.",
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
                "figure": _figure(charts, key, f"Conversion and abandonment rate of each {name}.")
                if rows
                else None,
                "table": _table(
                    rows,
                    (
                        ("segment", name.capitalize(), "text"),
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
        "notes": _notes(skipped, ("carts.segments",)),
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
    immature = _number(kpis.get("carts.reengagement_immature_carts")) or 0
    reengagement = {
        "id": "reengagement",
        "title": "Re-engagement",
        "notes": _notes(skipped, ("carts.reengagement", "carts.savable_customers")),
        "intro": (
            f"An abandoner is re-engaged when they place an order within {days} days "
            "after abandoning a cart. Savable customers abandoned a cart and did not come "
            "back within the window."
        ),
        "cards": _cards(
            (
                "carts.abandoners",
                "carts.reengaged",
                "carts.reengagement_rate",
                "carts.reengagement_immature_carts",
            ),
            metrics,
            currency,
        ),
        "immature": (
            f"{fmt_number(immature)} abandoned carts were created less than {days} days "
            "before the newest order in the data: their window has not closed yet, so the "
            "re-engagement rate may still rise."
            if immature > 0
            else None
        ),
        "table": _table(
            shown,
            (
                ("customer_id", "Customer", "text"),
                *(
                    (column, SEGMENT_LABELS.get(column, column).capitalize(), "text")
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

    unlinked = _number(kpis.get("carts.converted_unlinked"))
    before = _number((metrics.get("data_quality") or {}).get("carts.order_before_cart"))
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
        "notes": _notes(skipped, ("carts.time_to_order", "carts.time_to_order_hist")),
        "cards": _cards(
            (
                "carts.median_time_to_order_days",
                "carts.p90_time_to_order_days",
                "carts.mean_time_to_order_days",
                "carts.converted_unlinked",
            ),
            metrics,
            currency,
        ),
        "figure": _figure(
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


SectionView = Callable[
    [Mapping[str, Any], str, Mapping[str, str], Mapping[str, str]], dict[str, Any]
]
SECTION_VIEWS: dict[str, SectionView] = {"carts": carts_view}
"""Section name → (metrics, currency, charts, skipped reasons) → the partial's view.

A view has ``parts``: [{id, title}], the headings the contents page links to.
"""


def _data_quality(quality: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return each data_quality entry with a label; a dict becomes a small table."""
    rows = []
    for key, value in quality.items():
        label = DATA_QUALITY_LABELS.get(key) or key.split(".", 1)[-1].replace("_", " ")
        entry: dict[str, Any] = {"key": key, "label": label[:1].upper() + label[1:]}
        if isinstance(value, Mapping):
            entry["value"] = fmt_number(sum(v for v in value.values() if _number(v)))
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
    if _number(value) is not None:
        return fmt_number(value) if float(value).is_integer() else fmt_number(value, 2)
    return fmt_text(value)
