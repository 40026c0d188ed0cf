"""Counts per arm → the results, gates, verdicts and KPIs of one period (METRICS.md §5).

Pure Python over ``queries.PeriodCounts``: the statistics are in ``stats``; this module
decides the control, orders the rows as §8 says, runs Holm over the report's comparisons
and applies the gates before any verdict (named rules ``experiment-gates`` and
``experiment-verdicts``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reportgen.sections.experiments.declaration import other_rates, results_columns
from reportgen.sections.experiments.queries import Arm, PeriodCounts, PersonaCounts
from reportgen.sections.experiments.rules import RATES
from reportgen.sections.experiments.stats import (
    SRM_P_THRESHOLD,
    compare_rates,
    holm,
    sessions_per_arm,
    srm_p_value,
)
from reportgen.source.values import ids_are_integers, ratio

STATUSES = ("ship", "stop", "keep_running", "fix_split", "still_running", "too_small", "no_test")
"""``experiments.gates.status``: a decision (the first three) or the first gate failed.
``no_test``: a single variant, nothing to compare."""


@dataclass(frozen=True)
class Judgement:
    """How one period's experiments are judged (the rules in force)."""

    primary: str
    alpha: float
    min_sessions: int
    has_revenue: bool


@dataclass(frozen=True)
class Evaluation:
    """One period's experiment figures, as metrics.json holds them."""

    kpis: dict[str, Any]
    results: list[dict[str, Any]]
    gates: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    order: list[str]
    """Experiment ids in report order."""
    controls: dict[str, str]


def evaluate(
    counts: PeriodCounts, details: Mapping[str, Mapping[str, Any]], judgement: Judgement
) -> Evaluation:
    """Return the results, gates, verdicts and KPIs of the experiments in ``counts``."""
    by_experiment: dict[str, dict[str, Arm]] = defaultdict(dict)
    for arm in counts.arms:
        by_experiment[arm.experiment_id][arm.variant] = arm
    order = experiment_order(list(by_experiment))
    controls = {
        eid: control_of(list(by_experiment[eid]), (details.get(eid) or {}).get("control_variant"))
        for eid in order
    }
    numeric_ids = ids_are_integers(order)

    def shown(eid: str) -> str | int:
        return int(eid) if numeric_ids else eid

    results: list[dict[str, Any]] = []
    primary_tests: list[tuple[dict[str, Any], float | None]] = []
    srm: dict[str, float | None] = {}
    for eid in order:
        arms = by_experiment[eid]
        control = arms[controls[eid]]
        srm[eid] = srm_p_value([arms[v].sessions for v in sorted(arms)])
        flag = srm[eid] is not None and srm[eid] < SRM_P_THRESHOLD
        for variant in variant_order(list(arms), controls[eid]):
            arm = arms[variant]
            row = _arm_row(shown(eid), arm, judgement)
            row.update(srm_p_value=srm[eid], srm_flag=flag)
            if variant != controls[eid]:
                _compare(row, control, arm, judgement.primary)
                primary_tests.append((row, row["p_value"]))
            else:
                _blank_comparisons(row, judgement.primary)
            results.append(row)
    for (row, _), adjusted in zip(primary_tests, holm([p for _, p in primary_tests]), strict=True):
        row["p_adjusted"] = adjusted
        row["significant"] = adjusted is not None and adjusted < judgement.alpha
    columns = results_columns(judgement.primary)
    results = [{key: row.get(key) for key in columns} for row in results]
    gates, verdicts = _gates_and_verdicts(
        order, by_experiment, controls, results, srm, counts, details, judgement, shown
    )
    return Evaluation(
        kpis=_kpis(gates, results),
        results=results,
        gates=gates,
        verdicts=verdicts,
        order=order,
        controls=controls,
    )


def experiment_order(ids: Sequence[str]) -> list[str]:
    """Return experiment ids as §8 orders ids: numerically when all are integers, else as
    text in code-point order."""
    if ids_are_integers(list(ids)):
        return sorted(ids, key=int)
    return sorted(ids)


def control_of(variants: Sequence[str], configured: object) -> str:
    """Return the control: control_variant when among the variants, else ``A``, else the
    first variant in sort order."""
    if isinstance(configured, str) and configured in variants:
        return configured
    if "A" in variants:
        return "A"
    return min(variants)


def variant_order(variants: Sequence[str], control: str) -> list[str]:
    """Return the control first, then the other variants in sort order."""
    return [control, *sorted(v for v in variants if v != control)]


def _arm_row(eid: str | int, arm: Arm, judgement: Judgement) -> dict[str, Any]:
    row: dict[str, Any] = {"experiment_id": eid, "variant": arm.variant, "sessions": arm.sessions}
    for rate in RATES:
        row[rate] = arm.hits(rate) / arm.sessions
    row["revenue_per_session"] = ratio(arm.revenue, arm.sessions) if judgement.has_revenue else None
    return row


def _compare(row: dict[str, Any], control: Arm, arm: Arm, primary: str) -> None:
    """Fill a variant row's comparison columns: the primary's unprefixed, the others'
    prefixed with their rate."""
    for rate in RATES:
        found = compare_rates(control.hits(rate), control.sessions, arm.hits(rate), arm.sessions)
        prefix = "" if rate == primary else f"{rate}_"
        row[f"{prefix}diff"] = found.diff
        row[f"{prefix}lift"] = found.lift
        row[f"{prefix}p_value"] = found.p_value
        row[f"{prefix}ci_low"] = found.ci_low
        row[f"{prefix}ci_high"] = found.ci_high


def _blank_comparisons(row: dict[str, Any], primary: str) -> None:
    """Control rows carry nulls in every comparison column (§8)."""
    for key in ("diff", "lift", "p_value", "p_adjusted", "ci_low", "ci_high", "significant"):
        row[key] = None
    for rate in other_rates(primary):
        for part in ("diff", "lift", "p_value", "ci_low", "ci_high"):
            row[f"{rate}_{part}"] = None


def _gates_and_verdicts(
    order: list[str],
    by_experiment: Mapping[str, Mapping[str, Arm]],
    controls: Mapping[str, str],
    results: list[dict[str, Any]],
    srm: Mapping[str, float | None],
    counts: PeriodCounts,
    details: Mapping[str, Mapping[str, Any]],
    judgement: Judgement,
    shown: Any,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return one gates row per experiment and one verdict row per variant against control."""
    rows_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in results:
        rows_of[str(row["experiment_id"])].append(row)
    gates, verdicts = [], []
    for eid in order:
        arms = by_experiment[eid]
        control = arms[controls[eid]]
        smallest = min(arm.sessions for arm in arms.values())
        flag = srm[eid] is not None and srm[eid] < SRM_P_THRESHOLD
        after = counts.after_end.get(eid, 0)
        checks = {
            "split_ok": not flag,
            "sample_ok": smallest >= judgement.min_sessions,
            "finished": after == 0,
        }
        failed = _first_failed(len(arms), checks)
        mine = []
        for row in rows_of[eid][1:]:
            arm = arms[row["variant"]]
            verdict = None if failed else _verdict(row)
            control_rate = control.hits(judgement.primary) / control.sessions
            rate = arm.hits(judgement.primary) / arm.sessions
            needed = sessions_per_arm(control_rate, rate, judgement.alpha)
            mine.append(
                {
                    "experiment_id": shown(eid),
                    "variant": row["variant"],
                    "metric": judgement.primary,
                    "control_rate": control_rate,
                    "rate": rate,
                    "diff": row["diff"],
                    "lift": row["lift"],
                    "lift_ci_low": ratio(row["ci_low"], control_rate),
                    "lift_ci_high": ratio(row["ci_high"], control_rate),
                    "p_adjusted": row["p_adjusted"],
                    "significant": row["significant"],
                    "verdict": verdict,
                    "reason": failed or "gates_passed",
                    "needed_sessions_per_arm": needed,
                    "more_sessions_per_arm": None
                    if needed is None
                    else max(0, needed - min(control.sessions, arm.sessions)),
                    "revenue_per_session_diff": _revenue_diff(row, rows_of[eid][0]),
                }
            )
        verdicts.extend(mine)
        gates.append(
            {
                "experiment_id": shown(eid),
                "name": (details.get(eid) or {}).get("name"),
                "control_variant": controls[eid],
                "variants": len(arms),
                "sessions": sum(arm.sessions for arm in arms.values()),
                "period_sessions": sum(arm.period_sessions for arm in arms.values()),
                "smallest_arm_sessions": smallest,
                "first_started": min(arm.first_started for arm in arms.values()),
                "last_started": max(arm.last_started for arm in arms.values()),
                "sessions_after_end": after,
                "srm_p_value": srm[eid],
                "srm_flag": flag,
                **checks,
                "gates_passed": failed is None,
                "status": failed or _decision([row["verdict"] for row in mine]),
            }
        )
    return gates, verdicts


def _first_failed(variants: int, checks: Mapping[str, bool]) -> str | None:
    """Return the first gate an experiment fails, in the order of ``experiment-gates``."""
    if variants < 2:
        return "no_test"
    for check, status in (
        ("split_ok", "fix_split"),
        ("finished", "still_running"),
        ("sample_ok", "too_small"),
    ):
        if not checks[check]:
            return status
    return None


def _verdict(row: Mapping[str, Any]) -> str:
    """Ship a significant gain, stop a significant loss, keep running anything else."""
    if row["significant"] and row["diff"] > 0:
        return "ship"
    if row["significant"] and row["diff"] < 0:
        return "stop"
    return "keep_running"


def _decision(verdicts: Sequence[str | None]) -> str:
    """An experiment ships when a variant does, stops when every variant does."""
    if "ship" in verdicts:
        return "ship"
    if verdicts and all(v == "stop" for v in verdicts):
        return "stop"
    return "keep_running"


def _revenue_diff(row: Mapping[str, Any], control: Mapping[str, Any]) -> float | None:
    value, base = row.get("revenue_per_session"), control.get("revenue_per_session")
    return None if value is None or base is None else value - base


def _kpis(gates: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The section's KPIs: experiments in the report, their sessions, and how many are at
    each status."""
    significant = {str(r["experiment_id"]) for r in results if r.get("significant")}
    status = defaultdict(int)
    for gate in gates:
        status[gate["status"]] += 1
    return {
        "experiments.experiments": len(gates),
        "experiments.sessions": sum(gate["sessions"] for gate in gates),
        "experiments.significant": len(significant),
        "experiments.ready_to_ship": status["ship"],
        "experiments.to_stop": status["stop"],
        "experiments.keep_running": status["keep_running"],
        "experiments.srm_flagged": sum(1 for gate in gates if gate["srm_flag"]),
        "experiments.still_running": sum(1 for gate in gates if not gate["finished"]),
        "experiments.too_small": sum(1 for gate in gates if not gate["sample_ok"]),
    }


def persona_rows(
    personas: Sequence[PersonaCounts],
    evaluation: Evaluation,
    min_sessions: int,
) -> list[dict[str, Any]]:
    """Return the primary metric's comparison per persona and variant (uncorrected, no
    decision); a persona is readable when both arms have ``min_sessions`` sessions in it."""
    numeric_ids = ids_are_integers(evaluation.order)
    out = []
    for eid in evaluation.order:
        control = evaluation.controls[eid]
        for found in personas:
            cells = [c for c in found.cells if c["experiment_id"] == eid]
            by_segment: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
            for cell in cells:
                by_segment[cell["segment"]][cell["variant"]] = cell
            variants = sorted({cell["variant"] for cell in cells} - {control})
            segments = sorted(
                by_segment,
                key=lambda s: (-sum(c["sessions"] for c in by_segment[s].values()), s),
            )
            for segment in segments:
                base = by_segment[segment].get(control)
                for variant in variants:
                    cell = by_segment[segment].get(variant)
                    out.append(
                        _persona_row(
                            int(eid) if numeric_ids else eid,
                            found.dimension,
                            segment,
                            variant,
                            base,
                            cell,
                            min_sessions,
                        )
                    )
    return out


def _persona_row(
    eid: str | int,
    dimension: str,
    segment: str,
    variant: str,
    base: Mapping[str, Any] | None,
    cell: Mapping[str, Any] | None,
    min_sessions: int,
) -> dict[str, Any]:
    control_n = int(base["sessions"]) if base else 0
    n = int(cell["sessions"]) if cell else 0
    row: dict[str, Any] = {
        "experiment_id": eid,
        "dimension": dimension,
        "segment": segment,
        "variant": variant,
        "control_sessions": control_n,
        "sessions": n,
        "control_rate": ratio(base["hits"], control_n) if base else None,
        "rate": ratio(cell["hits"], n) if cell else None,
        "diff": None,
        "lift": None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "readable": control_n >= min_sessions and n >= min_sessions,
    }
    if base and cell:
        found = compare_rates(int(base["hits"]), control_n, int(cell["hits"]), n)
        row.update(
            diff=found.diff,
            lift=found.lift,
            ci_low=found.ci_low,
            ci_high=found.ci_high,
            p_value=found.p_value,
        )
    return row
