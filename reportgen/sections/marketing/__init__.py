"""The marketing section (METRICS.md §6): campaigns, repeat purchase, retention, cohorts."""

from __future__ import annotations

from pathlib import Path

from reportgen.plugin import Section, imported_on_use
from reportgen.sections.marketing import declaration, rules
from reportgen.sections.marketing.compute import compute
from reportgen.sections.marketing.kpis import MARKETING_KPIS

SECTION = Section(
    name="marketing",
    title="Marketing",
    # Orders alone are enough: campaigns and campaign_activity are optional (METRICS.md §6).
    requires=("orders",),
    compute=compute,
    charts=imported_on_use("reportgen.sections.marketing.charts", "build_charts"),
    recommend=imported_on_use("reportgen.sections.marketing.recommend", "recommend"),
    template="sections/_marketing.html",
    template_dir=Path(__file__).parent / "templates",
    kpis=MARKETING_KPIS,
    view=imported_on_use("reportgen.sections.marketing.view", "marketing_view"),
    columns=declaration.TABLE_COLUMNS,
    readings=imported_on_use("reportgen.sections.marketing.readings", "marketing_readings"),
    tables=declaration.TABLES,
    rules=rules.MarketingRules,
    rule_texts=rules.RULE_TEXTS,
    named_rules=declaration.NAMED_RULES,
    data_quality_labels=declaration.DATA_QUALITY_LABELS,
    part_title=declaration.part_title,
    period_from=("orders", "order_date"),
)
