"""Normalised scratch tables of the marketing family (METRICS.md §6 and §8).

The algorithm, once per build:

1. ``mk_orders``: every orders row with its parsed order_date (``local`` text, NULL when
   unparsed), its local month as an index (``mi`` = year * 12 + month - 1, so "the next
   month" is ``mi + 1``), customer and campaign ids as text, the order total as a number,
   the normalised status, whether it carries a discount code and whether its order_date
   has a time of day (``timed``: the column is date-only when none has). The whole table: cohorts
   and the monthly history reach back to the first order, and the newest order decides
   whether the period is complete.
2. ``mk_activity``: every campaign_activity row, parsed the same way (when the table is
   there with its columns).
3. ``mk_campaigns``: one row per campaign id of ``campaigns``, each attribute its maximum
   non-null stripped value.

Later queries select windows of these tables by ``local`` (canonical text, so text order
is time order); each returns a handful of grouped rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.source.connection import Source
from reportgen.source.scratch import create_scratch, drop_scratch, index_scratch
from reportgen.source.sqlexpr import Expr

TEMP_TABLES = ("mk_orders", "mk_activity", "mk_campaigns")
WORK_TABLES = ("mk_first", "mk_cm", "mk_wc")
"""The compute step's scratch tables, built from ``mk_orders`` (mk_first from mk_cm)."""


@dataclass(frozen=True)
class Prepared:
    """Which optional tables and columns the source has, and why the others are missing."""

    order_columns: frozenset[str]
    """The optional orders columns present: order_total, status, campaign_id, discount_code."""
    has_activity: bool
    has_impressions: bool
    has_campaigns: bool
    campaign_columns: frozenset[str]
    """The optional campaigns columns present: name, channel."""
    activity_problem: str | None
    """Why campaign_activity is there but unusable (a missing required column), if it is."""
    campaigns_problem: str | None

    @property
    def has_campaign_tables(self) -> bool:
        return self.has_activity or self.has_campaigns


def prepare(source: Source, expr: Expr) -> Prepared:
    """Build ``mk_orders``, ``mk_activity`` and ``mk_campaigns`` on the source's connection."""
    conn = source.connection
    # What compute built from these first: a cached Spark view reads the views it came from.
    for table in (*WORK_TABLES, *TEMP_TABLES):
        drop_scratch(conn, table)
    order_columns = _orders(source, expr)
    has_activity, activity_problem, has_impressions = _activity(source, expr)
    has_campaigns, campaigns_problem, campaign_columns = _campaigns(source, expr)
    return Prepared(
        order_columns=order_columns,
        has_activity=has_activity,
        has_impressions=has_impressions,
        has_campaigns=has_campaigns,
        campaign_columns=campaign_columns,
        activity_problem=activity_problem,
        campaigns_problem=campaigns_problem,
    )


def month_index(local: str) -> str:
    """Return SQL for the month index (year * 12 + month - 1) of canonical local text."""
    return (
        f"(cast(substr({local}, 1, 4) as integer) * 12 "
        f"+ cast(substr({local}, 6, 2) as integer) - 1)"
    )


def _orders(source: Source, expr: Expr) -> frozenset[str]:
    orders = source.table("orders")
    o = orders.columns
    present = frozenset(
        c for c in ("order_total", "status", "campaign_id", "discount_code") if c in o
    )
    total = (
        source.number(expr, "orders", "order_total") if "order_total" in o else expr.null_number()
    )
    status = expr.lower_strip(o["status"]) if "status" in o else expr.null_text()
    campaign = expr.id_text(o["campaign_id"]) if "campaign_id" in o else expr.null_text()
    discounted = (
        f"case when {expr.strip(o['discount_code'])} is not null then 1 else 0 end"
        if "discount_code" in o
        else "0"
    )
    parsed = expr.parsed_rows(
        f"""{expr.id_text(o["customer_id"])} as customer_id,
            {campaign} as campaign_id, {total} as total, {status} as status_norm,
            {discounted} as discounted, {expr.not_bare_date(o["order_date"])} as timed""",
        o["order_date"],
        f"from {orders.sql}",
    )
    create_scratch(
        source.connection,
        "mk_orders",
        f"""
        select customer_id, campaign_id, total, status_norm, discounted, timed, local,
               case when local is not null then {month_index("local")} end as mi
        from ({parsed}) parsed
    """,
    )
    index_scratch(source.connection, "mk_orders_local", "mk_orders", "local")
    index_scratch(source.connection, "mk_orders_customer", "mk_orders", "customer_id, mi")
    return present


def _activity(source: Source, expr: Expr) -> tuple[bool, str | None, bool]:
    """Parse campaign_activity; return (usable, why not, has impressions)."""
    if not source.has_table("campaign_activity"):
        return False, None, False
    problems = source.missing_columns(["campaign_activity"])
    if problems:
        return False, problems[0], False
    activity = source.table("campaign_activity")
    a = activity.columns
    has_impressions = "impressions" in a
    impressions = (
        source.number(expr, "campaign_activity", "impressions")
        if has_impressions
        else expr.null_number()
    )
    parsed = expr.parsed_rows(
        f"""{expr.id_text(a["campaign_id"])} as campaign_id,
            {source.number(expr, "campaign_activity", "clicks")} as clicks,
            {source.number(expr, "campaign_activity", "cost")} as cost,
            {impressions} as impressions""",
        a["activity_date"],
        f"from {activity.sql}",
    )
    create_scratch(
        source.connection,
        "mk_activity",
        f"select campaign_id, clicks, cost, impressions, local from ({parsed}) parsed",
    )
    index_scratch(source.connection, "mk_activity_local", "mk_activity", "local")
    return True, None, has_impressions


def _campaigns(source: Source, expr: Expr) -> tuple[bool, str | None, frozenset[str]]:
    """Collapse campaigns to one row per id; return (usable, why not, optional columns)."""
    if not source.has_table("campaigns"):
        return False, None, frozenset()
    problems = source.missing_columns(["campaigns"])
    if problems:
        return False, problems[0], frozenset()
    campaigns = source.table("campaigns")
    c = campaigns.columns
    present = frozenset(column for column in ("name", "channel") if column in c)
    picks = ", ".join(
        f"max({expr.strip(c[column])}) as {column}"
        if column in c
        else f"{expr.null_text()} as {column}"
        for column in ("name", "channel")
    )
    campaign_id = expr.id_text(c["campaign_id"])
    create_scratch(
        source.connection,
        "mk_campaigns",
        f"""
        select {campaign_id} as campaign_id, {picks}
        from {campaigns.sql} where {campaign_id} is not null group by {campaign_id}
    """,
    )
    return True, None, present
