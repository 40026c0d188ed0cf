"""The director's page: what happened, why, and what to do, in display text.

Built from metrics.json (the moves, their contributions, the caveats), trends.json (the
usual range) and the report's recommendations, so it says nothing the rest of the report
does not back. Three rules keep it honest:

- A move is a headline KPI whose change against the previous period is *sound*: not
  provisional, and the comparison period is covered by the data (``report.maturity``).
  The largest are those outside their usual range first, then by relative change; a
  change under ``MIN_MOVE`` is no move.
- *Why* is the group of the section's contribution table that explains most of the
  change, split into its size and its rate effect where the KPI is a rate.
- *What to do* is the first recommendations of the report's ranked list (those resting on
  an unsound comparison were withheld before), with the money each may bring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.plugin import KpiSpec, Recommendation, Section
from reportgen.render.formatters import (
    fmt_date,
    fmt_delta,
    fmt_money_short,
    fmt_number,
    fmt_value,
)
from reportgen.render.viewparts import number, shows_as_zero
from reportgen.report.maturity import MIN_COMPARISON_COVERAGE, caveat, section_coverage
from reportgen.report.trends import usual_range

MIN_MOVE = 0.02
"""A relative change (or, for a rate, a change relative to the rate) below 2% is no move."""
MOVES = 3
ACTIONS = 3


def _money_short(value: float, currency: str) -> str:
    """$904k, $1.2M, $850: the headline money policy."""
    return fmt_money_short(value, currency)


def coverage_line(metrics: Mapping[str, Any], sections: Sequence[Section]) -> str | None:
    """Say how far the data goes and whether the comparison period is covered."""
    spans = [c for c in (section_coverage(metrics, s) for s in sections) if c is not None]
    if not spans:
        return None
    first = min(c.first for c in spans if c.first)
    last = max(c.last for c in spans if c.last)
    text = f"Data from {fmt_date(first)} to {fmt_date(last)}."
    previous = [c.previous for c in spans if c.previous is not None]
    if previous and min(previous) < MIN_COMPARISON_COVERAGE:
        share = min(previous) * 100
        shown = f"{share:.0f}%" if share >= 1 or share == 0 else "under 1%"
        text += (
            f" The comparison period is only {shown} covered, so changes against it are not shown."
        )
    current = [c.current for c in spans if c.current is not None]
    if current and min(current) < MIN_COMPARISON_COVERAGE:
        text += f" The data covers {min(current) * 100:.0f}% of this period."
    return text


def _relative(spec: KpiSpec, current: float, previous: float) -> float | None:
    if previous == 0:
        return None
    return (current - previous) / abs(previous)


def largest_moves(
    metrics: Mapping[str, Any],
    sections: Sequence[Section],
    trends: Mapping[str, Any] | None,
    currency: str,
    limit: int = MOVES,
) -> list[dict[str, Any]]:
    """Return the largest sound moves of the headline KPIs, one sentence and a why each."""
    kpis = metrics.get("kpis") or {}
    previous = kpis.get("previous") or {}
    found: list[tuple[tuple[int, float], dict[str, Any]]] = []
    for section in sections:
        for spec in section.kpis:
            if not spec.headline:
                continue
            now, then = number(kpis.get(spec.key)), number(previous.get(spec.key))
            if now is None or then is None or shows_as_zero(now - then, spec.kind):
                continue
            unfinished, gap = caveat(metrics, spec, sections)
            relative = _relative(spec, now, then)
            if unfinished or gap or relative is None or abs(relative) < MIN_MOVE:
                continue
            outside = _outside(spec, trends, kpis.get(spec.key), currency)
            move = {
                "key": spec.key,
                "sentence": _move_sentence(spec, now, then, currency, outside),
                "tone": _tone(spec, now - then),
                "why": _why(metrics, section, spec, currency),
            }
            found.append(((1 if outside else 0, abs(relative)), move))
    found.sort(key=lambda item: item[0], reverse=True)
    return [move for _, move in found[:limit]]


def _outside(
    spec: KpiSpec, trends: Mapping[str, Any] | None, value: Any, currency: str
) -> str | None:
    history = (trends or {}).get(spec.key) or []
    if len(history) < 2:
        return None
    values = [point.get("value") for point in history]
    values[-1] = value
    spread = usual_range(values)
    if spread["status"] not in ("above", "below"):
        return None
    low, high = (_short(v, spec.kind, currency) for v in (spread["low"], spread["high"]))
    return f"{'above' if spread['status'] == 'above' else 'below'} its usual {low}\u2013{high}"


def _short(value: float, kind: str, currency: str) -> str:
    return _money_short(value, currency) if kind == "money" else fmt_value(value, kind, currency)


def _move_sentence(
    spec: KpiSpec, now: float, then: float, currency: str, outside: str | None
) -> str:
    verb = "rose" if now > then else "fell"
    change = fmt_delta(now, then, spec.kind, currency, inside_brackets=True)
    if spec.kind == "money":
        sign = "+" if now >= then else "\u2212"
        change = f"{sign}{_money_short(abs(now - then), currency)}"
        relative = _relative(spec, now, then)
        if relative is not None:
            change += f", {relative * 100:+.1f}%"
    text = f"{spec.label} {verb} to {_short(now, spec.kind, currency)} ({change})"
    return f"{text}, {outside}." if outside else f"{text}."


def _tone(spec: KpiSpec, change: float) -> str:
    if spec.better == "neutral":
        return "neutral"
    good = change > 0 if spec.better == "up" else change < 0
    return "good" if good else "bad"


ACRONYMS = {"clv": "CLV", "sku": "SKU", "roi": "ROI", "cpc": "CPC", "utm": "UTM"}
"""Words of a group column's name that read in capitals ("CLV bucket", not "clv bucket")."""


def _why(metrics: Mapping[str, Any], section: Section, spec: KpiSpec, currency: str) -> str | None:
    """Name the group that explains most of a KPI's change (its contribution table)."""
    if section.contributions is None:
        return None
    rows = [
        row
        for row in (metrics.get("tables") or {}).get(section.contributions) or []
        if isinstance(row, Mapping) and row.get("kpi") == spec.key
    ]
    rows = [row for row in rows if number(row.get("contribution")) is not None]
    if not rows:
        return None
    kpis = metrics.get("kpis") or {}
    now, then = number(kpis.get(spec.key)), number((kpis.get("previous") or {}).get(spec.key))
    total = (now - then) if now is not None and then is not None else None
    if not total:
        return None
    # The group that pushed the KPI furthest the way it moved (rule largest-moves).
    rows = [row for row in rows if row["contribution"] * total > 0]
    if not rows:
        return None
    top = max(rows, key=lambda row: abs(row["contribution"]))
    group = str(top.get("group") if top.get("group") is not None else "Unknown")
    dimension = " ".join(
        ACRONYMS.get(word, word) for word in str(top.get("dimension") or "").split("_")
    )
    share = top["contribution"] / total
    part = _amount(top["contribution"], spec.kind, currency)
    # Past the whole change (the others moved it back), "108% of it" would read as a typo.
    whole = _amount(total, spec.kind, currency)
    text = (
        f"{group} ({dimension}) moved it {part}, more than the whole change ({whole})"
        if share > 1
        else f"{group} ({dimension}) accounts for {part} of it ({share * 100:.0f}%)"
    )
    size, rate = number(top.get("size_effect")), number(top.get("rate_effect"))
    if spec.kind == "rate" and size is not None and rate is not None:
        text += (
            f": {_amount(rate, 'rate', currency)} from its own rate and "
            f"{_amount(size, 'rate', currency)} from its share of the total"
        )
    if share > 1:
        rest = _amount(total - top["contribution"], spec.kind, currency)
        text += f"; the other groups together: {rest}"
    return f"{text}."


def _amount(value: float, kind: str, currency: str) -> str:
    if kind == "rate":
        return f"{value * 100:+.1f} pp"
    if kind == "money":
        sign = "+" if value >= 0 else "\u2212"
        return f"{sign}{_money_short(abs(value), currency)}"
    return f"{'+' if value >= 0 else ''}{fmt_number(value)}"


def actions(
    recommendations: Sequence[Recommendation], currency: str, limit: int = ACTIONS
) -> list[dict[str, str]]:
    """Return the first recommendations, with the money each may bring where estimated."""
    out = []
    for rec in sorted(recommendations, key=lambda r: r.priority)[:limit]:
        value = None
        if rec.expected_value is not None and rec.expected_value > 0:
            value = f"Worth about {_money_short(rec.expected_value, currency)}"
            if rec.expected_value_basis:
                value += f" ({rec.expected_value_basis})"
            value += "."
        out.append(
            {
                "headline": rec.headline,
                "detail": rec.detail,
                "brief": first_sentence(rec.detail),
                "value": value or "",
            }
        )
    return out


def first_sentence(text: str, limit: int = 220) -> str:
    """Return the first sentence of a recommendation's detail (the one with its numbers),
    cut at ``limit`` characters: the summary page has room for three of them."""
    text = " ".join(text.split())
    for index, char in enumerate(text):
        if char == "." and (index + 1 == len(text) or text[index + 1] == " "):
            before = text[max(0, index - 3) : index]
            if not before.replace(",", "").isdigit():  # not a decimal point or "e.g."
                text = text[: index + 1]
                break
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"


def _label_name(label: Any, fallback: str) -> str:
    """``2026-10`` → ``October 2026`` (a week or custom label stays as it is)."""
    from reportgen.render.formatters import fmt_period_name

    text = str(label or "")
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit():
        return fmt_period_name({"kind": "month", "start": f"{text}-01T00:00:00"})
    return text or fallback


def last_time(
    earlier: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, Any],
    sections: Sequence[Section],
    currency: str,
    previous_label: str,
) -> list[dict[str, str]]:
    """Say whether the metric each of last report's recommendations acted on moved as hoped.

    ``earlier`` are last report's recommendations as its build.json recorded them, with
    ``then``, the KPI's value in that report (``archive.index.last_recommendations``);
    only those naming a KPI (``kpi`` and ``pull``) can be judged.
    """
    kpis = metrics.get("kpis") or {}
    out = []
    for rec in earlier:
        key, pull = rec.get("kpi"), rec.get("pull")
        headline = str(rec.get("headline") or "")
        spec = next((s for sec in sections for s in sec.kpis if s.key == key), None)
        if not headline or spec is None or pull not in ("up", "down"):
            continue
        now, then = number(kpis.get(key)), number(rec.get("then"))
        previous_label = _label_name(rec.get("then_label"), previous_label)
        unfinished, gap = caveat(metrics, spec, sections)
        if now is None or then is None:
            verdict, tone = "no figure to judge it by yet", "neutral"
        elif unfinished or gap:
            verdict, tone = "too early to tell (the figure is provisional)", "neutral"
        elif shows_as_zero(now - then, spec.kind):
            verdict, tone = "no change yet", "neutral"
        else:
            hoped = (now > then) == (pull == "up")
            verdict = "moved as hoped" if hoped else "moved the other way"
            tone = "good" if hoped else "bad"
        figures = ""
        if now is not None and then is not None:
            figures = (
                f"{spec.label}: {_short(then, spec.kind, currency)} in {previous_label}, "
                f"{_short(now, spec.kind, currency)} now"
            )
        out.append({"headline": headline, "figures": figures, "verdict": verdict, "tone": tone})
    return out
