"""The experiment section's figures for a period and the one before (METRICS.md §5, §8).

Sessions are read once (``queries.prepare_sessions``); each period then counts its
experiments' arms in SQL and ``evaluate`` turns the counts into results, gates, verdicts
and KPIs. Personas are counted for the current period only (tables are current-period).
"""

from __future__ import annotations

from typing import Any

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.plugin import SectionResult
from reportgen.sections.experiments.evaluate import Judgement, evaluate, persona_rows
from reportgen.sections.experiments.queries import (
    experiment_details,
    period_counts,
    persona_counts,
    prepare_sessions,
)
from reportgen.source.connection import Source
from reportgen.source.sqlexpr import Expr


def compute(source: Source, config: Config, period: Period) -> SectionResult:
    """Compute every experiment KPI, table and data-quality count for ``period``."""
    expr = Expr(source.dialect, config.report.timezone)
    rules = config.rules
    prepared = prepare_sessions(source, expr)
    judgement = Judgement(
        primary=rules.experiment_primary_metric,
        alpha=rules.alpha,
        min_sessions=rules.experiment_min_sessions,
        has_revenue=prepared.has_revenue,
    )
    previous_counts = period_counts(source, period.previous())
    previous = evaluate(
        previous_counts,
        experiment_details(source, expr, _ids(previous_counts)),
        judgement,
    )
    # The current period last: rg_xsess then holds its sessions, which the personas read.
    counts = period_counts(source, period)
    current = evaluate(counts, experiment_details(source, expr, _ids(counts)), judgement)
    tables: dict[str, list[dict[str, Any]]] = {
        "experiments.results": current.results,
        "experiments.gates": current.gates,
        "experiments.verdicts": current.verdicts,
    }
    skipped = []
    if not prepared.has_revenue:
        skipped.append(
            {
                "section": "experiments.revenue_per_session",
                "reason": f"no column revenue in {source.real_table_name('experiment_sessions')}",
            }
        )
    dimensions, persona_skips = _persona_dimensions(source, config, prepared.has_user)
    skipped += persona_skips
    if dimensions:
        personas = persona_counts(source, expr, period, dimensions, judgement.primary)
        tables["experiments.segments"] = persona_rows(
            personas, current, rules.experiment_segment_min_sessions
        )
    quality = {
        "experiments.crossover_sessions": sum(
            n for eid, n in counts.crossovers.items() if eid in current.controls
        ),
        "experiments.duplicate_session_rows": counts.duplicate_session_rows,
        "experiments.null_session_ids": counts.null_session_ids,
        "experiments.unassigned_rows": prepared.unassigned_rows,
        "experiments.unparsed_started_at": prepared.unparsed_started_at,
    }
    return SectionResult(current.kpis, previous.kpis, tables, quality, skipped)


def _ids(counts: Any) -> list[str]:
    return sorted({arm.experiment_id for arm in counts.arms})


def _persona_dimensions(
    source: Source, config: Config, has_user: bool
) -> tuple[list[str], list[dict[str, str]]]:
    """Return the persona dimensions the data has, and a skipped entry for each missing."""
    wanted = list(config.rules.experiment_segments)
    if not wanted:
        return [], []
    sessions = source.real_table_name("experiment_sessions")
    if not has_user:
        reason = f"no column user_id in {sessions}"
        return [], [{"section": "experiments.segments", "reason": reason}]
    if not source.usable("customers"):
        reason = f"no table {source.real_table_name('customers')}"
        return [], [{"section": "experiments.segments", "reason": reason}]
    columns = source.table("customers").columns
    found = [name for name in wanted if ("age" if name == "age_band" else name) in columns]
    customers = source.real_table_name("customers")
    missing = [
        {
            "section": f"experiments.segments.{name}",
            "reason": f"no column {'age' if name == 'age_band' else name} in {customers}",
        }
        for name in wanted
        if name not in found
    ]
    return found, missing
