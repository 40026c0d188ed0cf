"""What the experiment section declares about itself beyond its code: tables, labels, readings."""

from __future__ import annotations

from reportgen.plugin import TableSpec
from reportgen.sections.experiments.rules import RATES

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "experiment_sessions",
        (
            "experiment_id",
            "variant",
            "session_id",
            "started_at",
            "clicked",
            "added_to_cart",
            "purchased",
        ),
        ("user_id", "revenue"),
        "started_at",
    ),
    TableSpec("experiments", ("experiment_id",), ("name", "description", "control_variant")),
    TableSpec(
        "customers",
        ("customer_id",),
        ("signup_channel", "loyalty_tier", "clv_bucket", "age"),
    ),
)
"""METRICS.md §1, the experiments family (customers for the personas, as the cart section
reads it). Sessions are no freshness signal: an experiment that ended before the period
end is finished, not late."""


def other_rates(primary: str) -> tuple[str, ...]:
    """Return the two rates that are not the primary metric, in §5 order."""
    return tuple(rate for rate in RATES if rate != primary)


def results_columns(primary: str) -> tuple[str, ...]:
    """Return the columns of ``experiments.results`` (METRICS.md §5) for a primary metric."""
    extra = tuple(
        f"{rate}_{part}"
        for rate in other_rates(primary)
        for part in ("diff", "lift", "p_value", "ci_low", "ci_high")
    )
    return (
        "experiment_id",
        "variant",
        "sessions",
        "ctr",
        "add_to_cart_rate",
        "purchase_rate",
        "revenue_per_session",
        "diff",
        "lift",
        "p_value",
        "p_adjusted",
        "ci_low",
        "ci_high",
        "significant",
        "srm_p_value",
        "srm_flag",
        *extra,
    )


GATES_COLUMNS = (
    "experiment_id",
    "name",
    "control_variant",
    "variants",
    "sessions",
    "period_sessions",
    "smallest_arm_sessions",
    "first_started",
    "last_started",
    "sessions_after_end",
    "srm_p_value",
    "srm_flag",
    "split_ok",
    "sample_ok",
    "finished",
    "gates_passed",
    "status",
)
VERDICT_COLUMNS = (
    "experiment_id",
    "variant",
    "metric",
    "control_rate",
    "rate",
    "diff",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "p_adjusted",
    "significant",
    "verdict",
    "reason",
    "needed_sessions_per_arm",
    "more_sessions_per_arm",
    "revenue_per_session_diff",
)
SEGMENT_COLUMNS = (
    "experiment_id",
    "dimension",
    "segment",
    "variant",
    "control_sessions",
    "sessions",
    "control_rate",
    "rate",
    "diff",
    "lift",
    "ci_low",
    "ci_high",
    "p_value",
    "readable",
)
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "experiments.results": results_columns("ctr"),
    "experiments.gates": GATES_COLUMNS,
    "experiments.verdicts": VERDICT_COLUMNS,
    "experiments.segments": SEGMENT_COLUMNS,
}
"""Every table the section writes and its columns (its README), so an empty table's CSV
has its header; ``experiments.results`` as with the default primary metric."""

DATA_QUALITY_LABELS = {
    "experiments.crossover_sessions": (
        "Experiment sessions seen under two variants (dropped from the results)"
    ),
    "experiments.duplicate_session_rows": (
        "Extra rows of one session under one variant (merged into one session)"
    ),
    "experiments.null_session_ids": "Experiment rows with no session_id (each one session)",
    "experiments.unassigned_rows": (
        "Experiment rows with no experiment_id or variant (whole table, left out)"
    ),
    "experiments.unparsed_started_at": (
        "Experiment sessions with an unreadable started_at (whole table)"
    ),
}
"""Plain-English labels for the section's data_quality keys."""

HISTORY_NOTE = (
    "Experiment figures have none: experiments start and end, so their counts over past "
    "periods say little."
)
"""Why the cover recomputes no experiment history (the section has no headline KPI, so the
note is printed only if one is ever made a headline)."""

PART_NAMES = {
    "experiments": "Experiments",
    "experiments.segments": "Experiment personas",
    "experiments.revenue_per_session": "Revenue per experiment session",
}

NAMED_RULES: tuple[tuple[str, str], ...] = (
    (
        "experiment-session-identity",
        "An experiment session is its (experiment_id, session_id): repeated rows of one "
        "session under one variant are one session (clicked, added_to_cart and purchased "
        "true if any row says so, revenue the largest, started_at the earliest), counted in "
        "experiments.duplicate_session_rows. A row without a session_id is a session of its "
        "own and can be no crossover.",
    ),
    (
        "experiment-labels",
        "Variants and control_variant are stripped text, compared case-sensitively (`A` is "
        "not `a`) and sorted in code-point order; a row with no experiment_id or variant "
        "belongs to no experiment. Duplicate rows of the experiments table keep each "
        "attribute's largest non-null value.",
    ),
    (
        "holm-over-comparisons",
        "Holm's correction runs over every non-control variant's primary p-value of every "
        "experiment in the report: an experiment with two treatments adds two tests.",
    ),
    (
        "experiment-result-rows",
        "In experiments.results, srm_p_value and srm_flag are the experiment's, on each of its "
        "rows (control included); significant is false, not null, for a variant whose "
        "p-value is null (a pooled standard error of 0).",
    ),
    (
        "experiment-gates",
        "An experiment gets a verdict only when its split passes the SRM test, no session "
        "started at or after the period end, and every variant has "
        "rules.experiment_min_sessions sessions; otherwise its status names the first gate it "
        "fails, in that order (fix_split, still_running, too_small).",
    ),
    (
        "experiment-verdicts",
        "Ship: the primary metric is significant after Holm and higher than control's. "
        "Stop: significant and lower. Keep running: not significant, with the sessions per "
        "arm that would detect the observed difference at 80% power with a two-sided test at "
        "rules.alpha (not Holm-adjusted). An experiment ships when one variant does (the one "
        "with the largest difference), stops when every variant does.",
    ),
    (
        "experiment-personas",
        "Persona lifts join a session's user_id to customers.customer_id as text; a session "
        "with no user_id or an unknown one is in persona Unknown. They use the primary metric, "
        "uncorrected p-values, and are no decision.",
    ),
    (
        "standout-personas",
        "A persona table lists the personas whose 95% interval of the difference lies "
        "wholly above or below zero, largest lift first, at most 5; the chart beside it "
        "shows every readable persona and the CSV export lists them all.",
    ),
)
"""Readings the experiment section adds where METRICS.md is silent (listed in its README)."""


def part_title(name: str) -> str | None:
    """Return the display name of a ``skipped`` entry of this section."""
    if name.startswith("experiments.segments."):
        column = name.removeprefix("experiments.segments.")
        return f"Experiment personas by {column.replace('_', ' ')}"
    return PART_NAMES.get(name)
