"""The A/B experiments section (METRICS.md §5): gates before verdicts, then the lifts."""

from __future__ import annotations

from pathlib import Path

from reportgen.plugin import Section, imported_on_use
from reportgen.sections.experiments import declaration, rules
from reportgen.sections.experiments.compute import compute
from reportgen.sections.experiments.kpis import EXPERIMENT_KPIS
from reportgen.sections.experiments.view import experiments_view

SECTION = Section(
    name="experiments",
    title="Experiments",
    requires=("experiment_sessions",),
    compute=compute,
    charts=imported_on_use("reportgen.sections.experiments.charts", "build_charts"),
    recommend=imported_on_use("reportgen.sections.experiments.recommend", "recommend"),
    template="sections/_experiments.html",
    template_dir=Path(__file__).parent / "templates",
    kpis=EXPERIMENT_KPIS,
    view=experiments_view,
    columns=declaration.TABLE_COLUMNS,
    readings=imported_on_use("reportgen.sections.experiments.readings", "experiment_readings"),
    tables=declaration.TABLES,
    rules=rules.ExperimentRules,
    rule_texts=rules.RULE_TEXTS,
    named_rules=declaration.NAMED_RULES,
    data_quality_labels=declaration.DATA_QUALITY_LABELS,
    part_title=declaration.part_title,
    period_from=("experiment_sessions", "started_at"),
    history_note=declaration.HISTORY_NOTE,
)
