"""What a section is: the types a section package builds and the core reads.

A section (``reportgen/sections/<name>/``) imports this module to describe itself; the
core imports it to run whatever sections are registered, without naming any of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from reportgen.config import Config
    from reportgen.periods import Period
    from reportgen.source.connection import Source


class SectionRules(BaseModel):
    """Base of a section's rules model: unknown keys are errors, values frozen after load.

    A section's model lives in its folder; its fields are its ``rules.<section>.*`` keys
    (also accepted flat, ``rules.<key>``), their defaults the METRICS.md defaults.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class TableSpec:
    """A canonical table as a section reads it (METRICS.md §1)."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    timestamp: str | None = None
    """The column that places a row in time (parsed by the §8 rules)."""
    freshness: bool = False
    """Its newest ``timestamp`` tells how far the data reaches (the delivery gate)."""


@dataclass(frozen=True)
class BadRows:
    """A data_quality count of unreadable or dropped rows, weighed against its table by the
    ``bad-row-share`` rule: above ``quality.max_bad_row_share`` it is a data alert."""

    key: str
    """The count (``carts.unparsed_created_at``)."""
    total: str
    """The data_quality key of its denominator (``carts.table_rows``)."""
    table: str
    noun: str
    """What the rows are called in the alert: ``carts``, ``events of the period``."""
    problem: str
    """Completes "<count> of <total> <noun> (<share>) …": what happened to them."""


@dataclass(frozen=True)
class TableRows:
    """A data_quality count of a source table's rows: an empty table is a data alert."""

    key: str
    table: str
    consequence: str
    """What an empty table means for the report, completing "The <table> table is empty: …"."""
    in_period: tuple[str, str] | None = None
    """(``kpis`` or ``data_quality``, key) of the rows of the period: none there while the
    table has rows is a data alert too."""
    column: str = ""
    """The column that places a row in the period, for that alert's sentence."""


Describe = Callable[[Any], str]
"""A rule's value → what it means, in words a director reads."""


@dataclass(frozen=True)
class RuleText:
    """How the Assumptions appendix names and explains one rule."""

    name: str
    meaning: Describe


@dataclass(frozen=True)
class Recommendation:
    """One written recommendation, backed by the numbers that triggered it."""

    section: str
    headline: str
    """An imperative sentence a director can act on."""
    detail: str
    """The numbers and the comparison behind it, formatted as the report shows them."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """metrics.json keys (or table cells) and the values the rule read."""
    priority: int = 50
    """Lower comes first in the report."""
    kpi: str | None = None
    """The metrics.json KPI the advice acts on (``carts.abandonment_rate``), if one."""
    pull: Literal["up", "down"] | None = None
    """Which way acting on it should move ``kpi``: two recommendations of one report
    never pull one KPI opposite ways."""
    expected_value: float | None = None
    """Money the action may bring in the report's currency, where it can be estimated."""
    compares: bool = False
    """It rests on the change against the previous period: it is withheld when that
    comparison is not sound (the KPI is provisional, or the data barely covers the
    previous period)."""
    expected_value_basis: str | None = None
    """How ``expected_value`` was estimated, in words (``savable value times the re-engagement
    rate``)."""


@dataclass(frozen=True)
class SectionResult:
    """What a section computed for one period: merged into metrics.json."""

    kpis: dict[str, Any]
    previous_kpis: dict[str, Any]
    tables: dict[str, list[dict[str, Any]]]
    data_quality: dict[str, Any]
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class KpiSpec:
    """How a metrics.json KPI is shown."""

    key: str
    label: str
    kind: Literal["number", "rate", "money", "days"]
    better: Literal["up", "down", "neutral"] = "neutral"
    headline: bool = False
    """Shown on the cover and in the email."""
    label_from_rules: Callable[[Mapping[str, Any]], str | None] | None = None
    """(metrics.json ``rules``) → the label when a rule's value belongs in it (``7-day
    re-engagement rate``); None keeps ``label``."""
    provisional_when: Callable[[Mapping[str, Any]], str | None] | None = None
    """(metrics) → why the value is not final yet (its window has not closed for every row
    behind it: ``873 of 992 abandoned carts are still inside their 7-day window``), or
    None when it is final. Read from metrics.json only."""


SectionView = Callable[[dict[str, Any], str, Mapping[str, str], Mapping[str, str]], dict[str, Any]]
"""(metrics, currency, charts, skipped reasons) → the partial's view; a view has ``parts``:
[{id, title}], the headings the contents page links to."""


@dataclass(frozen=True)
class Section:
    """A report section: how to compute it, draw it, word it and lay it out."""

    name: str
    title: str
    requires: tuple[str, ...]
    """Canonical tables this section needs; it is skipped when the first is missing (and
    the build fails, naming them, when the first is there without the others)."""
    compute: Callable[[Source, Config, Period], SectionResult]
    charts: Callable[[dict[str, Any], str], dict[str, str]]
    """(metrics, currency) → {chart name: inline SVG}."""
    recommend: Callable[[dict[str, Any], str], list[Recommendation]]
    """(metrics, currency) → recommendations."""
    template: str
    """The Jinja partial that lays the section out."""
    kpis: tuple[KpiSpec, ...] = ()
    """Its KPIs; the ``headline`` ones go on the cover."""
    view: SectionView | None = None
    """Builds the display strings its partial places."""
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Table name → its columns, so that an empty table's CSV still has its header."""
    readings: Callable[[Mapping[str, Any]], list[dict[str, str]]] | None = None
    """(metrics) → its fixed readings of METRICS.md, [{name, meaning}], for the appendix."""
    template_dir: Path | None = None
    """The folder holding its partial (reached as ``sections/<file>``)."""
    tables: tuple[TableSpec, ...] = ()
    """The canonical tables it reads, with their columns (several sections may read one
    table: their columns are merged)."""
    rules: type[SectionRules] | None = None
    """Its rules model: ``rules.<name>`` in the config, flat in metrics.json ``rules``."""
    rule_texts: Mapping[str, RuleText] = field(default_factory=dict)
    """Rule key → its name and meaning in the appendix, in the order listed there."""
    extra_rules: Callable[[Mapping[str, Any]], list[dict[str, str]]] | None = None
    """(metrics) → appendix rows for settings outside ``rules`` that it applies (e.g.
    its segment columns), [{key, name, value, meaning}]."""
    named_rules: tuple[tuple[str, str], ...] = ()
    """Readings it adds where METRICS.md is silent: (slug, text), listed in its README."""
    data_quality_labels: Mapping[str, str] = field(default_factory=dict)
    """Its data_quality keys → what each counts, in plain words."""
    part_title: Callable[[str], str | None] | None = None
    """A ``skipped`` entry's name (``carts.segment.age_band``) → its display name."""
    contributions: str | None = None
    """Its table that splits KPI changes by group (columns kpi, dimension, group,
    previous, current, change, size_effect, rate_effect, contribution, share_of_change):
    the executive summary says why a headline KPI moved from it."""
    appendix_template: str | None = None
    """A partial of technical parts (a cleaning audit) laid out in the appendix, after the
    director's pages; reached like ``template``."""
    coverage: tuple[str, str] | None = None
    """The data_quality keys of the first and last parseable timestamps of its main table
    (local ``YYYY-MM-DD HH:MM:SS``, whole table): how far back and forward its data goes,
    so a period the data barely covers is not compared against."""
    period_from: tuple[str, str] | None = None
    """(table, column) whose newest value picks the default period, when it is the first
    registered section whose table the source has."""
    history_note: str | None = None
    """Set when its headline KPIs are left out of the cover's history: the sentence the
    cover prints instead."""
    history: Callable[[Source, Config, Sequence[Period]], dict[str, list[Any]]] | None = None
    """(source, config, periods oldest first) → headline KPI key → its value in each
    period, in one grouped pass over the window instead of a ``compute`` per two periods.
    The values must equal what ``compute`` gives for each period (a test compares them)."""
    bad_rows: tuple[BadRows, ...] = ()
    """Its counts of unreadable or dropped rows, for the data alerts."""
    table_rows: tuple[TableRows, ...] = ()
    """Its counts of source-table rows, for the data alerts."""
    check_config: Callable[[Mapping[str, Any]], list[tuple[str, str]]] | None = None
    """(the config mapping as read) → problems with the settings outside ``rules`` that it
    owns, [(key, message)]."""


def imported_on_use(module: str, name: str) -> Callable[..., Any]:
    """Return a function that imports ``module.name`` on its first call and calls it.

    Computing metrics must not pay for Altair, vl-convert and the rules' modules; a
    section names its charts, recommendations and readings this way.
    """

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = f"{module}.{name}"
    return call
