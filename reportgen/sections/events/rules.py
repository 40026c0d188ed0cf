"""The event section's rules (METRICS.md §4), their defaults, and how the appendix says them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reportgen.plugin import RuleText, SectionRules
from reportgen.render.formatters import fmt_count
from reportgen.source.text import normalised_list

STEPS = ("view", "cart", "remove", "purchase")


def default_event_types() -> dict[str, list[str]]:
    return {
        "view": ["view", "page_view", "product_view"],
        "cart": ["cart", "add_to_cart"],
        "remove": ["remove_from_cart", "remove"],
        "purchase": ["purchase", "purchase_cart"],
    }


class EventRules(SectionRules):
    """How an event log is read; each field is a ``rules.<key>``."""

    top_n: int = Field(10, ge=1, le=1000)
    event_types: dict[Literal["view", "cart", "remove", "purchase"], list[str]] = Field(
        default_factory=default_event_types
    )
    zero_purchase_min_views: int = Field(200, ge=1)

    @field_validator("event_types", mode="before")
    @classmethod
    def _default_other_steps(cls, value: Any) -> Any:
        """A step the config does not list keeps its default names."""
        if isinstance(value, dict):
            return {**default_event_types(), **value}
        return value

    @field_validator("event_types")
    @classmethod
    def _normalise_event_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {kind: normalised_list(names) for kind, names in value.items()}

    @model_validator(mode="after")
    def _event_types_disjoint(self) -> EventRules:
        seen: dict[str, str] = {}
        for kind, names in self.event_types.items():
            for name in names:
                if name in seen:
                    raise ValueError(
                        f"event type {name!r} is in both event_types.{seen[name]} "
                        f"and event_types.{kind}"
                    )
                seen[name] = kind
        return self


RULE_TEXTS: dict[str, RuleText] = {
    "top_n": RuleText(
        "Rows in top tables",
        lambda v: (
            f"Top product, brand and category tables show {fmt_count(v)} rows; abandoned "
            "brands and products list every row in the CSV export."
        ),
    ),
    "event_types": RuleText(
        "Event types",
        lambda v: "Event types, trimmed and lower-cased, that count as each funnel step.",
    ),
    "zero_purchase_min_views": RuleText(
        "Never-bought threshold",
        lambda v: f"Products with at least {fmt_count(v)} views and no purchase are listed.",
    ),
}
