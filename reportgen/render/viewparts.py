"""Building blocks of section views: KPI cards, tables, figures and notes as display text.

Every value is formatted here (through ``reportgen.render.formatters``), so templates only
place strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.plugin import KpiSpec
from reportgen.render.formatters import (
    duration_unit,
    fmt_date,
    fmt_delta,
    fmt_duration,
    fmt_number,
    fmt_text,
    fmt_value,
)

DIRECTION_ARROWS = {"up": "\u25b2", "down": "\u25bc", "flat": ""}


def _duration_delta(current: float, previous: float, unit: str) -> str:
    """The change of a duration in the card's one unit, with its relative change."""
    change = current - previous
    shown = fmt_duration(change, unit)
    if change and shown.lstrip("-").startswith("0 "):  # "-0 min" says nothing: a decimal more
        shown = fmt_duration(change, unit, places=1)
    text = ("+" if change >= 0 else "") + shown
    return f"{text} ({change / abs(previous) * 100:+.1f}%)" if previous else text


def card(spec: KpiSpec, metrics: Mapping[str, Any], currency: str) -> dict[str, str]:
    """Return one KPI card: value, change vs the previous period and its tone.

    A provisional KPI (its window has not closed) shows no change: last period's value
    was read when it was older, not like with like. Nor does one whose comparison period
    the data barely covers (``report.maturity``).
    """
    from reportgen.report.maturity import caveat
    from reportgen.sections import all_sections

    unfinished, gap = caveat(metrics, spec, all_sections())
    kpis = metrics.get("kpis") or {}
    current = kpis.get(spec.key)
    previous = (kpis.get("previous") or {}).get(spec.key)
    direction, tone = "flat", "neutral"
    if isinstance(current, int | float) and isinstance(previous, int | float):
        change = current - previous
        if not shows_as_zero(change, spec.kind):
            direction = "up" if change > 0 else "down"
            if spec.better != "neutral":
                tone = "good" if direction == spec.better else "bad"
    delta = fmt_delta(current, previous, spec.kind, currency)
    shown = fmt_value(current, spec.kind, currency)
    before = fmt_value(previous, spec.kind, currency)
    if spec.kind == "days":  # one unit per card: not "19.0 h vs 1.24 days"
        unit = duration_unit([current, previous])
        shown, before = fmt_duration(current, unit), fmt_duration(previous, unit)
        if isinstance(current, int | float) and isinstance(previous, int | float):
            delta = _duration_delta(current, previous, unit)
    label = spec.label
    if spec.label_from_rules is not None:
        label = spec.label_from_rules(metrics.get("rules") or {}) or label
    comparison = f"{delta} vs {before}" if previous is not None else "previous period n/a"
    if unfinished or gap:
        direction, tone = "flat", "neutral"
        comparison = f"provisional: {unfinished}" if unfinished else f"change n/a: {gap}"
    return {
        "key": spec.key,
        "label": label,
        "value": shown,
        "delta": delta,
        "previous": before,
        "comparison": comparison,
        "direction": direction,
        "arrow": DIRECTION_ARROWS[direction],
        "tone": tone,
        "provisional": unfinished or "",
        "comparable": "" if gap else "yes",
    }


def shows_as_zero(change: float, kind: str) -> bool:
    """Whether a change rounds to zero as the card shows it (0.1 pp, cents, 0.01 days)."""
    if kind == "rate":
        return fmt_number(abs(change) * 100, 1) == "0.0"
    places = 2 if kind in ("money", "days") else 0
    return float(fmt_number(abs(change), places).replace(",", "")) == 0


def cards(
    specs: Sequence[KpiSpec], keys: Sequence[str], metrics: Mapping[str, Any], currency: str
) -> list[dict[str, str]]:
    """Return the cards of ``keys``, in that order, as ``specs`` describe them."""
    by_key = {spec.key: spec for spec in specs}
    return [card(by_key[key], metrics, currency) for key in keys]


Column = tuple[str, str, str]
"""(row key, header, kind): kind is text, number, rate, money, days or date."""


def table(
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


def figure(charts: Mapping[str, str], key: str, caption: str) -> dict[str, str] | None:
    svg = charts.get(key)
    return {"svg": svg, "caption": caption} if svg else None


def notes(skipped: Mapping[str, str], keys: Sequence[str]) -> list[str]:
    return [f"Partly skipped: {skipped[key].rstrip('.')}." for key in keys if key in skipped]


def number(value: Any) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
