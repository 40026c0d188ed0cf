"""Whether a figure can be read yet, and whether its comparison means anything.

Two properties, both read from metrics.json alone (so the report, the email and the
archive index judge alike):

- **Maturity is a property of a KPI.** A KPI whose window has not closed for every row
  behind it (re-engagement within its window of the data's end, carts still open) is
  *provisional*: its section's ``KpiSpec.provisional_when`` says why. Its card shows no
  delta (the previous period was measured when it was older: not like with like), and no
  recommendation rests on its change.
- **Coverage is a property of a period.** A section's data runs from its first to its last
  timestamp (``Section.coverage``). A comparison period the data covers less than
  ``MIN_COMPARISON_COVERAGE`` of is no comparison: its deltas read "n/a — the comparison
  period is only 8% covered" instead of +830%, and no recommendation rests on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportgen.plugin import KpiSpec, Section

MIN_COMPARISON_COVERAGE = 0.95
"""A comparison period must be covered at least this much by the data (rule
``comparison-coverage``)."""


@dataclass(frozen=True)
class Coverage:
    """How much of the report's period and of its comparison period a section's data covers."""

    first: datetime | None
    last: datetime | None
    current: float | None
    """Share of the period between the data's first and last timestamps (None: unknown)."""
    previous: float | None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace(" UTC", ""))
    except ValueError:
        return None


def _share(period: Mapping[str, Any], first: datetime, last: datetime) -> float | None:
    start, end = _moment(period.get("start")), _moment(period.get("end"))
    if start is None or end is None:
        return None
    return covered_share(start, end, first, last)


def covered_share(start: datetime, end: datetime, first: datetime, last: datetime) -> float | None:
    """Return the share of [start, end) that lies between the data's first and last
    timestamps (None for an empty window)."""
    if end <= start:
        return None
    overlap = (min(end, last) - max(start, first)).total_seconds()
    return max(0.0, min(1.0, overlap / (end - start).total_seconds()))


def section_coverage(metrics: Mapping[str, Any], section: Section) -> Coverage | None:
    """Return the coverage of ``section``'s data, or None when it does not say."""
    if section.coverage is None:
        return None
    quality = metrics.get("data_quality") or {}
    first, last = (_moment(quality.get(key)) for key in section.coverage)
    if first is None or last is None:
        return None
    # The last timestamp is a moment inside its day: the data covers up to it.
    return Coverage(
        first,
        last,
        _share(metrics.get("period") or {}, first, last),
        _share(metrics.get("previous_period") or {}, first, last),
    )


def owner(key: str, sections: Sequence[Section]) -> Section | None:
    """Return the section whose KPI ``key`` is (by its name, the key's prefix)."""
    prefix = key.split(".", 1)[0]
    return next((s for s in sections if s.name == prefix), None)


def spec_of(key: str, sections: Sequence[Section]) -> KpiSpec | None:
    for section in sections:
        for spec in section.kpis:
            if spec.key == key:
                return spec
    return None


def provisional(metrics: Mapping[str, Any], spec: KpiSpec) -> str | None:
    """Return why the KPI is not final yet, or None when it is (or cannot say)."""
    if spec.provisional_when is None:
        return None
    try:
        return spec.provisional_when(metrics)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None  # a rule that cannot read this metrics.json does not judge it


def comparison_gap(metrics: Mapping[str, Any], section: Section | None) -> str | None:
    """Say why the comparison with the previous period means nothing for ``section``'s
    figures (the data barely covers it), or None when it is sound."""
    if section is None:
        return None
    found = section_coverage(metrics, section)
    if found is None or found.previous is None or found.previous >= MIN_COMPARISON_COVERAGE:
        return None
    share = found.previous * 100
    shown = f"{share:.0f}%" if share >= 1 or share == 0 else "under 1%"
    return f"the comparison period is only {shown} covered by the data"


def caveat(
    metrics: Mapping[str, Any], spec: KpiSpec, sections: Sequence[Section]
) -> tuple[str | None, str | None]:
    """Return (provisional reason, comparison gap) for one KPI."""
    return provisional(metrics, spec), comparison_gap(metrics, owner(spec.key, sections))


def sound_comparison(metrics: Mapping[str, Any], key: str, sections: Sequence[Section]) -> bool:
    """Whether a change of KPI ``key`` against the previous period can be acted on."""
    spec = spec_of(key, sections)
    if spec is not None and provisional(metrics, spec):
        return False
    return comparison_gap(metrics, owner(key, sections)) is None
