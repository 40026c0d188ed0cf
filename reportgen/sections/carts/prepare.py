"""Normalised, indexed temp tables of the cart family (METRICS.md §3 and §8).

The algorithm, once per build:

1. ``rg_carts_all``: every carts row with a cart_id, its status class and parsed
   created_at (``local`` text, ``epoch_us``, ``day``).
2. ``rg_carts``: one row per cart_id over the whole table — the most advanced status,
   then the earliest created_at, then the smallest customer_id — with its row count.
3. ``rg_orders``, ``rg_customers``, ``rg_products``: parsed and deduplicated.
4. ``rg_lines``: cart lines merged on (cart_id, product_id), only for carts created in
   the current or previous period (the only ones any figure needs), then validated.
5. ``rg_pc``: the carts of both periods with value, segment values and which period.
6. ``rg_abandoners``: per period and customer, abandoned carts, value and whether any
   abandoned cart was followed by an order within the re-engagement window.

Temp tables live in the connection's temp schema, so a read-only source works.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.query import execute, scalar
from reportgen.sources import Source
from reportgen.sqlexpr import Expr

STATUS_RANK = {"converted": 1, "abandoned": 2, "open": 3, "other": 4}
DAY_US = 86_400_000_000
SEGMENT_SOURCE = {"signup_channel", "loyalty_tier", "clv_bucket"}


@dataclass(frozen=True)
class Prepared:
    """Facts about the normalised tables that the queries need."""

    date_only: bool
    """carts.created_at or orders.order_date is date-only: compare by calendar day."""
    has_order_cart_id: bool
    has_customers: bool
    has_products: bool
    segments: tuple[str, ...]
    """Segment columns with a ``seg_<name>`` column in rg_pc."""
    missing_segments: tuple[str, ...]


def prepare(source: Source, expr: Expr, config: Config, period: Period) -> Prepared:
    """Build the temp tables for ``period`` and the one before it."""
    conn = source.connection
    rules = config.rules
    carts = source.table("carts")
    items = source.table("cart_items")
    orders = source.table("orders")
    c = carts.columns
    status = expr.lower_strip(c["status"])
    statuses = {
        "conv": rules.converted_statuses or ["\x00"],
        "aband": rules.abandoned_statuses or ["\x00"],
        "open": rules.open_statuses or ["\x00"],
    }
    for table in (
        "rg_carts_all",
        "rg_carts",
        "rg_orders",
        "rg_customers",
        "rg_products",
        "rg_lines",
        "rg_pc",
        "rg_abandoners",
    ):
        execute(conn, f"drop table if exists {table}")

    # The status rank is computed on the stripped status after the parse (see module doc).
    parsed_carts = expr.with_timestamps(f"""
        select {expr.id_text(c["cart_id"])} as cart_id, {c["cart_id"]} as cart_raw,
               {expr.id_text(c["customer_id"])} as customer_id, {status} as status_norm,
               {expr.strip(c["created_at"])} as x
        from {carts.sql}
        where {expr.id_text(c["cart_id"])} is not null
    """)
    execute(
        conn,
        f"""
        create temp table rg_carts_all as
        select cart_id, cart_raw, customer_id, status_norm,
               case when status_norm in :conv then 1 when status_norm in :aband then 2
                    when status_norm in :open then 3 else 4 end as status_rank,
               is_date, local, epoch_us, day
        from ({parsed_carts}) parsed
    """,
        **statuses,
    )

    execute(
        conn,
        f"""
        create temp table rg_carts as
        select cart_id, cart_raw, customer_id, status_norm, status_rank, local, epoch_us,
               day, n_rows
        from (
            select a.*,
                   row_number() over (
                       partition by cart_id
                       order by status_rank, case when epoch_us is null then 1 else 0 end,
                                epoch_us, case when customer_id is null then 1 else 0 end,
                                customer_id
                   ) as pick,
                   count(*) over (partition by cart_id) as n_rows
            from rg_carts_all a
        ) ranked
        where pick = 1
    """,
    )
    execute(conn, "create index rg_carts_local on rg_carts (local)")
    execute(conn, "create index rg_carts_raw on rg_carts (cart_raw)")

    o = orders.columns
    has_order_cart_id = "cart_id" in o
    cart_id_col = f"{expr.id_text(o['cart_id'])} as cart_id," if has_order_cart_id else ""
    parsed_orders = expr.with_timestamps(f"""
        select {expr.id_text(o["order_id"])} as order_id,
               {expr.id_text(o["customer_id"])} as customer_id, {cart_id_col}
               {expr.strip(o["order_date"])} as x
        from {orders.sql}
    """)
    order_cart = "cart_id," if has_order_cart_id else ""
    execute(
        conn,
        f"""
        create temp table rg_orders as
        select order_id, customer_id, {order_cart} is_date, local, epoch_us, day
        from ({parsed_orders}) parsed
    """,
    )
    execute(conn, "create index rg_orders_customer on rg_orders (customer_id, epoch_us)")
    execute(conn, "create index rg_orders_customer_day on rg_orders (customer_id, day)")
    if has_order_cart_id:
        execute(conn, "create index rg_orders_cart on rg_orders (cart_id)")

    date_only = _date_only(conn, "rg_carts_all") or _date_only(conn, "rg_orders")

    has_customers = source.has_table("customers") and not source.missing_columns(["customers"])
    wanted = [s for s in config.segments]
    segments: list[str] = []
    if has_customers:
        cu = source.table("customers").columns
        picks = []
        for name in wanted:
            column = "age" if name == "age_band" else name
            if column not in cu:
                continue
            value = expr.number(cu[column]) if column == "age" else expr.strip(cu[column])
            picks.append(f"max({value}) as seg_src_{name}")
            segments.append(name)
        extra = "".join(f", {p}" for p in picks)
        execute(
            conn,
            f"""
            create temp table rg_customers as
            select {expr.id_text(cu["customer_id"])} as customer_id, count(*) as n_rows{extra}
            from {source.table("customers").sql}
            where {expr.id_text(cu["customer_id"])} is not null
            group by {expr.id_text(cu["customer_id"])}
        """,
        )
    else:
        execute(
            conn,
            "create temp table rg_customers as select cast(null as text) as customer_id, "
            "0 as n_rows where 1 = 0",
        )
    execute(conn, "create index rg_customers_id on rg_customers (customer_id)")

    has_products = source.has_table("products") and not source.missing_columns(["products"])
    if has_products:
        pr = source.table("products").columns
        name = f"max({expr.strip(pr['name'])})" if "name" in pr else "null"
        category = f"max({expr.strip(pr['category'])})" if "category" in pr else "null"
        execute(
            conn,
            f"""
            create temp table rg_products as
            select {expr.id_text(pr["product_id"])} as product_id, count(*) as n_rows,
                   {name} as name, {category} as category
            from {source.table("products").sql}
            where {expr.id_text(pr["product_id"])} is not null
            group by {expr.id_text(pr["product_id"])}
        """,
        )
    else:
        execute(
            conn,
            "create temp table rg_products as select cast(null as text) as product_id, "
            "0 as n_rows, cast(null as text) as name, cast(null as text) as category "
            "where 1 = 0",
        )
    execute(conn, "create index rg_products_id on rg_products (product_id)")

    previous = period.previous()
    window = {"ws": previous.start_text, "we": period.end_text}
    i = items.columns
    merge = "sum" if rules.duplicate_lines == "sum" else "max"
    execute(
        conn,
        f"""
        create temp table rg_lines as
        select cart_id, product_id, qty, price, n_rows,
               case when qty > 0 and price >= 0 then 1 else 0 end as valid,
               case when qty > 0 and price >= 0 then qty * price else 0 end as value
        from (
            select {expr.id_text(i["cart_id"])} as cart_id,
                   {expr.id_text(i["product_id"])} as product_id,
                   {merge}({expr.number(i["quantity"])}) as qty,
                   max({expr.number(i["unit_price"])}) as price,
                   count(*) as n_rows
            from {items.sql}
            where {i["cart_id"]} in (
                select cart_raw from rg_carts where local >= :ws and local < :we
            )
            group by {expr.id_text(i["cart_id"])}, {expr.id_text(i["product_id"])}
        ) merged
    """,
        **window,
    )
    execute(conn, "create index rg_lines_cart on rg_lines (cart_id)")

    seg_columns = "".join(f", {_segment_value(name)} as seg_{name}" for name in segments)
    seg_unknown = "".join(f", 'Unknown' as seg_{name}" for name in wanted if name not in segments)
    execute(
        conn,
        f"""
        create temp table rg_pc as
        select case when c.local >= :cs then 'cur' else 'prev' end as which,
               c.cart_id, c.customer_id, c.status_norm, c.status_rank, c.local, c.epoch_us,
               c.day, c.n_rows, coalesce(v.value, 0) as value,
               coalesce(v.valid_lines, 0) as valid_lines,
               case when cu.customer_id is null then 0 else 1 end as known_customer
               {seg_columns}{seg_unknown}
        from rg_carts c
        left join (
            select cart_id, sum(value) as value, sum(valid) as valid_lines
            from rg_lines group by cart_id
        ) v on v.cart_id = c.cart_id
        left join rg_customers cu on cu.customer_id = c.customer_id
        where c.local >= :ws and c.local < :we
    """,
        cs=period.start_text,
        **window,
    )
    execute(conn, "create index rg_pc_which on rg_pc (which, status_rank)")

    days = rules.reengagement_days
    window_match = (
        "o.day >= p.day and o.day <= p.day + :n"
        if date_only
        else "o.epoch_us > p.epoch_us and o.epoch_us <= p.epoch_us + :n_us"
    )
    all_segments = [*segments, *(s for s in wanted if s not in segments)]
    seg_max = "".join(f", max(seg_{name}) as seg_{name}" for name in all_segments)
    execute(
        conn,
        f"""
        create temp table rg_abandoners as
        select which, customer_id, count(*) as abandoned_carts, sum(value) as abandoned_value,
               max(hit) as reengaged{seg_max}
        from (
            select p.*, case when exists (
                select 1 from rg_orders o
                where o.customer_id = p.customer_id and {window_match}
            ) then 1 else 0 end as hit
            from rg_pc p
            where p.status_rank = 2 and p.customer_id is not null
        ) abandoned
        group by which, customer_id
    """,
        n=days,
        n_us=days * DAY_US,
    )

    return Prepared(
        date_only=date_only,
        has_order_cart_id=has_order_cart_id,
        has_customers=has_customers,
        has_products=has_products,
        segments=tuple(all_segments),
        missing_segments=tuple(s for s in wanted if s not in segments),
    )


def _segment_value(name: str) -> str:
    """Return the segment label expression over ``cu.seg_src_<name>`` (NULL → Unknown)."""
    source = f"cu.seg_src_{name}"
    if name != "age_band":
        return f"coalesce({source}, 'Unknown')"
    return (
        f"case when {source} is null or {source} < 0 or {source} >= 121 then 'Unknown' "
        f"when {source} < 25 then '<25' when {source} < 35 then '25-34' "
        f"when {source} < 45 then '35-44' when {source} < 55 then '45-54' "
        f"when {source} < 65 then '55-64' else '65+' end"
    )


def _date_only(conn, table: str) -> bool:
    """A column is date-only when every non-null value is a bare date (and one exists)."""
    counts = scalar(conn, f"select count(*) from {table} where is_date = 0")
    dates = scalar(conn, f"select count(*) from {table} where is_date = 1")
    return counts == 0 and dates > 0
