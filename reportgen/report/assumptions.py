"""Plain-English descriptions of the rules behind the numbers, for the Assumptions appendix.

Two kinds: the configurable rules (``Config.rules`` and ``segments``, as metrics.json
records them in ``rules``) and the fixed interpretive rules METRICS.md §3 and §8 apply to
every report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reportgen.render.formatters import fmt_number
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
        "A build with no period option covers the last complete month before the newest "
        "cart (the newest event when the source has no carts table).",
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
        "event-keys-hashed-on-duckdb",
        "On DuckDB, exact duplicate events and distinct text user and session ids are "
        "compared through 64-bit hashes of their values (SQLite and PostgreSQL compare the "
        "values): two different values share a hash with odds of about n²/2^65, 3 in a "
        "million for 10M events.",
    ),
    (
        "csv-as-text",
        "CSV files are read with every value as text, then parsed by the §8 rules like a "
        "text column (a sniffed type would drop a UTC suffix or fail on one odd value).",
    ),
    (
        "unmapped-after-price",
        'events.unmapped_types counts, by normalised type (NULL as "NULL"), the rows the '
        "mapped_type step removes: deduplicated rows with a valid price.",
    ),
    (
        "events-null-ids",
        "A purchase without a product_id counts in the brand and category tables; views "
        "without a user_id count in a product's views for the never-bought list.",
    ),
    (
        "usual-range",
        "A cover sparkline shows a headline KPI over the last report.trend_periods periods, "
        "recomputed from the source (trends.json beside metrics.json); its delta is within "
        "the usual range when the value lies between the lowest and highest of the 8 "
        "periods before (at least 3 of them known).",
    ),
    (
        "history-kept",
        "Building a period that already exists moves the old report to "
        "reports/history/<kind>/<label>/<built at>/; --force replaces it.",
    ),
    (
        "bad-row-share",
        "A data alert is raised when unreadable or dropped rows exceed "
        "quality.max_bad_row_share (default 0.5%) of their denominator: "
        "carts.unparsed_created_at, carts.null_cart_ids and carts.future_created_at of "
        "carts.table_rows; carts.invalid_lines of carts.period_lines (the period's merged"
        " lines); orders.unparsed_order_date and orders.future_order_date of "
        "orders.table_rows; events.unparsed_event_time and events.future_event_time of "
        "events.table_rows; events.bad_price_removed of events.period_rows. An empty "
        "carts, cart_items, orders or events table, and a period with no carts or no "
        "events, are alerts too. Not weighed: duplicates (collapsed, not lost), unmapped "
        "event types (listed by name), orphan lines (no cart's figure loses them) and "
        "other statuses (counted as other). Alerts are warnings from the CLI, a banner on"
        " the cover and data_alerts in build.json; build --strict publishes nothing "
        "instead.",
    ),
    (
        "future-dated-rows",
        "carts.future_created_at, orders.future_order_date and events.future_event_time "
        "count rows of the whole table (carts with a cart_id) whose timestamp is later "
        "than the moment the build started, compared as local time in report.timezone; "
        "they stay in whatever period they fall in.",
    ),
    (
        "out-of-range-instants",
        "A timestamp whose instant or local time falls outside the years 1 to 9999 in "
        "report.timezone (9999-12-31 23:30 UTC seen from Asia/Tokyo) is unparsed.",
    ),
    (
        "csv-encoding",
        "CSV files are read in their source.files entry's encoding, else source.encoding "
        "(default utf-8). DuckDB reads utf-8, utf-16 and latin-1 itself; any other Python"
        " codec (cp1252…) is first copied to UTF-8 a chunk at a time. Bytes that do not "
        "decode are an error naming the file and the encoding, never silently replaced.",
    ),
)
"""Readings reportgen adds where METRICS.md is silent (mirrored in docs/rules.md)."""


def interpretive_rules(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the fixed rules every report applies (METRICS.md §8) in plain English: the
    time zone, each computed section's readings, then the named rules."""
    from reportgen.sections import all_sections

    zone = (metrics.get("period") or {}).get("timezone") or "UTC"
    computed = {key.split(".", 1)[0] for key in metrics.get("kpis") or {}}
    readings = [
        reading
        for section in all_sections()
        if section.readings and section.name in computed
        for reading in section.readings(metrics)
    ]
    return [
        {
            "name": "Time zone",
            "meaning": (
                f"Timestamps without a zone are read as local times in {zone}; those with an "
                "offset or UTC are converted to it. A period runs from its start up to, but "
                "not including, its end."
            ),
        },
        *readings,
        {
            "name": "Zero denominators",
            "meaning": "A rate whose denominator is zero is shown as n/a, never as 0.",
        },
        *({"name": name, "meaning": reading} for name, reading in NAMED_RULES),
    ]


def _count(value: Any) -> str:
    return fmt_number(value) if isinstance(value, int | float) else str(value)
