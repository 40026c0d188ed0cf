"""What the marketing section declares about itself beyond its code: tables, labels, readings.

Kept apart from ``__init__.py`` so the registration reads as a table of contents.
"""

from __future__ import annotations

from reportgen.plugin import TableSpec

TABLES: tuple[TableSpec, ...] = (
    # The same orders table as the cart section's, with the same timestamp column: the
    # registry merges the two declarations.
    TableSpec(
        "orders",
        ("order_id", "customer_id", "order_date"),
        ("order_total", "status", "campaign_id", "discount_code"),
        "order_date",
        True,
    ),
    TableSpec("campaigns", ("campaign_id",), ("name", "channel")),
    TableSpec(
        "campaign_activity",
        ("campaign_id", "activity_date", "clicks", "cost"),
        ("impressions",),
        "activity_date",
    ),
)
"""METRICS.md §1, the marketing family (orders as the cart family declares them)."""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "marketing.campaigns": (
        "campaign_id",
        "name",
        "channel",
        "clicks",
        "cost",
        "impressions",
        "ctr",
        "cpc",
        "orders",
        "revenue",
        "roi",
    ),
    "marketing.cohorts": ("cohort", "months_since", "customers", "active", "share"),
    "marketing.by_month": (
        "month",
        "orders",
        "customers",
        "repeat_purchase_rate",
        "retention_rate",
        "revenue",
        "discount_revenue",
        "other_revenue",
        "discount_revenue_share",
    ),
}
"""Every table the section writes and its columns (reportgen/sections/marketing/README.md)."""

DATA_QUALITY_LABELS = {
    "marketing.unparsed_order_date": "Orders with an unreadable order_date (whole table)",
    "marketing.null_customer_orders": "Orders with no customer (counted as orders only)",
    "marketing.newest_order": "Newest order in the data (whole table)",
    "marketing.unparsed_activity_date": (
        "Campaign activity rows with an unreadable activity_date (whole table)"
    ),
    "marketing.unknown_campaign_orders": (
        "Orders attributed to a campaign neither campaign table knows"
    ),
}
"""Plain-English labels for the section's data_quality keys."""

PART_NAMES = {
    "marketing": "Marketing",
    "marketing.campaigns": "Campaigns",
    "marketing.campaign_activity": "Campaign clicks and cost",
    "marketing.campaign_names": "Campaign names and channels",
    "marketing.campaign_orders": "Orders and revenue per campaign",
    "marketing.campaigns.impressions": "Campaign impressions and CTR",
    "marketing.campaigns.name": "Campaign names",
    "marketing.campaigns.channel": "Campaign channels",
    "marketing.revenue": "Order revenue",
    "marketing.order_abandonment_rate": "Order abandonment rate",
    "marketing.discount_revenue_share": "Discount revenue",
}


def part_title(name: str) -> str | None:
    """Return the display name of a ``skipped`` entry of this section."""
    return PART_NAMES.get(name)


NAMED_RULES: tuple[tuple[str, str], ...] = (
    (
        "orders-are-rows",
        "marketing.orders counts order rows with a parseable order_date in the period, "
        "whatever their status; a repeated order_id counts each time (no collapse, as "
        "METRICS.md asks none). Orders with a NULL customer_id count in orders, revenue "
        "and the campaign table but in no customer count.",
    ),
    (
        "orders-per-customer",
        "marketing.orders_per_customer is marketing.orders / marketing.customers, the two "
        "KPIs as reported.",
    ),
    (
        "campaign-ids-as-text",
        "orders.campaign_id, campaigns.campaign_id and campaign_activity.campaign_id match "
        "as text; a campaign id found only on orders is listed with a NULL name and channel "
        "(and zero clicks and cost when campaign_activity exists); duplicate campaigns rows "
        "give each attribute its maximum non-null stripped value.",
    ),
    (
        "campaign-sums",
        "Campaign clicks, cost and impressions are sums over the period's activity rows "
        "(NULL and non-numeric values ignored, 0 over no rows); NULL or non-numeric order "
        "totals count as 0 in revenue.",
    ),
    (
        "cohort-customers",
        "A cohort holds every customer (non-null customer_id) whose first parseable "
        "order before the period end falls in that local month; active counts those with "
        "at least one order in the cohort month plus months_since.",
    ),
    (
        "by-month-window",
        "marketing.by_month lists the 12 calendar months up to the one holding the "
        "period's last day (every month of the period when it spans more); orders at or "
        "after the period end never count, so that month may be partial. Its retention "
        "compares each month with the whole calendar month before it.",
    ),
    (
        "provisional-retention",
        "The retention and repeat purchase rates are provisional when the newest "
        "parseable order in the data (marketing.newest_order) is before the period end: "
        "customers may still order in the period (the delivery gate's test). A date-only "
        "order_date column gives marketing.newest_order as YYYY-MM-DD, covering that whole "
        "day.",
    ),
)
"""Readings the marketing section adds where METRICS.md is silent (listed in its README)."""
