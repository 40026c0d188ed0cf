"""Turn the experiment verdicts into recommendations a director can act on.

One rule per decision, each ``(metrics, currency) -> list[Recommendation]``: fix a broken
split, ship a winner, stop a loser, run the inconclusive and too-small ones longer. A rule
reads metrics.json only (the section README), words its numbers as the pages do
(``words``), and returns nothing when what it needs is missing. Still-running experiments
need no action: the pages say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from reportgen.plugin import Recommendation
from reportgen.render.formatters import fmt_money, fmt_number
from reportgen.report import reading as read
from reportgen.sections.experiments.words import (
    capitalised,
    experiment_name,
    fmt_interval,
    fmt_p,
    number,
    status_parts,
)

SECTION = "experiments"

PRIORITY_SHIP = 16
"""A proven gain is the cheapest growth in the report: among the first things to do."""
PRIORITY_FIX_SPLIT = 24
"""A broken split before the stops: its numbers may already be quoted elsewhere."""
PRIORITY_STOP = 28
PRIORITY_RUN_LONGER = 64

Metrics = dict[str, Any]
Rule = Callable[[Metrics, str], list[Recommendation]]


def recommend(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Return every recommendation the experiment verdicts support."""
    return [rec for rule in RULES for rec in rule(metrics, currency)]


def _experiments(
    metrics: Metrics,
) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Return (gate, verdict rows, result rows) per experiment, in report order."""
    verdicts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read.rows(metrics, "experiments.verdicts"):
        verdicts[str(row.get("experiment_id"))].append(row)
    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in read.rows(metrics, "experiments.results"):
        results[str(row.get("experiment_id"))].append(row)
    return [
        (gate, verdicts[str(gate.get("experiment_id"))], results[str(gate.get("experiment_id"))])
        for gate in read.rows(metrics, "experiments.gates")
    ]


def _rules(metrics: Metrics) -> dict[str, Any]:
    return read.mapping(read.mapping(metrics).get("rules"))


def fix_splits(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Fix the assignment of every experiment whose split fails the SRM test."""
    out = []
    for gate, verdicts, results in _experiments(metrics):
        if gate.get("status") != "fix_split":
            continue
        out.append(
            Recommendation(
                SECTION,
                f"Fix the traffic split of {experiment_name(gate)} before anyone reads it.",
                capitalised(status_parts(gate, verdicts, results, _rules(metrics))[1]),
                {
                    "experiments.gates.srm_p_value": gate.get("srm_p_value"),
                    "experiments.results.sessions": {
                        str(r.get("variant")): r.get("sessions") for r in results
                    },
                },
                PRIORITY_FIX_SPLIT,
                kpi="experiments.srm_flagged",
                pull="down",
            )
        )
    return out


def ship(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Ship the winning variant of every experiment whose primary metric gained."""
    out = []
    for gate, verdicts, results in _experiments(metrics):
        winners = [row for row in verdicts if row.get("verdict") == "ship"]
        if gate.get("status") != "ship" or not winners:
            continue
        winner = max(winners, key=lambda row: number(row.get("diff")) or 0)
        detail = capitalised(status_parts(gate, verdicts, results, _rules(metrics))[1])
        detail += f" 95% interval of the difference: {_interval(results, winner)}."
        value, basis = _expected_value(gate, winner)
        if value is not None:
            detail += (
                f" At its revenue per session it could add about {fmt_money(value, currency, 0)} "
                "over as many sessions as the experiment had this period."
            )
        out.append(
            Recommendation(
                SECTION,
                f"Ship {winner.get('variant')} of {experiment_name(gate)} to everyone.",
                detail,
                _evidence(gate, winner),
                PRIORITY_SHIP,
                kpi="experiments.ready_to_ship",
                pull="down",
                expected_value=value,
                expected_value_basis=basis,
            )
        )
    return out


def stop(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Stop every experiment whose variants all lost on the primary metric."""
    out = []
    for gate, verdicts, results in _experiments(metrics):
        if gate.get("status") != "stop" or not verdicts:
            continue
        loser = min(verdicts, key=lambda row: number(row.get("diff")) or 0)
        detail = capitalised(status_parts(gate, verdicts, results, _rules(metrics))[1])
        detail += f" 95% interval of the difference: {_interval(results, loser)}."
        out.append(
            Recommendation(
                SECTION,
                f"Stop {experiment_name(gate)} and keep {gate.get('control_variant')}.",
                detail,
                _evidence(gate, loser),
                PRIORITY_STOP,
                kpi="experiments.to_stop",
                pull="down",
            )
        )
    return out


def run_longer(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Name the inconclusive and too-small experiments and the sessions each still needs."""
    waiting = []
    evidence: dict[str, Any] = {}
    for gate, verdicts, _ in _experiments(metrics):
        if gate.get("status") not in ("keep_running", "too_small"):
            continue
        more = [number(row.get("more_sessions_per_arm")) for row in verdicts]
        known = [m for m in more if m is not None]
        name = experiment_name(gate)
        if gate.get("status") == "too_small":
            reason = (
                f"only {fmt_number(gate.get('smallest_arm_sessions'))} sessions in its smallest arm"
            )
        else:
            best = min(verdicts, key=lambda row: number(row.get("p_adjusted")) or 1, default={})
            reason = f"no significant difference ({fmt_p(best.get('p_adjusted'))} after Holm)"
        need = (
            f"about {fmt_number(max(known))} more sessions per arm needed to detect the "
            "difference seen"
            if known and max(known) > 0
            else "no difference to wait for"
        )
        waiting.append(f"{name}: {reason}, {need}.")
        evidence[f"experiments.gates[{gate.get('experiment_id')}].status"] = gate.get("status")
        evidence[f"experiments.verdicts[{gate.get('experiment_id')}].more_sessions_per_arm"] = (
            max(known) if known else None
        )
    if not waiting:
        return []
    count = len(waiting)
    return [
        Recommendation(
            SECTION,
            "Keep the undecided experiments running, or end those not worth the traffic."
            if count > 1
            else "Keep the undecided experiment running, or end it if not worth the traffic.",
            "No winner yet, and none should be called. "
            + " ".join(waiting)
            + " A difference that needs far more sessions than the traffic allows is too "
            "small to matter: end the experiment and free the traffic.",
            evidence,
            PRIORITY_RUN_LONGER,
            kpi="experiments.keep_running",
            pull="down",
        )
    ]


def _interval(results: list[dict[str, Any]], verdict: dict[str, Any]) -> str:
    row = next((r for r in results if r.get("variant") == verdict.get("variant")), {})
    return fmt_interval(row.get("ci_low"), row.get("ci_high"))


def _expected_value(
    gate: dict[str, Any], winner: dict[str, Any]
) -> tuple[float | None, str | None]:
    """Revenue the winner would have added over the period's experiment sessions."""
    gain, sessions = (
        number(winner.get("revenue_per_session_diff")),
        number(gate.get("period_sessions")),
    )
    if gain is None or sessions is None or gain <= 0:
        return None, None
    return (
        gain * sessions,
        "the winner's revenue per session minus control's, times the experiment's sessions "
        "in the period (an estimate: revenue was not tested)",
    )


def _evidence(gate: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    eid = gate.get("experiment_id")
    return {
        f"experiments.verdicts[{eid}, {row.get('variant')}].diff": row.get("diff"),
        f"experiments.verdicts[{eid}, {row.get('variant')}].lift": row.get("lift"),
        f"experiments.verdicts[{eid}, {row.get('variant')}].p_adjusted": row.get("p_adjusted"),
        f"experiments.gates[{eid}].sessions": gate.get("sessions"),
    }


RULES: tuple[Rule, ...] = (ship, fix_splits, stop, run_longer)
"""The recommendation rules, in the order they break priority ties."""
