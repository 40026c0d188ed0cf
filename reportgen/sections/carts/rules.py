"""The cart section's rules (METRICS.md §3), their defaults, and how the appendix says them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from reportgen.plugin import RuleText, SectionRules
from reportgen.render.formatters import fmt_count
from reportgen.source.text import normalised_list, strip_text

SEGMENT_COLUMNS = ("signup_channel", "loyalty_tier", "clv_bucket", "age_band")
"""What the top-level ``segments`` setting may list (age_band: from customers.age)."""
DEFAULT_SEGMENTS = ("signup_channel", "loyalty_tier", "clv_bucket")


class CartRules(SectionRules):
    """How carts, lines and orders are read; each field is a ``rules.<key>``."""

    converted_statuses: list[str] = Field(
        default_factory=lambda: ["converted", "purchased", "completed", "checked_out", "ordered"]
    )
    abandoned_statuses: list[str] = Field(default_factory=lambda: ["abandoned", "emptied"])
    open_statuses: list[str] = Field(default_factory=lambda: ["open", "active"])
    duplicate_lines: Literal["sum", "max"] = "sum"
    top_n: int = Field(10, ge=1, le=1000)
    reengagement_days: int = Field(7, ge=0, le=365)
    order_link: Literal["auto", "cart_id", "next_order"] = "auto"

    @field_validator("converted_statuses", "abandoned_statuses", "open_statuses")
    @classmethod
    def _normalise_statuses(cls, value: list[str]) -> list[str]:
        return normalised_list(value)

    @model_validator(mode="after")
    def _statuses_disjoint(self) -> CartRules:
        seen: dict[str, str] = {}
        for key in ("converted_statuses", "abandoned_statuses", "open_statuses"):
            for status in getattr(self, key):
                if status in seen:
                    raise ValueError(f"status {status!r} is in both {seen[status]} and {key}")
                seen[status] = key
        return self


def segments_setting(config: Any) -> list[str]:
    """Return the configured segment columns (the top-level ``segments`` key)."""
    chosen = config.segments
    return list(DEFAULT_SEGMENTS) if chosen is None else list(chosen)


def check_config(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return what is wrong with the top-level ``segments`` setting, [(key, message)]."""
    problems = []
    chosen = data.get("segments")
    for column in chosen if isinstance(chosen, list) else ():
        if strip_text(column) not in SEGMENT_COLUMNS:
            problems.append(
                (
                    "segments",
                    f"unknown segment {column!r}; expected one of {', '.join(SEGMENT_COLUMNS)}",
                )
            )
    return problems


ORDER_LINKS = {
    "auto": (
        "A converted cart is linked to the earliest order carrying its cart_id at or after "
        "it; when no order carries its cart_id, to the customer's first order at or after "
        "the cart among orders without a cart_id."
    ),
    "cart_id": "A converted cart is linked only to an order carrying its cart_id.",
    "next_order": (
        "A converted cart is linked to the customer's first order at or after the cart, "
        "whatever cart_id the order carries."
    ),
}

DUPLICATE_LINES = {
    "sum": (
        "The same product added to one cart twice is one line whose quantity is the sum of "
        "the rows (as cart totals count it); unit price is the highest of the rows."
    ),
    "max": (
        "Repeated rows for one product in one cart are ingestion copies: the line keeps the "
        "largest quantity and the highest unit price."
    ),
}

RULE_TEXTS: dict[str, RuleText] = {
    "converted_statuses": RuleText(
        "Converted statuses",
        lambda v: "A cart whose status, trimmed and lower-cased, is one of these is converted.",
    ),
    "abandoned_statuses": RuleText(
        "Abandoned statuses",
        lambda v: (
            "A cart with one of these statuses is abandoned (an emptied cart is an abandoned "
            "cart whose items were removed)."
        ),
    ),
    "open_statuses": RuleText(
        "Open statuses",
        lambda v: (
            "A cart with one of these statuses is still open. Any other status is 'other' "
            "and listed under Data quality."
        ),
    ),
    "duplicate_lines": RuleText(
        "Duplicate cart lines",
        lambda v: DUPLICATE_LINES.get(v, "How repeated rows of one product in a cart merge."),
    ),
    "top_n": RuleText(
        "Rows in top tables",
        lambda v: (
            f"Top tables show {fmt_count(v)} rows; the CSV export has every row of the "
            "tables that list them all (savable customers, abandoned brands and products)."
        ),
    ),
    "reengagement_days": RuleText(
        "Re-engagement window",
        lambda v: (
            f"An abandoner is re-engaged when they order within {fmt_count(v)} days after an "
            "abandoned cart of the period."
        ),
    ),
    "order_link": RuleText(
        "Cart-to-order link",
        lambda v: ORDER_LINKS.get(v, "How converted carts are linked to orders."),
    ),
}
