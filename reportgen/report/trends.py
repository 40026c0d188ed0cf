"""Headline KPIs over the last periods, recomputed from the source: history, usual range,
sparkline.

The history is computed, not read from archived reports, so a restated number (a late
order, a corrected status) is the same in every month it appears in. Each section's
``compute`` already returns its period and the one before, so 12 periods take 6 calls:
for ``period``, ``period - 2``, ``period - 4``… on one open source (5 calls when the
period's metrics.json is at hand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.plugin import Section
from reportgen.report.maturity import (
    MIN_COMPARISON_COVERAGE,
    Coverage,
    covered_share,
    section_coverage,
)
from reportgen.report.metrics import clean_json, skip_reason
from reportgen.sections import all_sections
from reportgen.source.connection import Source, open_source

HISTORY_PERIODS = 12
"""Periods in a sparkline, the report's own included."""
RANGE_WINDOW = 8
"""Periods before the report's whose lowest and highest value make the usual range."""
RANGE_MIN_VALUES = 3
"""Fewer earlier values than this (nulls left out) give no usual range."""

SPARK_WIDTH, SPARK_HEIGHT = 90, 24
"""Sparkline size in CSS px (24 by 6 mm)."""
SPARK_PAD = 3
"""Room around the line for the last point's dot, px."""
SPARK_LINE = "#616e7c"
SPARK_DOT = "#1f4e79"
"""The report's muted ink and accent (report.css ``--muted``, ``--accent``)."""


def kpi_history(
    config: Config,
    period: Period,
    sections: Sequence[str] | None = None,
    count: int = HISTORY_PERIODS,
    *,
    metrics: Mapping[str, Any] | None = None,
    earlier: EarlierValues | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Return each headline KPI's last ``count`` periods, oldest first, ending with ``period``.

    ``{"carts.carts_total": [{"label": "2025-11", "value": 3801}, …]}``, for every section
    the source has (or those named); a value is None where METRICS.md §7 makes it null.
    ``metrics``, the metrics.json dict of ``period``, saves computing it and the period
    before again; ``earlier``, from ``earlier_values`` (run beside the build's queries or
    charts), saves the one-pass histories of the periods before those two.
    """
    with open_source(config) as source:
        return _history(source, config, period, sections, count, metrics, earlier)


@dataclass(frozen=True)
class EarlierValues:
    """The one-pass histories' values of all but the newest two of ``count`` periods."""

    period: Period
    count: int
    values: dict[str, list[Any]]
    """KPI key → values, newest first, from the period two before ``period`` back."""


def earlier_values(
    config: Config,
    period: Period,
    sections: Sequence[str] | None,
    count: int,
    metrics: Mapping[str, Any] | None = None,
) -> EarlierValues:
    """Compute the one-pass histories of the periods before ``period``'s metrics.json
    holds (it holds ``period`` and the one before), on a connection of their own: a build
    runs them beside its charts. With ``metrics`` (that metrics.json), periods the data
    barely covers, whose values the history leaves out, are not computed."""
    with open_source(config) as source:
        chosen = _chosen(source, sections)
        newest_first = _newest_first(period, count)[KNOWN:]
        values = _one_pass(source, config, newest_first, chosen, metrics)
    return EarlierValues(period=period, count=count, values=values)


KNOWN = 2
"""Periods of a history that metrics.json holds: the report's own and the one before."""


def _chosen(source: Source, wanted: Sequence[str] | None) -> list[tuple[Section, list[str]]]:
    """Return the sections with headline KPIs that a build computes (and their keys)."""
    chosen: list[tuple[Section, list[str]]] = []
    for section in all_sections():
        keys = [spec.key for spec in section.kpis if spec.headline]
        if not keys or (wanted is not None and section.name not in wanted):
            continue
        # Skipped exactly as compute_metrics skips it (and as loudly when half there).
        if skip_reason(source, section) is None:
            chosen.append((section, keys))
    return chosen


def _newest_first(period: Period, count: int) -> list[Period]:
    newest_first: list[Period] = [period]
    while len(newest_first) < count:
        newest_first.append(newest_first[-1].previous())
    return newest_first


def _one_pass(
    source: Source,
    config: Config,
    newest_first: Sequence[Period],
    chosen: Sequence[tuple[Section, list[str]]],
    metrics: Mapping[str, Any] | None = None,
    *,
    report_period_first: bool = False,
) -> dict[str, list[Any]]:
    """Return the values of the sections with a one-pass history, newest first.

    With ``metrics``, each section is asked only the periods from the oldest to the newest
    that its data covers enough to be shown (``_shown``); the others are None, as
    ``_history`` would make them: a log that starts in October has no history to read.
    The report's own period (``report_period_first``: it leads ``newest_first``) is
    always shown.
    """
    found: dict[str, list[Any]] = {}
    oldest_first = list(newest_first[::-1])
    own = len(oldest_first) - 1 if report_period_first else None
    for section, keys in chosen:
        if section.history is None:
            continue
        covered = section_coverage(metrics, section) if metrics is not None else None
        shown = [i for i, past in enumerate(oldest_first) if i == own or _shown(past, covered)]
        asked = oldest_first[shown[0] : shown[-1] + 1] if shown else []
        engine = source.holding(section.requires[0])
        values = section.history(engine, config, asked) if asked else {}
        for key in keys:
            every: list[Any] = [None] * len(oldest_first)
            if asked:
                every[shown[0] : shown[-1] + 1] = values.get(key, [None] * len(asked))
            found[key] = every[::-1]
    return found


def _shown(past: Period, covered: Coverage | None) -> bool:
    """Whether a past period's value is shown: not when the data covers less than
    MIN_COMPARISON_COVERAGE of it (rule comparison-coverage). Unknown coverage: shown."""
    if covered is None or covered.first is None or covered.last is None:
        return True
    start, end = datetime.combine(past.start, time()), datetime.combine(past.end, time())
    share = covered_share(start, end, covered.first, covered.last)
    return share is not None and share >= MIN_COMPARISON_COVERAGE


def year_ago_kpis(
    config: Config,
    period: Period,
    sections: Sequence[str] | None,
    metrics: Mapping[str, Any],
) -> dict[str, Any] | None:
    """Return the headline KPIs of the same period a year before, when the data covers it
    (a Black Friday week beside last year's, not only the week before): ``{"label", "period",
    "kpis"}``, or None when no section's data reaches back that far."""
    earlier = period.year_ago()
    start, end = datetime.combine(earlier.start, time()), datetime.combine(earlier.end, time())
    with open_source(config) as source:
        found: dict[str, Any] = {}
        for section in all_sections():
            keys = [spec.key for spec in section.kpis if spec.headline]
            if not keys or (sections is not None and section.name not in sections):
                continue
            covered = section_coverage(metrics, section)
            share = (
                covered_share(start, end, covered.first, covered.last)
                if covered and covered.first and covered.last
                else None
            )
            if share is None or share < MIN_COMPARISON_COVERAGE:
                continue
            if skip_reason(source, section) is not None:
                continue
            engine = source.holding(section.requires[0])
            if section.history is not None:
                values = section.history(engine, config, [earlier])
                found.update({key: (values.get(key) or [None])[0] for key in keys})
            else:
                kpis = section.compute(engine, config, earlier).kpis
                found.update({key: kpis.get(key) for key in keys})
    if not found:
        return None
    return {"label": earlier.label, "period": earlier.as_json(), "kpis": clean_json(found)}


def history_sections(sections: Sequence[str] | None = None) -> list[str]:
    """Return the sections of a build (all, or those named) whose history it computes: a
    section with a one-pass ``history``, or without a ``history_note`` saying it is slow."""
    return [
        s.name
        for s in all_sections()
        if (s.history is not None or s.history_note is None)
        and (sections is None or s.name in sections)
    ]


def _history(
    source: Source,
    config: Config,
    period: Period,
    wanted: Sequence[str] | None,
    count: int,
    metrics: Mapping[str, Any] | None,
    earlier: EarlierValues | None = None,
) -> dict[str, list[dict[str, Any]]]:
    chosen = _chosen(source, wanted)
    newest_first = _newest_first(period, count)
    found: dict[str, list[Any]] = {key: [None] * count for _, keys in chosen for key in keys}
    # metrics.json of this very period already holds its values and the period before's.
    given = metrics if metrics and metrics.get("period") == period.as_json() else None
    known = min(KNOWN, count) if given is not None else 0
    # A section with a one-pass history answers every other period at once.
    fits = earlier is not None and (earlier.period, earlier.count) == (period, count)
    if given is not None and fits:
        past = earlier.values  # type: ignore[union-attr]
    else:
        past = _one_pass(
            source, config, newest_first[known:], chosen, metrics, report_period_first=not known
        )
    for key, values in past.items():
        if given is not None:
            values = [given["kpis"].get(key), given["kpis"]["previous"].get(key)][:known] + values
        found[key] = values
    by_compute = [(section, keys) for section, keys in chosen if section.history is None]
    for index in range(0, count, 2):
        for section, keys in by_compute:
            if index == 0 and given is not None:
                kpis, previous = given["kpis"], given["kpis"]["previous"]
            else:
                engine = source.holding(section.requires[0])
                result = section.compute(engine, config, newest_first[index])
                kpis, previous = result.kpis, result.previous_kpis
            for key in keys:
                found[key][index] = kpis.get(key)
                if index + 1 < count:
                    found[key][index + 1] = previous.get(key)
    # The usual range uses only periods the data fully covers: a month the data starts in
    # the middle of is no guide to what is usual (rule comparison-coverage).
    if metrics is not None:
        for section, keys in chosen:
            covered = section_coverage(metrics, section)
            for index, past in enumerate(newest_first):
                if index and not _shown(past, covered):
                    for key in keys:
                        found[key][index] = None
    labels = [p.label for p in reversed(newest_first)]
    return {
        key: [
            {"label": label, "value": value}
            for label, value in zip(labels, clean_json(values[::-1]), strict=True)
        ]
        for key, values in found.items()
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def usual_range(values: Sequence[Any], window: int = RANGE_WINDOW) -> dict[str, Any]:
    """Place the last value against the lowest and highest of the ``window`` before it.

    Returns ``{low, high, status}``; status is ``within``, ``above`` or ``below``, or None
    when the last value is null or fewer than ``RANGE_MIN_VALUES`` earlier ones are known
    (then low and high are None too).
    """
    if not values:
        return {"low": None, "high": None, "status": None}
    earlier = [v for v in (_number(v) for v in values[:-1][-window:]) if v is not None]
    if len(earlier) < RANGE_MIN_VALUES:
        return {"low": None, "high": None, "status": None}
    low, high, last = min(earlier), max(earlier), _number(values[-1])
    if last is None:
        status = None
    elif last > high:
        status = "above"
    elif last < low:
        status = "below"
    else:
        status = "within"
    return {"low": low, "high": high, "status": status}


def sparkline_svg(
    values: Sequence[Any],
    title: str = "",
    *,
    width: int = SPARK_WIDTH,
    height: int = SPARK_HEIGHT,
) -> str:
    """Return a sparkline as inline SVG: a line through the values, a dot on the last one.

    A null value breaks the line (a value alone between nulls is a small dot); no value
    at all gives an empty string. Plain SVG with presentation attributes, so browsers and
    WeasyPrint draw it alike.
    """
    known = [(i, v) for i, v in enumerate(_number(v) for v in values) if v is not None]
    if not known:
        return ""
    low = min(v for _, v in known)
    high = max(v for _, v in known)
    step = (width - 2 * SPARK_PAD) / max(len(values) - 1, 1)

    def point(index: int, value: float) -> tuple[float, float]:
        x = SPARK_PAD + index * step
        if high == low:
            return x, height / 2
        return x, height - SPARK_PAD - (value - low) / (high - low) * (height - 2 * SPARK_PAD)

    runs: list[list[tuple[float, float]]] = []
    previous = -2
    for index, value in known:
        if runs and index - 1 == previous:
            runs[-1].append(point(index, value))
        else:
            runs.append([point(index, value)])
        previous = index
    shapes = []
    for run in runs:
        if len(run) == 1:
            x, y = run[0]
            shapes.append(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="1" fill="{SPARK_LINE}"/>')
        else:
            points = " ".join(f"{x:.2f},{y:.2f}" for x, y in run)
            shapes.append(
                f'<polyline points="{points}" fill="none" stroke="{SPARK_LINE}" '
                'stroke-width="1.2" stroke-linejoin="round" stroke-linecap="round"/>'
            )
    last_index, last_value = known[-1]
    if last_index == len(values) - 1:
        x, y = point(last_index, last_value)
        shapes.append(
            f'<circle class="last" cx="{x:.2f}" cy="{y:.2f}" r="2.2" fill="{SPARK_DOT}"/>'
        )
    label = f" aria-label={quoteattr(title)}" if title else ""
    tooltip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img"{label}>'
        f"{tooltip}{''.join(shapes)}</svg>"
    )
