"""A throwaway section, as a third party would write one: loyalty points awarded.

It lives outside reportgen and joins a report by one registration line; the test that
uses it proves the core needs nothing else (its table, KPI, rule, chart, template and
data-quality count all come from here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
from pydantic import Field

from reportgen.plugin import (
    KpiSpec,
    Recommendation,
    RuleText,
    Section,
    SectionResult,
    SectionRules,
    TableSpec,
)
from reportgen.render.charts import to_svg
from reportgen.render.viewparts import cards, figure
from reportgen.source.query import one
from reportgen.source.sqlexpr import Expr


class PointsRules(SectionRules):
    big_award: int = Field(100, ge=1)


def compute(source: Any, config: Any, period: Any) -> SectionResult:
    info = source.table("point_awards")
    expr = Expr(source.dialect, config.report.timezone)
    parsed = expr.with_timestamps(
        f"select {expr.strip(info.columns['awarded_at'])} as x, "
        f"{expr.number(info.columns['points'])} as points from {info.sql}"
    )

    def totals(p: Any) -> dict[str, Any]:
        row = one(
            source.connection,
            f"""select coalesce(sum(points), 0) as awarded,
                       coalesce(sum(case when points >= :big then 1 else 0 end), 0) as big,
                       coalesce(sum(case when points < 0 then 1 else 0 end), 0) as negative
                from ({parsed}) awards where local >= :start and local < :end""",
            big=config.rules.big_award,
            start=p.start_text,
            end=p.end_text,
        )
        return {k: int(v) for k, v in row.items()}

    now, before = totals(period), totals(period.previous())
    return SectionResult(
        kpis={"points.points_awarded": now["awarded"], "points.big_awards": now["big"]},
        previous_kpis={
            "points.points_awarded": before["awarded"],
            "points.big_awards": before["big"],
        },
        tables={"points.by_period": [{"period": "now", "points": now["awarded"]}]},
        data_quality={"points.negative_awards": now["negative"]},
    )


KPIS = (
    KpiSpec("points.points_awarded", "Points awarded", "number", "up", headline=True),
    KpiSpec("points.big_awards", "Big awards", "number", "up"),
)


def charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    rows = metrics["tables"]["points.by_period"]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(x="period:N", y="points:Q")
    return {"points.by_period": to_svg(chart)}


def recommend(metrics: dict[str, Any], currency: str) -> list[Recommendation]:
    return []


def view(metrics: dict[str, Any], currency: str, charts: Any, skipped: Any) -> dict[str, Any]:
    return {
        "parts": [{"id": "points", "title": "Loyalty points"}],
        "cards": cards(KPIS, [k.key for k in KPIS], metrics, currency),
        "figure": figure(charts, "points.by_period", "Points awarded in the period."),
    }


SECTION = Section(
    name="points",
    title="Loyalty points",
    requires=("point_awards",),
    compute=compute,
    charts=charts,
    recommend=recommend,
    template="sections/_points.html",
    template_dir=Path(__file__).parent / "templates",
    kpis=KPIS,
    view=view,
    tables=(TableSpec("point_awards", ("customer_id", "awarded_at", "points"), (), "awarded_at"),),
    rules=PointsRules,
    rule_texts={
        "big_award": RuleText(
            "Big award", lambda v: f"An award of {v} points or more counts as a big award."
        )
    },
    data_quality_labels={"points.negative_awards": "Point awards below zero"},
)
