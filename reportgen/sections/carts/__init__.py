"""The cart & customer behaviour section (METRICS.md §3)."""

from __future__ import annotations

from pathlib import Path

from reportgen.plugin import Section, imported_on_use
from reportgen.sections.carts import declaration, rules
from reportgen.sections.carts.compute import compute
from reportgen.sections.carts.contributions import COLUMNS as CONTRIBUTION_COLUMNS
from reportgen.sections.carts.history import history
from reportgen.sections.carts.kpis import CART_KPIS
from reportgen.sections.carts.view import carts_view

SECTION = Section(
    name="carts",
    title="Cart & customer behaviour",
    requires=("carts", "cart_items", "orders"),
    compute=compute,
    charts=imported_on_use("reportgen.sections.carts.charts", "build_charts"),
    recommend=imported_on_use("reportgen.sections.carts.recommend", "recommend"),
    template="sections/_carts.html",
    template_dir=Path(__file__).parent / "templates",
    kpis=CART_KPIS,
    view=carts_view,
    columns={
        "carts.contributions": CONTRIBUTION_COLUMNS,
        "carts.top_abandoned_skus": (
            "product_id",
            "name",
            "category",
            "carts",
            "units",
            "abandoned_value",
            "share",
        ),
        "carts.top_abandoned_categories": (
            "category",
            "carts",
            "units",
            "abandoned_value",
            "share",
        ),
    },
    readings=imported_on_use("reportgen.sections.carts.readings", "cart_readings"),
    tables=declaration.TABLES,
    rules=rules.CartRules,
    rule_texts=rules.RULE_TEXTS,
    extra_rules=imported_on_use("reportgen.sections.carts.readings", "segment_rule"),
    named_rules=declaration.NAMED_RULES,
    data_quality_labels=declaration.DATA_QUALITY_LABELS,
    bad_rows=declaration.BAD_ROWS,
    table_rows=declaration.TABLE_ROWS,
    part_title=declaration.part_title,
    period_from=("carts", "created_at"),
    contributions="carts.contributions",
    history=history,
    coverage=("carts.first_created_at", "carts.last_created_at"),
    check_config=rules.check_config,
)
