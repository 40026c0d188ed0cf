"""How the experiment section's metrics are shown: KPI labels, statuses and rate names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.plugin import KpiSpec
from reportgen.render.formatters import fmt_number


def running_note(metrics: Mapping[str, Any]) -> str | None:
    """Return why the experiment counts may still change: some experiments are running."""
    kpis = metrics.get("kpis") or {}
    running, total = kpis.get("experiments.still_running"), kpis.get("experiments.experiments")
    if not isinstance(running, int) or not running or not isinstance(total, int):
        return None
    return (
        f"{fmt_number(running)} of {fmt_number(total)} experiments are still running: "
        "sessions keep arriving after the period end"
    )


EXPERIMENT_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec("experiments.experiments", "Experiments in the report", "number"),
    KpiSpec(
        "experiments.sessions",
        "Experiment sessions to date",
        "number",
        "up",
        provisional_when=running_note,
    ),
    KpiSpec("experiments.ready_to_ship", "Ready to ship", "number", "up"),
    KpiSpec("experiments.to_stop", "To stop", "number", "down"),
    KpiSpec("experiments.keep_running", "Inconclusive: keep running", "number"),
    KpiSpec("experiments.significant", "Significant after Holm", "number", "up"),
    KpiSpec("experiments.srm_flagged", "Broken splits (SRM)", "number", "down"),
    KpiSpec(
        "experiments.still_running",
        "Still running",
        "number",
        provisional_when=running_note,
    ),
    KpiSpec("experiments.too_small", "Too few sessions", "number", "down"),
)
"""The section's KPIs (its README). None is a headline: experiments come and go, so a
sparkline of their count says little, and the cover keeps its three rows."""

STATUS_LABELS = {
    "ship": "Ship",
    "stop": "Stop",
    "keep_running": "Keep running",
    "fix_split": "Fix the split",
    "still_running": "Still running",
    "too_small": "Too few sessions",
    "no_test": "Nothing to compare",
}
"""``experiments.gates.status`` as the report names it."""

GATE_FAILURES = frozenset({"fix_split", "still_running", "too_small", "no_test"})
"""Statuses that mean a gate failed: no verdict."""

RATE_LABELS = {
    "ctr": "Click-through rate",
    "add_to_cart_rate": "Add-to-cart rate",
    "purchase_rate": "Purchase rate",
}
"""The §5 rates as column headers and chart titles name them."""

RATE_SHORT = {
    "ctr": "CTR",
    "add_to_cart_rate": "add-to-cart rate",
    "purchase_rate": "purchase rate",
}
"""The rates as sentences name them."""

DIMENSION_LABELS = {
    "signup_channel": "signup channel",
    "loyalty_tier": "loyalty tier",
    "clv_bucket": "CLV bucket",
    "age_band": "age band",
}
