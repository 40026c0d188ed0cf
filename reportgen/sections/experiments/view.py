"""The experiment section's view: metrics.json → the display strings of ``_experiments.html``.

Three parts: the gates and verdicts of every experiment (before any number), the
results of each experiment, and the exploratory personas of those that passed the gates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reportgen.render.formatters import fmt_date, fmt_number, fmt_text
from reportgen.render.viewparts import Column, cards, figure, notes, table
from reportgen.sections.experiments.kpis import (
    EXPERIMENT_KPIS,
    GATE_FAILURES,
    RATE_LABELS,
    STATUS_LABELS,
)
from reportgen.sections.experiments.rules import RATES
from reportgen.sections.experiments.words import (
    experiment_name,
    fmt_interval,
    fmt_lift,
    fmt_p,
    fmt_points,
    number,
    persona_label,
    status_sentence,
)

NO_EXPERIMENTS = "No experiment had a session in this period."
DECIDED = ("ship", "stop")
"""Statuses whose personas the pages show."""
DEFAULT_MIN_SESSIONS = 1000
DEFAULT_SEGMENT_MIN_SESSIONS = 200
Row = Mapping[str, Any]
COMPARISON_COLUMNS: tuple[Column, ...] = (
    ("variant", "Variant", "text"),
    ("metric", "Metric", "text"),
    ("diff", "Difference", "text"),
    ("lift", "Lift", "text"),
    ("interval", "95% interval", "text"),
    ("p_value", "p-value", "text"),
    ("p_adjusted", "Holm-adjusted", "text"),
)
"""A results block's comparison table: every rate of every variant against control."""


@dataclass(frozen=True)
class _Context:
    """What every part reads."""

    metrics: Mapping[str, Any]
    currency: str
    charts: Mapping[str, str]
    skipped: Mapping[str, str]
    rules: Mapping[str, Any]

    def rows(self, key: str) -> list[Row]:
        found = (self.metrics.get("tables") or {}).get(key)
        return [row for row in found if isinstance(row, Mapping)] if isinstance(found, list) else []

    def by_experiment(self, key: str) -> dict[str, list[Row]]:
        out: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows(key):
            out[str(row.get("experiment_id"))].append(row)
        return out

    @property
    def primary(self) -> str:
        value = self.rules.get("experiment_primary_metric")
        return value if value in RATES else "ctr"


def experiments_view(
    metrics: Mapping[str, Any],
    currency: str,
    charts: Mapping[str, str],
    skipped: Mapping[str, str],
) -> dict[str, Any]:
    """Return the view of the experiment section: three parts, each with an id."""
    context = _Context(metrics, currency, charts, skipped, metrics.get("rules") or {})
    gates = context.rows("experiments.gates")
    parts = [_overview(context), _results(context), _personas(context)]
    for part in parts:
        part["empty"] = None if gates else NO_EXPERIMENTS
    view: dict[str, Any] = {part["key"]: part for part in parts}
    view["parts"] = parts
    return view


def _overview(context: _Context) -> dict[str, Any]:
    """Gates before numbers: each experiment's split, size and state, then its verdict."""
    gates = context.rows("experiments.gates")
    verdicts = context.by_experiment("experiments.verdicts")
    results = context.by_experiment("experiments.results")
    minimum = number(context.rules.get("experiment_min_sessions")) or DEFAULT_MIN_SESSIONS
    rows = []
    for index, gate in enumerate(gates):
        eid = str(gate.get("experiment_id"))
        status = str(gate.get("status"))
        rows.append(
            {
                "name": experiment_name(gate),
                "id": fmt_text(gate.get("experiment_id")),
                "anchor": _anchor(index, eid),
                "sessions": fmt_number(gate.get("sessions")),
                "split": _split_text(gate),
                "split_ok": bool(gate.get("split_ok")),
                "sample": f"{fmt_number(gate.get('smallest_arm_sessions'))}"
                + ("" if gate.get("sample_ok") else f" (below {fmt_number(minimum)})"),
                "sample_ok": bool(gate.get("sample_ok")),
                "finished": "Finished"
                if gate.get("finished")
                else f"{fmt_number(gate.get('sessions_after_end'))} sessions after the end",
                "finished_ok": bool(gate.get("finished")),
                "status": STATUS_LABELS.get(status, status),
                "status_key": status,
                "sentence": status_sentence(gate, verdicts[eid], results[eid], context.rules),
            }
        )
    alpha = context.rules.get("alpha", 0.05)
    return {
        "key": "overview",
        "id": "experiments-overview",
        "title": "Experiments: gates and verdicts",
        "notes": notes(context.skipped, ("experiments.revenue_per_session",)),
        "intro": (
            "Experiments with a session in the period, judged on every session up to its end. "
            "Three gates come before any lift: a split that passes the sample-ratio test "
            f"(SRM, p at least 0.001), at least {fmt_number(minimum)} sessions in every arm, "
            "and no session after the period end (the experiment has stopped). Only then is "
            f"the primary metric ({RATE_LABELS[context.primary].lower()}) judged: ship a "
            f"significant gain, stop a significant loss (Holm-adjusted p below {alpha}), "
            "keep running anything else."
        ),
        "cards": cards(
            EXPERIMENT_KPIS,
            [spec.key for spec in EXPERIMENT_KPIS],
            context.metrics,
            context.currency,
        ),
        "gates": rows,
        "todo": _todo(rows),
        "figure": figure(
            context.charts,
            "experiments.forest",
            f"Lift of each variant's {RATE_LABELS[context.primary].lower()} against control, "
            "with its 95% interval (the interval of the difference divided by the control "
            "rate). Grey: a gate failed, so no verdict.",
        )
        if gates
        else None,
    }


def _todo(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """What to do, one line per experiment that needs a decision; those simply kept running
    share one line (their full sentences are under the results, where their numbers are)."""
    todo = [
        {"status_key": row["status_key"], "sentence": row["sentence"]}
        for row in rows
        if row["status_key"] != "keep_running"
    ]
    waiting = [row["name"] for row in rows if row["status_key"] == "keep_running"]
    if waiting:
        todo.append(
            {
                "status_key": "keep_running",
                "sentence": f"Keep running {_and(waiting)}: no significant difference on the "
                "primary metric yet (their numbers are under Results by experiment).",
            }
        )
    return todo


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _split_text(gate: Row) -> str:
    label = "OK" if gate.get("split_ok") else "Broken"
    if number(gate.get("srm_p_value")) is None:
        return "n/a (one variant)"
    return f"{label} ({fmt_p(gate.get('srm_p_value'))})"


def _results(context: _Context) -> dict[str, Any]:
    """Each experiment's variants and their differences from control, all three rates."""
    results = context.by_experiment("experiments.results")
    verdicts = context.by_experiment("experiments.verdicts")
    primary = context.primary
    blocks = []
    for index, gate in enumerate(context.rows("experiments.gates")):
        eid = str(gate.get("experiment_id"))
        arms = results[eid]
        control = gate.get("control_variant")
        status = str(gate.get("status"))
        variant_rows = [
            {
                **row,
                "label": _variant_label(row.get("variant"), control),
            }
            for row in arms
        ]
        blocks.append(
            {
                "title": f"{experiment_name(gate)} ({fmt_text(gate.get('experiment_id'))})",
                "anchor": _anchor(index, eid),
                "status": STATUS_LABELS.get(status, status),
                "status_key": status,
                "no_verdict": status in GATE_FAILURES,
                "dates": f"Sessions from {fmt_date(gate.get('first_started'))} to "
                f"{fmt_date(gate.get('last_started'))}; "
                f"{fmt_number(gate.get('period_sessions'))} of its "
                f"{fmt_number(gate.get('sessions'))} sessions started in the period.",
                "sentence": status_sentence(gate, verdicts[eid], arms, context.rules),
                "variants": table(
                    variant_rows,
                    (
                        ("label", "Variant", "text"),
                        ("sessions", "Sessions", "number"),
                        *((rate, RATE_LABELS[rate], "rate") for rate in RATES),
                        ("revenue_per_session", "Revenue per session", "money"),
                    ),
                    context.currency,
                    caption="Variants",
                ),
                "comparisons": _nowrap(
                    table(
                        _comparison_rows(arms, primary),
                        COMPARISON_COLUMNS,
                        context.currency,
                        caption=f"Against {fmt_text(control)}",
                        empty="No variant to compare with control.",
                    ),
                    ("interval",),
                    COMPARISON_COLUMNS,
                ),
            }
        )
    return {
        "key": "results",
        "id": "experiments-results",
        "title": "Results by experiment",
        "notes": [],
        "intro": (
            f"Every rate is a share of sessions. The primary metric "
            f"({RATE_LABELS[primary].lower()}) carries the Holm-adjusted p-value that decides; "
            "the other two rates are shown for context, uncorrected, and revenue per session "
            "is shown but not tested (it is not a rate). An experiment that failed a gate "
            "has its numbers here, but no verdict."
        ),
        "blocks": blocks,
    }


def _comparison_rows(arms: Sequence[Row], primary: str) -> list[dict[str, str]]:
    out = []
    for row in arms[1:]:
        for rate in (primary, *(r for r in RATES if r != primary)):
            prefix = "" if rate == primary else f"{rate}_"
            out.append(
                {
                    "variant": fmt_text(row.get("variant")),
                    "metric": RATE_LABELS[rate] + (" (primary)" if rate == primary else ""),
                    "diff": fmt_points(row.get(f"{prefix}diff")),
                    "lift": fmt_lift(row.get(f"{prefix}lift")),
                    "interval": fmt_interval(
                        row.get(f"{prefix}ci_low"), row.get(f"{prefix}ci_high")
                    ),
                    "p_value": fmt_p(row.get(f"{prefix}p_value")).removeprefix("p = "),
                    "p_adjusted": fmt_p(row.get("p_adjusted")).removeprefix("p = ")
                    if rate == primary
                    else "",
                }
            )
    return out


def _variant_label(variant: object, control: object) -> str:
    """Return a variant's name, marked when it is the control (unless its name says so)."""
    name = fmt_text(variant)
    if variant != control or name.lower() == "control":
        return name
    return f"{name} (control)"


def _personas(context: _Context) -> dict[str, Any]:
    """The primary metric's lift by customer persona, for experiments with a ship or stop
    verdict: who gains or loses most. Undecided experiments' personas stay in metrics.json,
    where hunting through them for a winner is no temptation on paper."""
    minimum = (
        number(context.rules.get("experiment_segment_min_sessions")) or DEFAULT_SEGMENT_MIN_SESSIONS
    )
    personas = context.by_experiment("experiments.segments")
    primary = context.primary
    blocks = []
    left_out = []
    for gate in context.rows("experiments.gates"):
        eid = str(gate.get("experiment_id"))
        if not personas.get(eid):
            continue
        if gate.get("status") not in DECIDED:
            left_out.append(experiment_name(gate))
            continue
        rows = personas[eid]
        several = len({row.get("variant") for row in rows}) > 1
        readable = [_persona_cells(row) for row in rows if row.get("readable")]
        standing_out = _standing_out(readable)
        small = list(
            dict.fromkeys(
                persona_label(row.get("dimension"), row.get("segment"))
                for row in rows
                if not row.get("readable")
            )
        )
        columns: list[Column] = [("persona", "Persona", "text")]
        if several:
            columns.append(("variant", "Variant", "text"))
        columns += [
            ("control_sessions", "Control sessions", "number"),
            ("sessions", "Variant sessions", "number"),
            ("control_rate", "Control", "rate"),
            ("rate", "Variant", "rate"),
            ("lift", "Lift", "text"),
            ("interval", "95% interval of the lift", "text"),
            ("p_value", "p (uncorrected)", "text"),
        ]
        blocks.append(
            {
                "title": f"{experiment_name(gate)} ({fmt_text(gate.get('experiment_id'))})",
                "figure": figure(
                    context.charts,
                    f"experiments.personas.{eid}",
                    f"Lift of the {RATE_LABELS[primary].lower()} per readable persona, with "
                    "its 95% interval. Exploratory: not corrected for the many splits.",
                ),
                "table": _nowrap(
                    table(
                        standing_out,
                        columns,
                        context.currency,
                        caption=f"{RATE_LABELS[primary]}: personas that stand out (exploratory)",
                        empty=f"No persona has {fmt_number(minimum)} sessions in both arms."
                        if not readable
                        else "No persona stands out: every interval includes no change.",
                    ),
                    ("persona", "interval"),
                    columns,
                ),
                "small": " ".join(
                    text
                    for text in (
                        _others_note(len(readable) - len(standing_out)),
                        f"Too small to read (under {fmt_number(minimum)} sessions in an arm): "
                        f"{', '.join(small)}."
                        if small
                        else "",
                    )
                    if text
                )
                or None,
            }
        )
    part_notes = notes(context.skipped, ("experiments.segments",))
    part_notes += [
        f"Partly skipped: {reason.rstrip('.')}."
        for key, reason in context.skipped.items()
        if key.startswith("experiments.segments.")
    ]
    return {
        "key": "personas",
        "id": "experiments-personas",
        "title": "Experiment personas (exploratory)",
        "notes": part_notes,
        "intro": (
            "For experiments with a verdict, the primary metric's lift by customer persona, "
            "for sessions whose user is a known customer (the rest are Unknown). "
            "Exploratory: these p-values are not corrected for the many splits and decide "
            "nothing; a persona that stands out is a hypothesis for the next experiment, not "
            "a reason to ship to it alone."
        ),
        "blocks": blocks,
        "left_out": (
            f"Not shown, as they have no verdict to explain: {', '.join(left_out)} (their "
            "personas are in metrics.json and the CSV export)."
            if left_out
            else None
        ),
        "none": None
        if blocks or part_notes
        else "No experiment with a ship or stop verdict has personas to show.",
    }


PERSONA_ROWS = 5
"""At most this many personas in a table: the chart shows every readable one."""


def _standing_out(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The personas whose 95% interval of the difference lies wholly on one side of zero,
    largest lift first: the ones worth a sentence (the chart shows all of them)."""
    found = [
        row
        for row in rows
        if (low := number(row.get("ci_low"))) is not None
        and (high := number(row.get("ci_high"))) is not None
        and (low > 0 or high < 0)
    ]
    found.sort(key=lambda row: -abs(number(row.get("lift")) or 0.0))
    return found[:PERSONA_ROWS]


def _others_note(count: int) -> str:
    if count <= 0:
        return ""
    noun = "persona" if count == 1 else "personas"
    return (
        f"{fmt_number(count)} other readable {noun} not in the table: the chart shows them, "
        "the CSV export lists every one."
    )


def _persona_cells(row: Row) -> dict[str, Any]:
    control_rate = number(row.get("control_rate"))
    low, high = number(row.get("ci_low")), number(row.get("ci_high"))
    interval = (
        f"{fmt_lift(low / control_rate)} to {fmt_lift(high / control_rate)}"
        if control_rate and low is not None and high is not None
        else "n/a"
    )
    return {
        **row,
        "persona": persona_label(row.get("dimension"), row.get("segment")),
        "variant": fmt_text(row.get("variant")),
        "lift": fmt_lift(row.get("lift")),
        "interval": interval,
        "p_value": fmt_p(row.get("p_value")).removeprefix("p = "),
    }


def _nowrap(view: dict[str, Any], keys: Sequence[str], columns: Sequence[Column]) -> dict[str, Any]:
    """Keep the cells of ``keys`` on one line (an interval broken after "to" reads badly)."""
    positions = [i for i, (key, _, _) in enumerate(columns) if key in keys]
    for row in view["rows"]:
        for i in positions:
            row[i]["cls"] = (row[i]["cls"] + " nowrap").strip()
    return view


def _anchor(index: int, eid: str) -> str:
    """Return an HTML id for an experiment's results: ids may hold any text, and two that
    differ only in punctuation still get two anchors."""
    safe = "".join(c if c.isascii() and c.isalnum() else "-" for c in eid)
    return f"experiment-{index + 1}-{safe}"
