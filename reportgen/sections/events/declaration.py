"""What the event section declares about itself beyond its code: tables, labels, readings."""

from __future__ import annotations

from reportgen.plugin import BadRows, TableRows, TableSpec

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "events",
        ("event_time", "event_type", "user_id", "session_id", "product_id", "price"),
        ("category_code", "brand", "quantity"),
        "event_time",
        True,
    ),
    # Optional: names and categories for the product tables (rule events-product-names).
    TableSpec("products", ("product_id",), ("name", "category")),
)
"""METRICS.md §1, the events family."""

DATA_QUALITY_LABELS = {
    "events.unparsed_event_time": "Events with an unreadable event_time (whole table)",
    "events.duplicates_removed": "Duplicate events removed",
    "events.bad_price_removed": "Events removed for a missing or bad price or quantity",
    "events.unmapped_removed": "Events removed for an unmapped event type",
    "events.unmapped_types": "Unmapped event types",
    "events.table_rows": "Rows in the events table (whole table)",
    "events.period_rows": "Events of the period before cleaning",
    "events.future_event_time": "Events dated after this report was built (whole table)",
    "events.first_event_time": "Earliest event in the log",
    "events.last_event_time": "Latest event in the log",
}

PART_NAMES = {
    "events": "Events and funnels",
    "events.top_brands": "Top brands",
    "events.top_categories": "Top categories",
    "events.abandoned_brands": "Abandoned brands",
}

NAMED_RULES: tuple[tuple[str, str], ...] = (
    (
        "event-keys-hashed-on-duckdb",
        "On DuckDB, exact duplicate events and distinct text user and session ids are "
        "compared through 64-bit hashes of their values (SQLite and PostgreSQL compare the "
        "values): two different values share a hash with odds of about n²/2^65, 3 in a "
        "million for 10M events.",
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
        "events-product-names",
        "A product row of events.top_products, events.abandoned_products and "
        "events.zero_purchase_products carries the name and category of its product_id in the "
        "optional products table (ids compared as text; duplicate ids give each attribute its "
        "largest non-null value, as the cart section reads them); a source without the table, "
        "or an id missing from it, gives nulls and the report shows the id.",
    ),
    (
        "cart-and-event-abandonment-differ",
        "Where the report also has the cart section, the funnel page says in one sentence why "
        "carts.abandonment_rate and the event funnel's cart-to-purchase drop differ: the "
        "former counts carts of the carts table that no order followed, the latter users of "
        "the click stream who added to cart and never bought.",
    ),
)
"""Readings the event section adds where METRICS.md is silent (listed in its README)."""


BAD_ROWS: tuple[BadRows, ...] = (
    BadRows(
        "events.unparsed_event_time",
        "events.table_rows",
        "events",
        "events",
        "have a date and time that cannot be read and are in no period",
    ),
    BadRows(
        "events.future_event_time",
        "events.table_rows",
        "events",
        "events",
        "are dated after this report was built and are in no past period",
    ),
    BadRows(
        "events.bad_price_removed",
        "events.period_rows",
        "events",
        "events of the period",
        "were removed for a missing or bad price or quantity",
    ),
)
"""Its unreadable or dropped rows, weighed by the ``bad-row-share`` rule."""

TABLE_ROWS: tuple[TableRows, ...] = (
    TableRows(
        "events.table_rows",
        "events",
        "every event figure is zero or n/a",
        ("data_quality", "events.period_rows"),
        "a date",
    ),
)
"""Its source table's row count: an empty one (or a period without events) is an alert."""
