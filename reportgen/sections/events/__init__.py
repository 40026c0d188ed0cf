"""The event-log funnel section (METRICS.md §4): clickstream → funnel, merchandising, gaps."""

from __future__ import annotations

from pathlib import Path

from reportgen.plugin import Section, imported_on_use
from reportgen.sections.events import declaration, rules
from reportgen.sections.events.compute import TABLE_COLUMNS, compute, history
from reportgen.sections.events.kpis import EVENT_KPIS
from reportgen.sections.events.view import events_view

SECTION = Section(
    name="events",
    title="Event funnels",
    requires=("events",),
    compute=compute,
    charts=imported_on_use("reportgen.sections.events.charts", "build_charts"),
    recommend=imported_on_use("reportgen.sections.events.recommend", "recommend"),
    template="sections/_events.html",
    appendix_template="sections/_events_appendix.html",
    template_dir=Path(__file__).parent / "templates",
    kpis=EVENT_KPIS,
    view=events_view,
    columns=TABLE_COLUMNS,
    readings=imported_on_use("reportgen.sections.events.readings", "event_readings"),
    tables=declaration.TABLES,
    rules=rules.EventRules,
    rule_texts=rules.RULE_TEXTS,
    named_rules=declaration.NAMED_RULES,
    data_quality_labels=declaration.DATA_QUALITY_LABELS,
    bad_rows=declaration.BAD_ROWS,
    table_rows=declaration.TABLE_ROWS,
    part_title=declaration.PART_NAMES.get,
    period_from=("events", "event_time"),
    coverage=("events.first_event_time", "events.last_event_time"),
    history=history,
)
