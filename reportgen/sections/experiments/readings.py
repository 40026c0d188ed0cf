"""How the experiment section reads METRICS.md §5 and §8, in plain English (Assumptions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.render.formatters import fmt_number
from reportgen.sections.experiments.stats import SRM_P_THRESHOLD, Z_95


def experiment_readings(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the fixed readings behind the experiment figures."""
    rules = metrics.get("rules") or {}
    alpha = rules.get("alpha", 0.05)
    minimum = fmt_number(rules.get("experiment_min_sessions", 1000))
    return [
        {
            "name": "Experiments in the report",
            "meaning": (
                "An experiment is in the report when one of its sessions started in the "
                "period; its results use every session started before the period end, so "
                "they are results to date. A session seen under two variants of one "
                "experiment is a crossover: it is left out before anything is counted, and "
                "counted under Data quality."
            ),
        },
        {
            "name": "Experiment flags and control",
            "meaning": (
                "clicked, added_to_cart and purchased read 1, true, t, yes or y (any case, "
                "trimmed) as true and anything else as false. Control is the experiments "
                "table's control_variant when it is one of the variants, else A, else the "
                "first variant in sort order."
            ),
        },
        {
            "name": "Experiment statistics",
            "meaning": (
                "Each rate of a variant is compared with control's: difference, lift "
                "(difference over the control rate; n/a when that is 0), a two-sided pooled "
                "two-proportion z-test (n/a when the pooled standard error is 0) and a 95% "
                f"Wald interval with the unpooled standard error and z = {Z_95}. Holm's "
                "correction runs over the primary metric's p-values of every comparison in "
                f"the report; a difference is significant below {alpha}."
            ),
        },
        {
            "name": "Experiment gates",
            "meaning": (
                "Before any verdict: the sample-ratio test (chi-square of session counts "
                f"against an equal split) must not fall below p = {SRM_P_THRESHOLD}; every "
                f"variant needs {minimum} sessions; and no session may have started at or "
                "after the period end. An experiment failing one is shown without a verdict. "
                "The sessions still needed are computed at the observed difference, 80% "
                f"power and a two-sided {alpha}."
            ),
        },
    ]
