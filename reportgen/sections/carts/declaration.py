"""What the cart section declares about itself beyond its code: tables, labels, readings.

Kept apart from ``__init__.py`` so the registration reads as a table of contents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.plugin import BadRows, TableRows, TableSpec

TABLES: tuple[TableSpec, ...] = (
    TableSpec("carts", ("cart_id", "customer_id", "created_at", "status"), (), "created_at", True),
    TableSpec("cart_items", ("cart_id", "product_id", "quantity", "unit_price")),
    TableSpec(
        "orders",
        ("order_id", "customer_id", "order_date"),
        ("cart_id", "order_total", "status", "campaign_id", "discount_code"),
        "order_date",
        True,
    ),
    TableSpec(
        "customers",
        ("customer_id",),
        ("signup_date", "signup_channel", "loyalty_tier", "clv_bucket", "age"),
    ),
    TableSpec("products", ("product_id",), ("name", "category", "brand", "price")),
)
"""METRICS.md §1, the carts family."""

DATA_QUALITY_LABELS = {
    "carts.null_cart_ids": "Cart rows with no cart_id (whole table, left out)",
    "carts.duplicate_cart_ids": "Cart ids appearing more than once",
    "carts.duplicate_cart_rows": "Extra rows of duplicated carts (collapsed)",
    "carts.other_statuses": "Carts with a status outside the configured lists",
    "carts.duplicate_lines": "Cart lines merged from more than one row",
    "carts.invalid_lines": "Cart lines left out (bad quantity or price)",
    "carts.orphan_lines": "Cart lines whose cart does not exist (whole table)",
    "carts.carts_without_lines": "Carts with no valid line (value 0)",
    "carts.null_customer_carts": "Carts with no customer",
    "carts.unknown_customer_carts": "Carts whose customer is missing from customers",
    "carts.order_before_cart": "Converted carts whose orders all precede the cart",
    "carts.linked_by_cart_id": "Converted carts linked to an order by cart_id",
    "carts.linked_by_next_order": "Converted carts linked to the customer's next order",
    "carts.duplicate_customer_ids": "Customer ids appearing more than once (whole table)",
    "carts.duplicate_product_ids": "Product ids appearing more than once (whole table)",
    "carts.unparsed_created_at": "Carts with an unreadable created_at (whole table)",
    "carts.table_rows": "Rows in the carts table (whole table)",
    "carts.period_lines": "Cart lines of the period's carts (after merging)",
    "carts.future_created_at": "Carts dated after this report was built (whole table)",
    "cart_items.table_rows": "Rows in the cart_items table (whole table)",
    "orders.table_rows": "Rows in the orders table (whole table)",
    "orders.unparsed_order_date": "Orders with an unreadable order_date (whole table, unlinked)",
    "orders.future_order_date": "Orders dated after this report was built (whole table)",
    "carts.first_created_at": "First readable created_at of the carts (whole table)",
    "carts.last_created_at": "Last readable created_at of the carts (whole table)",
    "orders.last_order_date": "Last readable order_date of the orders (whole table)",
}
"""Plain-English labels for the section's data_quality keys (METRICS.md §8)."""

SEGMENT_LABELS = {
    "signup_channel": "signup channel",
    "loyalty_tier": "loyalty tier",
    "clv_bucket": "CLV bucket",
    "age_band": "age band",
}

PART_NAMES = {
    "carts": "Cart & customer behaviour",
    "carts.products": "Product names and categories",
}


def part_title(name: str) -> str | None:
    """Return the display name of a ``skipped`` entry of this section."""
    if name.startswith("carts.segment."):
        column = name.removeprefix("carts.segment.")
        return f"Segments by {SEGMENT_LABELS.get(column, column.replace('_', ' '))}"
    return PART_NAMES.get(name)


def reengagement_label(rules: Mapping[str, Any]) -> str | None:
    """Return the re-engagement KPI's label with its window: ``7-day re-engagement rate``."""
    days = rules.get("reengagement_days")
    return f"{days}-day re-engagement rate" if isinstance(days, int) else None


NAMED_RULES: tuple[tuple[str, str], ...] = (
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
        "coverage-timestamps",
        "carts.first_created_at and carts.last_created_at are the first and last parseable "
        "created_at of the carts rows with a cart_id (before duplicates collapse, "
        "future-dated rows included), as local time to the second; orders.last_order_date "
        "is the newest parseable order_date.",
    ),
    (
        "recovered-revenue",
        "carts.recovered_orders counts the orders that re-engage the period's abandoners: "
        "orders of a customer with an abandoned cart c of the period and c.created_at < "
        "order_date <= c.created_at + N days (by calendar day when either column is date-"
        "only), orders after the period end included; each order_id counts once however many "
        "carts' windows it falls in (repeated rows of one order_id are one order, valued at "
        "their largest order_total). carts.recovered_revenue sums their order_total; an "
        "order_total that is NULL or not a number adds 0; without an order_total column it is"
        " null.",
    ),
    (
        "kpi-contributions",
        "carts.contributions splits each headline KPI's change by group: abandoned cart value"
        " by category (a group's contribution is its current minus previous value), "
        "abandonment, conversion and re-engagement rates by each configured segment column "
        "present (rate r = sum of w_g r_g, w_g the group's share of the carts or abandoners; "
        "contribution w_g' r_g' - w_g r_g = rate_effect (mean w_g times the change of r_g) + "
        "size_effect (mean r_g times the change of w_g)). A group of one period only keeps "
        "its one rate (its contribution is all size effect; previous or current and change "
        "are null). A rate KPI null in either period has no rows; share_of_change is null "
        "when the KPI did not change. Rows go by KPI, then dimension, then largest "
        "contribution either way.",
    ),
    (
        "sku-category",
        "A SKU whose product has no category shows category Unknown, as in the category table.",
    ),
    (
        "provisional-reengagement",
        "The re-engagement rate and re-engaged abandoners are provisional while any of the "
        "period's abandoned carts is younger than the window at the newest order: their "
        "abandoners may still order. They are final once the data runs to the period's last "
        "day plus the window.",
    ),
    (
        "provisional-open-carts",
        "The conversion rate, abandonment rate and abandoned cart value are provisional while "
        "1% or more of the period's carts are still open: an open cart can still be bought "
        "or abandoned, moving a rate by up to the open share.",
    ),
)
"""Readings the cart section adds where METRICS.md is silent (listed in its README)."""


BAD_ROWS: tuple[BadRows, ...] = (
    BadRows(
        "carts.unparsed_created_at",
        "carts.table_rows",
        "carts",
        "carts",
        "have an unreadable created_at and are in no period",
    ),
    BadRows(
        "carts.null_cart_ids",
        "carts.table_rows",
        "carts",
        "carts",
        "have no cart_id and are left out",
    ),
    BadRows(
        "carts.future_created_at",
        "carts.table_rows",
        "carts",
        "carts",
        "are dated after this report was built and are in no past period",
    ),
    BadRows(
        "carts.invalid_lines",
        "carts.period_lines",
        "cart_items",
        "cart lines of the period",
        "have a bad quantity or price and are left out of cart values",
    ),
    BadRows(
        "orders.unparsed_order_date",
        "orders.table_rows",
        "orders",
        "orders",
        "have an unreadable order_date and link to no cart",
    ),
    BadRows(
        "orders.future_order_date",
        "orders.table_rows",
        "orders",
        "orders",
        "are dated after this report was built",
    ),
)
"""Its unreadable or dropped rows, weighed by the ``bad-row-share`` rule."""

TABLE_ROWS: tuple[TableRows, ...] = (
    TableRows(
        "carts.table_rows",
        "carts",
        "every cart figure is zero or n/a",
        ("kpis", "carts.carts_total"),
        "a created_at",
    ),
    TableRows("cart_items.table_rows", "cart_items", "every cart's value is 0"),
    TableRows(
        "orders.table_rows",
        "orders",
        "no cart links to an order and no abandoner is re-engaged",
    ),
)
"""Its source tables' row counts: an empty one (or a period without carts) is an alert."""
