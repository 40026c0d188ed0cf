"""The marketing section's rules (METRICS.md §6), their defaults, and how the appendix says them."""

from __future__ import annotations

from pydantic import Field, field_validator

from reportgen.plugin import RuleText, SectionRules
from reportgen.render.formatters import fmt_count
from reportgen.source.text import normalised_list


class MarketingRules(SectionRules):
    """How orders and campaigns are read; each field is a ``rules.<key>``."""

    abandoned_statuses: list[str] = Field(default_factory=lambda: ["abandoned", "emptied"])
    """The cart section's rule of the same name and meaning: one flat key for both."""
    campaign_min_clicks: int = Field(100, ge=0)
    """Campaigns with fewer clicks in the period are shown as too little data, not ranked."""

    @field_validator("abandoned_statuses")
    @classmethod
    def _normalise_statuses(cls, value: list[str]) -> list[str]:
        return normalised_list(value)


RULE_TEXTS: dict[str, RuleText] = {
    "abandoned_statuses": RuleText(
        "Abandoned statuses",
        lambda v: (
            "An order (or a cart) whose status, trimmed and lower-cased, is one of these is "
            "abandoned; the order abandonment rate divides those orders by the orders that "
            "have a status."
        ),
    ),
    "campaign_min_clicks": RuleText(
        "Campaign ranking threshold",
        lambda v: (
            f"Campaigns with fewer than {fmt_count(v)} clicks in the period are shown as "
            "too little data instead of being ranked by ROI or named in a recommendation."
        ),
    ),
}
