"""How the experiment section says its numbers: p-values, points, lifts, and one sentence
per experiment, shared by the pages and the recommendations so both say the same thing.

Every sentence reads metrics.json rows only (``experiments.gates``, ``experiments.verdicts``
and ``experiments.results``) and never raises on a missing or null value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.render.formatters import NA, fmt_number, fmt_percent, fmt_text
from reportgen.sections.experiments.kpis import DIMENSION_LABELS, RATE_SHORT
from reportgen.sections.experiments.stats import SRM_P_THRESHOLD

Row = Mapping[str, Any]
MINUS = "-"
"""The sign of a fall, as the rest of the report prints it."""


def number(value: object) -> float | None:
    """Return ``value`` if it is a number (not a bool), else None."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def fmt_p(value: object) -> str:
    """Return ``p = 0.032``, or ``p < 0.001`` for smaller values (n/a when missing)."""
    p = number(value)
    if p is None:
        return f"p {NA}"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {fmt_number(p, 3)}"


def fmt_points(value: object) -> str:
    """Return a difference of two rates in percentage points: ``+2.3 pp``, ``-0.5 pp``."""
    diff = number(value)
    if diff is None:
        return NA
    text = fmt_number(abs(diff) * 100, 1)
    sign = "" if text == "0.0" else ("+" if diff > 0 else MINUS)
    return f"{sign}{text} pp"


def fmt_lift(value: object) -> str:
    """Return a relative lift with its sign: ``+18.0%``, ``-14.9%`` (n/a when missing)."""
    lift = number(value)
    if lift is None:
        return NA
    text = fmt_percent(abs(lift))
    sign = "" if text == "0.0%" else ("+" if lift > 0 else MINUS)
    return f"{sign}{text}"


def fmt_interval(low: object, high: object) -> str:
    """Return an interval of differences in points: ``+1.2 to +3.4 pp``."""
    if number(low) is None or number(high) is None:
        return NA
    return f"{fmt_points(low).removesuffix(' pp')} to {fmt_points(high)}"


def experiment_name(gate: Row) -> str:
    """Return an experiment's name, or its id when it has none."""
    name = gate.get("name")
    return (
        fmt_text(name)
        if isinstance(name, str) and name.strip()
        else fmt_text(gate.get("experiment_id"))
    )


def status_sentence(
    gate: Row, verdicts: Sequence[Row], arms: Sequence[Row], rules: Mapping[str, Any]
) -> str:
    """Return what the report says about one experiment: its gates first, then its verdict.

    ``verdicts`` are its rows of ``experiments.verdicts``, ``arms`` its rows of
    ``experiments.results`` (control first).
    """
    lead, evidence = status_parts(gate, verdicts, arms, rules)
    return f"{lead}: {evidence}" if lead else evidence


def status_parts(
    gate: Row, verdicts: Sequence[Row], arms: Sequence[Row], rules: Mapping[str, Any]
) -> tuple[str | None, str]:
    """Return (the action, or None, the numbers behind it) of ``status_sentence``; a
    recommendation puts the action in its headline and the numbers in its detail."""
    status = gate.get("status")
    name = experiment_name(gate)
    control = fmt_text(gate.get("control_variant"))
    metric = RATE_SHORT.get(str(rules.get("experiment_primary_metric")), "primary metric")
    if status == "fix_split":
        split = ", ".join(
            f"{fmt_text(a.get('variant'))} {fmt_number(a.get('sessions'))}" for a in arms
        )
        return (
            f"Do not read {name}",
            f"its traffic split is broken ({split} sessions against an expected equal "
            f"split; SRM {fmt_p(gate.get('srm_p_value'))}, flagged below {SRM_P_THRESHOLD}). "
            "Whatever its numbers show may come from who was assigned, not from the change. "
            "Fix the assignment and restart it.",
        )
    if status == "still_running":
        return (
            None,
            f"{name} is still running: {fmt_number(gate.get('sessions_after_end'))} sessions "
            "started after the period end. No verdict until it stops; its numbers so far "
            "are shown but decide nothing.",
        )
    if status == "too_small":
        minimum = fmt_number(rules.get("experiment_min_sessions"))
        needed = _most_needed(verdicts)
        more = (
            f"; at the difference seen so far it would need about {fmt_number(needed[0])} "
            f"sessions per arm ({fmt_number(needed[1])} more)"
            if needed
            else ""
        )
        return (
            None,
            f"{name} is too small to read: its smallest arm has "
            f"{fmt_number(gate.get('smallest_arm_sessions'))} sessions, below the "
            f"{minimum} each arm needs{more}. No verdict.",
        )
    if status == "no_test":
        return None, f"{name} has sessions for one variant only: there is nothing to compare."
    if status == "ship":
        best = _best(verdicts, "ship")
        return (
            f"Ship {fmt_text(best.get('variant'))} of {name}",
            f"its {metric} is {fmt_percent(best.get('rate'))} against "
            f"{fmt_percent(best.get('control_rate'))} for {control} "
            f"({fmt_points(best.get('diff'))}, {fmt_lift(best.get('lift'))}), significant "
            f"after Holm ({fmt_p(best.get('p_adjusted'))}) over "
            f"{fmt_number(gate.get('sessions'))} sessions.",
        )
    if status == "stop":
        worst = _best(verdicts, "stop")
        return (
            f"Stop {name} and keep {control}",
            f"{fmt_text(worst.get('variant'))}'s {metric} is {fmt_percent(worst.get('rate'))} "
            f"against {fmt_percent(worst.get('control_rate'))} "
            f"({fmt_points(worst.get('diff'))}, {fmt_lift(worst.get('lift'))}), significantly "
            f"lower after Holm ({fmt_p(worst.get('p_adjusted'))}) over "
            f"{fmt_number(gate.get('sessions'))} sessions.",
        )
    return None, _inconclusive(name, control, metric, verdicts)


def persona_label(dimension: object, segment: object) -> str:
    """Return ``Loyalty tier: Bronze``."""
    name = DIMENSION_LABELS.get(str(dimension), str(dimension).replace("_", " "))
    return f"{capitalised(name)}: {fmt_text(segment)}"


def capitalised(text: str) -> str:
    """Return ``text`` with its first letter upper-case (the rest untouched: ``CTR``)."""
    return text[:1].upper() + text[1:]


def _inconclusive(name: str, control: str, metric: str, verdicts: Sequence[Row]) -> str:
    """Say an experiment is inconclusive without naming a winner, and what it would take."""
    parts = []
    for row in verdicts:
        if row.get("verdict") == "stop":
            parts.append(
                f"{fmt_text(row.get('variant'))} is significantly worse "
                f"({fmt_points(row.get('diff'))}): drop it"
            )
            continue
        needed, more = row.get("needed_sessions_per_arm"), row.get("more_sessions_per_arm")
        if number(needed) is None:
            reach = "no difference at all so far"
        elif more:
            reach = (
                f"detecting a difference this small at 80% power needs about "
                f"{fmt_number(needed)} sessions per arm, {fmt_number(more)} more than now"
            )
        else:
            reach = (
                "it has the sessions to detect this difference, which the Holm correction "
                "does not confirm"
            )
        parts.append(
            f"{fmt_text(row.get('variant'))} {fmt_percent(row.get('rate'))} against "
            f"{fmt_percent(row.get('control_rate'))} ({fmt_points(row.get('diff'))}, "
            f"{fmt_p(row.get('p_adjusted'))} after Holm): {reach}"
        )
    detail = "; ".join(parts) if parts else "no variant to compare"
    return (
        f"{name} is inconclusive on {metric}, so neither {control} nor a variant wins: "
        f"{detail}. Keep it running or stop it as not worth the traffic."
    )


def _best(verdicts: Sequence[Row], verdict: str) -> Row:
    """Return the variant a ship (largest gain) or stop (largest loss) verdict names."""
    chosen = [row for row in verdicts if row.get("verdict") == verdict]
    if not chosen:
        return {}
    sign = 1 if verdict == "ship" else -1
    return max(chosen, key=lambda row: sign * (number(row.get("diff")) or 0))


def _most_needed(verdicts: Sequence[Row]) -> tuple[float, float] | None:
    """Return (sessions per arm, more) of the comparison that needs the most."""
    found = [
        (number(r.get("needed_sessions_per_arm")), number(r.get("more_sessions_per_arm")))
        for r in verdicts
    ]
    known = [(n, m) for n, m in found if n is not None and m is not None]
    return max(known) if known else None
