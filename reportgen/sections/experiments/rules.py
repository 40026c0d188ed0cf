"""The experiment section's rules (METRICS.md §5), their defaults, and their appendix text."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from reportgen.plugin import RuleText, SectionRules
from reportgen.render.formatters import fmt_count
from reportgen.source.text import strip_text

RATES = ("ctr", "add_to_cart_rate", "purchase_rate")
"""The session rates of §5, in the order tables list them."""
SEGMENT_COLUMNS = ("signup_channel", "loyalty_tier", "clv_bucket", "age_band")
"""What ``experiment_segments`` may list: customers columns (age_band from customers.age)."""
DEFAULT_SEGMENTS = ("signup_channel", "loyalty_tier", "clv_bucket")
"""The cart section's default segment columns: one vocabulary of personas in the report."""


class ExperimentRules(SectionRules):
    """How experiments are judged; each field is a ``rules.<key>``."""

    experiment_primary_metric: Literal["ctr", "add_to_cart_rate", "purchase_rate"] = "ctr"
    alpha: float = Field(0.05, gt=0, lt=1)
    experiment_min_sessions: int = Field(1000, ge=1)
    experiment_segments: list[str] = Field(default_factory=lambda: list(DEFAULT_SEGMENTS))
    experiment_segment_min_sessions: int = Field(200, ge=1)

    @field_validator("experiment_segments")
    @classmethod
    def _known_segments(cls, value: list[str]) -> list[str]:
        chosen = list(dict.fromkeys(strip_text(column) for column in value))
        for column in chosen:
            if column not in SEGMENT_COLUMNS:
                raise ValueError(
                    f"unknown segment {column!r}; expected one of {', '.join(SEGMENT_COLUMNS)}"
                )
        return chosen


METRIC_NAMES = {
    "ctr": "click-through rate",
    "add_to_cart_rate": "add-to-cart rate",
    "purchase_rate": "purchase rate",
}
"""Each rate as a sentence names it."""

RULE_TEXTS: dict[str, RuleText] = {
    "experiment_primary_metric": RuleText(
        "Primary experiment metric",
        lambda v: (
            f"Experiments are decided on the {METRIC_NAMES.get(v, v)}; the other rates are "
            "shown beside it but decide nothing."
        ),
    ),
    "alpha": RuleText(
        "Significance level",
        lambda v: (
            f"A difference in the primary metric is significant when its Holm-adjusted "
            f"p-value, across every comparison in the report, is below {v}."
        ),
    ),
    "experiment_min_sessions": RuleText(
        "Minimum sessions per arm",
        lambda v: (
            f"An experiment gets a verdict only when every variant has at least "
            f"{fmt_count(v)} sessions."
        ),
    ),
    "experiment_segments": RuleText(
        "Experiment personas",
        lambda v: (
            "Customer attributes the primary metric's lift is split by, for sessions whose "
            "user_id is a customer (exploratory: not corrected, not a decision)."
        ),
    ),
    "experiment_segment_min_sessions": RuleText(
        "Readable persona",
        lambda v: (
            f"A persona's lift is read only when control and variant each have at least "
            f"{fmt_count(v)} sessions in it."
        ),
    ),
}
