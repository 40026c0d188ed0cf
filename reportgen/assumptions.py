"""Plain-English descriptions of the rules behind the numbers, for the Assumptions appendix.

Two kinds: the configurable rules (``Config.rules`` and ``segments``, as metrics.json
records them in ``rules``) and the fixed interpretive rules METRICS.md §3 and §8 apply to
every report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reportgen.formatters import fmt_number
from reportgen.sections.carts.kpis import segment_columns

Describe = Callable[[Any], str]

EXPERIMENT_METRICS = {
    "ctr": "click-through rate",
    "add_to_cart_rate": "add-to-cart rate",
    "purchase_rate": "purchase rate",
}

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

RULES: dict[str, tuple[str, Describe]] = {
    "converted_statuses": (
        "Converted statuses",
        lambda v: "A cart whose status, trimmed and lower-cased, is one of these is converted.",
    ),
    "abandoned_statuses": (
        "Abandoned statuses",
        lambda v: (
            "A cart with one of these statuses is abandoned (an emptied cart is an abandoned "
            "cart whose items were removed)."
        ),
    ),
    "open_statuses": (
        "Open statuses",
        lambda v: (
            "A cart with one of these statuses is still open. Any other status is 'other' "
            "and listed under Data quality."
        ),
    ),
    "duplicate_lines": (
        "Duplicate cart lines",
        lambda v: DUPLICATE_LINES.get(v, "How repeated rows of one product in a cart merge."),
    ),
    "top_n": (
        "Rows in top tables",
        lambda v: (
            f"Top SKU, category and savable-customer tables show {_count(v)} rows; "
            "the CSV export has all savable customers."
        ),
    ),
    "reengagement_days": (
        "Re-engagement window",
        lambda v: (
            f"An abandoner is re-engaged when they order within {_count(v)} days after an "
            "abandoned cart of the period."
        ),
    ),
    "order_link": (
        "Cart-to-order link",
        lambda v: ORDER_LINKS.get(v, "How converted carts are linked to orders."),
    ),
    "event_types": (
        "Event types",
        lambda v: "Event types, trimmed and lower-cased, that count as each funnel step.",
    ),
    "zero_purchase_min_views": (
        "Never-bought threshold",
        lambda v: f"Products with at least {_count(v)} views and no purchase are listed.",
    ),
    "experiment_primary_metric": (
        "Experiment primary metric",
        lambda v: f"Experiments are judged on their {EXPERIMENT_METRICS.get(v, v)}.",
    ),
    "alpha": (
        "Significance level",
        lambda v: f"A result is significant when its Holm-adjusted p-value is below {v}.",
    ),
    "segments": (
        "Segments",
        lambda v: (
            "Customer attributes the cart segment tables split by; a missing value is 'Unknown'."
        ),
    ),
}
"""Config key → (name, meaning given the value), in the order the appendix lists them."""


def rules_in_force(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return every rule recorded in ``metrics["rules"]`` with its value and meaning.

    Known rules come first in a fixed order; any other key is listed after them as is.
    """
    rules = metrics.get("rules") or {}
    keys = [key for key in RULES if key in rules] + [key for key in rules if key not in RULES]
    out = []
    for key in keys:
        name, describe = RULES.get(key, (key.replace("_", " ").capitalize(), lambda v: ""))
        out.append(
            {
                "key": key if key == "segments" else f"rules.{key}",
                "name": name,
                "value": format_rule_value(rules[key]),
                "meaning": describe(rules[key]),
            }
        )
    columns = segment_columns(metrics)
    if columns:
        name, describe = RULES["segments"]
        out.append(
            {
                "key": "segments",
                "name": name,
                "value": format_rule_value(columns),
                "meaning": describe(columns),
            }
        )
    return out


def format_rule_value(value: Any) -> str:
    """Return a rule's value as the config would spell it, lists comma-separated."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {format_rule_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_rule_value(item) for item in value) or "none"
    return str(value)


NAMED_RULES: tuple[tuple[str, str], ...] = (
    (
        "ids-as-text",
        "Ids (cart, customer, product, order) are compared as their text, not "
        "stripped; an empty-text id is NULL. Output ids are integers when every id in the "
        'table is plain integer text ("007" stays text).',
    ),
    (
        "labels-stripped",
        "Category, brand, product name and segment values are stripped like "
        "statuses; empty after stripping is NULL, shown as Unknown.",
    ),
    (
        "orphan-lines",
        "carts.orphan_lines counts merged (cart_id, product_id) lines of the "
        "whole cart_items table whose cart_id matches no cart (a NULL cart_id included).",
    ),
    (
        "unparsed-created-at",
        "carts.unparsed_created_at counts rows of the whole carts table "
        "(NULL cart_ids excluded, before duplicates collapse) whose created_at is NULL or not "
        "an accepted timestamp.",
    ),
    (
        "duplicate-carts-in-period",
        "A duplicated cart_id belongs to the period of the row "
        "that is kept (the most advanced status); duplicate_cart_ids and duplicate_cart_rows "
        "count those.",
    ),
    (
        "reengagement-elapsed",
        "created_at + N days is N times 24 hours of elapsed time; by "
        "calendar day when either column is date-only.",
    ),
    (
        "unparsed-orders-ignored",
        "Orders whose order_date cannot be parsed take part in no "
        "link, window or newest-order comparison: they cannot be placed in time.",
    ),
    (
        "immature-without-orders",
        "With no parseable order at all, no cart is counted as "
        "immature: there is no newest order_date to compare with.",
    ),
    (
        "next-order-by-day",
        "With date-only values, next_order's order_date >= created_at "
        "compares calendar days, like the cart_id link.",
    ),
    (
        "default-period",
        "A build with no period option covers the last complete month before the newest cart.",
    ),
    (
        "sku-category",
        "A SKU whose product has no category shows category Unknown, as in the category table.",
    ),
    (
        "money-rounding",
        "Money sums keep full precision to 1e-6 in metrics.json and CSV (the "
        "float noise below that differs between engines); they are rounded half-up to cents "
        "only where shown.",
    ),
    (
        "lower-ascii-on-sqlite",
        "On SQLite, lower() folds ASCII letters only: statuses with "
        "non-ASCII capitals must be listed in the config as they appear.",
    ),
    (
        "zoned-timestamps",
        "A timestamp column typed with a time zone (timestamptz) is read as its instant, "
        "as if written with a UTC suffix, then shown in report.timezone.",
    ),
    (
        "history-kept",
        "Building a period that already exists moves the old report to "
        "reports/history/<kind>/<label>/<built at>/; --force replaces it.",
    ),
)
"""Readings reportgen adds where METRICS.md is silent (mirrored in docs/rules.md)."""


def interpretive_rules(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the fixed rules every report applies (METRICS.md §3 and §8), in plain English."""
    rules = metrics.get("rules") or {}
    days = _count(rules.get("reengagement_days", 7))
    zone = (metrics.get("period") or {}).get("timezone") or "UTC"
    return [
        {
            "name": "Time zone",
            "meaning": (
                f"Timestamps without a zone are read as local times in {zone}; those with an "
                "offset or UTC are converted to it. A period runs from its start up to, but "
                "not including, its end."
            ),
        },
        {
            "name": "Status normalisation",
            "meaning": (
                "Statuses are compared after trimming spaces and lower-casing; a missing "
                "status counts as other."
            ),
        },
        {
            "name": "Duplicate carts",
            "meaning": (
                "A cart_id that appears more than once counts once, with its most advanced "
                "status: converted, then abandoned, then open, then other. Ties go to the "
                "earliest created_at, then the smallest customer_id. Data quality counts the "
                "duplicates; carts with no cart_id are left out."
            ),
        },
        {
            "name": "Cart lines and value",
            "meaning": (
                "Lines are first merged per cart and product, then lines with a missing or "
                "non-positive quantity, or a missing or negative unit price, are dropped "
                "(a price of 0 is valid). A cart's value is the sum of quantity times unit "
                "price over its lines, 0 when it has none."
            ),
        },
        {
            "name": "Unknown segment",
            "meaning": (
                "A cart with no customer, a customer missing from the customer table, or an "
                "empty value for the segment column is in segment 'Unknown'. Segment values "
                "are case-sensitive."
            ),
        },
        {
            "name": "Re-engagement",
            "meaning": (
                "An abandoner is a customer with an abandoned cart in the period. They are "
                "re-engaged when any order of theirs (whatever its status) comes after one "
                f"of those carts and at most {days} days later. When either date has no time "
                "of day, the comparison is by calendar day. Orders after the period end "
                "count: the window can cross it. Carts without a customer are never "
                "abandoners."
            ),
        },
        {
            "name": "Immature carts",
            "meaning": (
                f"An abandoned cart created less than {days} days before the newest order in "
                "the data has not had its full window yet; such carts are counted and the "
                "re-engagement rate may still rise."
            ),
        },
        {
            "name": "Automatic order link",
            "meaning": (
                f"With order_link auto: {ORDER_LINKS['auto'][0].lower()}{ORDER_LINKS['auto'][1:]}"
                " Orders of any date count."
            ),
        },
        {
            "name": "Time to order",
            "meaning": (
                "Time from a converted cart's creation to its linked order, in real elapsed "
                "days, or whole days when either date has no time of day. Converted carts "
                "whose cart_id orders all precede them are left out of the statistics."
            ),
        },
        {
            "name": "Percentiles",
            "meaning": (
                "Median and 90th percentile interpolate linearly between the ordered values "
                "(percentile_cont); with no values they are n/a."
            ),
        },
        {
            "name": "Zero denominators",
            "meaning": "A rate whose denominator is zero is shown as n/a, never as 0.",
        },
        *({"name": name, "meaning": reading} for name, reading in NAMED_RULES),
    ]


def _count(value: Any) -> str:
    return fmt_number(value) if isinstance(value, int | float) else str(value)
