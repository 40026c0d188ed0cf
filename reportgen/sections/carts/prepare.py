"""Normalised, indexed scratch tables of the cart family (METRICS.md §3 and §8).

The algorithm, once per build:

1. ``rg_carts_all``: the carts rows that may fall in the current or previous period (a
   cheap text pre-filter with a day of margin) and every row of a duplicated cart_id,
   with status class and parsed created_at (``local`` text, ``epoch_us``, ``day``).
2. ``rg_carts``: one row per cart_id — the most advanced status, then the earliest
   created_at, then the smallest customer_id — with its row count (duplicates collapse
   over the whole table, as §8 asks, because all their rows are in step 1).
3. ``rg_orders`` (parsed from the day before the previous period on), ``rg_order_carts``
   (which carts have any order), ``rg_newest_order``; ``rg_customers`` and
   ``rg_products`` collapsed for the ids the carts and lines mention.
4. ``rg_lines``: cart lines merged on (cart_id, product_id), only for carts created in
   the current or previous period (the only ones any figure needs), then validated (in a
   history, the abandoned carts' lines summed per cart: ``_lines``).
5. ``rg_pc``: the carts of both periods with value, segment values and which period.
6. ``rg_abandoners``: per period and customer, abandoned carts, value and whether any
   abandoned cart was followed by an order within the re-engagement window.

They are scratch tables (``source/scratch.py``): temp tables in the connection's temp
schema on SQLite, DuckDB and PostgreSQL, so a read-only source works, and cached temporary
views on Spark. Each is built once by one select and never changed afterwards (Spark
deletes from and inserts into no view). The whole-table counts are in ``whole_table.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.sections.carts.rules import segments_setting
from reportgen.source.connection import Source
from reportgen.source.query import scalar
from reportgen.source.scratch import create_scratch, drop_scratch, index_scratch
from reportgen.source.sqlexpr import Expr

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Prepared:
    """Facts about the normalised tables that the queries need."""

    date_only: bool
    """carts.created_at or orders.order_date is date-only: compare by calendar day."""
    has_order_cart_id: bool
    has_order_total: bool
    """orders has an order_total column: recovered revenue can be valued."""
    has_customers: bool
    has_products: bool
    """rg_customers / rg_products hold the source's rows (never in a history, which reads
    neither)."""
    segments: tuple[str, ...]
    """Segment columns with a ``seg_<name>`` column in rg_pc."""
    missing_segments: tuple[str, ...]


Window = Sequence[tuple[str, Period]]
"""Contiguous periods, oldest first, each with the ``which`` label its carts get in rg_pc
(``prev`` and ``cur`` for a report; ``0``, ``1``, … for a history)."""


def report_window(period: Period) -> Window:
    """Return the window of a report: the period before ``period``, then ``period``."""
    return (("prev", period.previous()), ("cur", period))


def prepare(
    source: Source,
    expr: Expr,
    config: Config,
    window: Window,
    date_only: Callable[[], bool],
    *,
    headlines: bool = False,
) -> Prepared:
    """Build the scratch tables for the periods of ``window``.

    ``date_only`` returns whether either timestamp column is date-only (in a report, from
    the whole-table checks, which run meanwhile on a second connection); it is awaited
    only where re-engagement needs it. With ``headlines`` (a history) the tables hold only
    what the headline KPIs read: no segment labels, ``rg_products`` and ``rg_customers``
    left empty, and the lines of abandoned carts alone (the only value a headline sums).
    """
    conn = source.connection
    # Dependents first: a cached Spark view reads the views it was built from.
    for table in reversed(TEMP_TABLES):
        drop_scratch(conn, table)
    first, last = window[0][1], window[-1][1]
    bounds = {
        "lo": (first.start - timedelta(days=1)).isoformat(),
        "hi": (last.end + timedelta(days=1)).isoformat(),
        "open_end": "9999-12-31",
    }
    _carts(source, expr, config, bounds, by_time=not headlines)
    _orders(source, expr, bounds)
    has_order_cart_id = "cart_id" in source.table("orders").columns
    _lines(source, expr, config, first.start_text, last.end_text, abandoned_only=headlines)
    has_products = _products(source, expr, built=not headlines)
    wanted = [] if headlines else segments_setting(config)
    has_customers, present = _customers(source, expr, config, wanted, built=not headlines)
    _period_carts(conn, expr, window, present, wanted)
    found_date_only = date_only()
    if found_date_only:  # only then does a re-engagement test compare days (_abandoners)
        index_scratch(conn, "rg_orders_customer_day", "rg_orders", "customer_id, day")
    _abandoners(conn, config.rules.reengagement_days, found_date_only, wanted)
    return Prepared(
        date_only=found_date_only,
        has_order_cart_id=has_order_cart_id,
        has_order_total="order_total" in source.table("orders").columns,
        has_customers=has_customers,
        has_products=has_products,
        segments=tuple(wanted),
        missing_segments=tuple(s for s in wanted if s not in present),
    )


TEMP_TABLES = (
    "rg_dup_carts",
    "rg_carts_all",
    "rg_carts",
    "rg_orders_read",
    "rg_orders",
    "rg_order_carts",
    "rg_newest_order",
    "rg_lines",
    "rg_products",
    "rg_customers",
    "rg_pc",
    "rg_abandoners",
)
"""The scratch tables in the order they are built: each reads only tables before it."""


def _carts(
    source: Source, expr: Expr, config: Config, bounds: dict[str, str], by_time: bool
) -> None:
    """Parse the carts that can matter and collapse duplicate cart_ids.

    Only rows that may fall in the two periods are parsed (a cheap text pre-filter with a
    day of margin), plus every row of a duplicated cart_id (its kept row may lie
    elsewhere); the rest of the table is never touched beyond that scan.

    ``by_time`` indexes rg_carts on ``local``, by which a report's queries pick one
    period's carts. A history selects nearly every row of its window, which rg_carts
    already is, so it skips the index (0.6 s of the 1M-cart SQLite history).
    """
    conn, rules = source.connection, config.rules
    carts = source.table("carts")
    c = carts.columns
    cart_id = expr.id_text(c["cart_id"])
    # Grouped on the raw column, so that an index on carts(cart_id) can serve it.
    create_scratch(
        conn,
        "rg_dup_carts",
        f"""
        select {c["cart_id"]} as cart_raw from {carts.sql}
        where {c["cart_id"]} is not null group by {c["cart_id"]} having count(*) > 1
    """,
    )
    parsed = expr.parsed_rows(
        f"""{cart_id} as cart_id, {c["cart_id"]} as cart_raw,
            {expr.id_text(c["customer_id"])} as customer_id,
            {expr.lower_strip(c["status"])} as status_norm""",
        c["created_at"],
        f"""from {carts.sql}
        where {cart_id} is not null
          and ({expr.may_fall_between(c["created_at"], "lo", "hi")}
               or {c["cart_id"]} in (select cart_raw from rg_dup_carts))""",
    )
    create_scratch(
        conn,
        "rg_carts_all",
        f"""
        select cart_id, cart_raw, customer_id, status_norm,
               case when status_norm in :conv then 1 when status_norm in :aband then 2
                    when status_norm in :open then 3 else 4 end as status_rank,
               local, epoch_us, day
        from ({parsed}) parsed
    """,
        lo=bounds["lo"],
        hi=bounds["hi"],
        conv=rules.converted_statuses or ["\x00"],
        aband=rules.abandoned_statuses or ["\x00"],
        open=rules.open_statuses or ["\x00"],
    )
    # The kept row: most advanced status, then earliest created_at, then smallest customer.
    # Only duplicated ids need ranking; the rest are copied. (Ids that are one text but
    # two raw values, like 5 and '5', are not seen by the raw grouping: rank them all.)
    columns = "cart_id, cart_raw, customer_id, status_norm, status_rank, local, epoch_us, day"
    clash = scalar(conn, "select count(*) - count(distinct cart_id) from rg_carts_all")
    raw_dups = scalar(
        conn,
        "select count(*) from rg_carts_all where cart_raw in (select cart_raw from rg_dup_carts)",
    )
    ranked_only = "where cart_raw in (select cart_raw from rg_dup_carts)"
    copied = f"""
        select {columns}, 1 as n_rows from rg_carts_all
        where cart_raw not in (select cart_raw from rg_dup_carts)
        union all
    """
    if clash != raw_dups - scalar(conn, "select count(*) from rg_dup_carts"):
        ranked_only, copied = "", ""
    create_scratch(
        conn,
        "rg_carts",
        f"""
        {copied}
        select {columns}, n_rows
        from (
            select a.*,
                   row_number() over (
                       partition by cart_id
                       order by status_rank, case when epoch_us is null then 1 else 0 end,
                                epoch_us, case when customer_id is null then 1 else 0 end,
                                customer_id
                   ) as pick,
                   count(*) over (partition by cart_id) as n_rows
            from rg_carts_all a {ranked_only}
        ) ranked
        where pick = 1
    """,
    )
    if by_time:
        index_scratch(conn, "rg_carts_local", "rg_carts", "local")
    index_scratch(conn, "rg_carts_id", "rg_carts", "cart_id")


def _orders(source: Source, expr: Expr, bounds: dict[str, str]) -> None:
    """Parse, in one pass over orders, those from the day before the previous period on
    and (with a cart_id column) those naming a cart of ``rg_carts``.

    Earlier orders link nothing but a cart_id that all precedes its cart, which
    ``rg_order_carts`` answers; ``rg_orders`` keeps the recent ones.
    """
    conn = source.connection
    orders = source.table("orders")
    o = orders.columns
    has_cart_id = "cart_id" in o
    cart_id = expr.id_text(o["cart_id"]) if has_cart_id else ""
    recent = expr.may_fall_between(o["order_date"], "lo", "open_end")
    cart_column = f"{cart_id} as cart_id," if has_cart_id else ""
    total = (
        source.number(expr, "orders", "order_total") if "order_total" in o else expr.null_number()
    )
    linked = f" or {cart_id} in (select cart_id from rg_carts)" if has_cart_id else ""
    parsed = expr.parsed_rows(
        f"""{expr.id_text(o["order_id"])} as order_id,
            {expr.id_text(o["customer_id"])} as customer_id, {cart_column}
            {total} as order_total, case when {recent} then 1 else 0 end as recent""",
        o["order_date"],
        f"from {orders.sql} where {recent}{linked}",
    )
    columns = f"order_id, customer_id, {'cart_id, ' if has_cart_id else ''}order_total"
    # Only orders that can be placed in time take part in a link (rule
    # unparsed-orders-ignored): an order with an unreadable date says nothing of its cart.
    create_scratch(
        conn,
        "rg_orders_read",
        f"""
        select {columns}, recent, local, epoch_us, day
        from ({parsed}) parsed where local is not null
    """,
        lo=bounds["lo"],
        open_end=bounds["open_end"],
    )
    create_scratch(
        conn,
        "rg_orders",
        f"select {columns}, local, epoch_us, day from rg_orders_read where recent = 1",
    )
    index_scratch(conn, "rg_orders_customer", "rg_orders", "customer_id, epoch_us")
    if has_cart_id:
        index_scratch(conn, "rg_orders_cart", "rg_orders", "cart_id")
        create_scratch(
            conn,
            "rg_order_carts",
            """
            select distinct cart_id from rg_orders_read
            where cart_id in (select cart_id from rg_carts)
        """,
        )
        index_scratch(conn, "rg_order_carts_id", "rg_order_carts", "cart_id")
    _newest_order(source, expr, orders.sql, o["order_date"])


def _newest_order(source: Source, expr: Expr, table: str, column: str) -> None:
    """Keep the newest order (instant and local day) in ``rg_newest_order``.

    It is usually among the parsed recent orders; only when none is recent is the whole
    column parsed (every window is then still open). The select is chosen first and the
    table built once: no scratch table is changed after it is made.
    """
    conn = source.connection
    newest = "select max(epoch_us) as epoch_us, max(day) as day from rg_orders"
    if scalar(conn, "select count(*) from rg_orders where epoch_us is not null") == 0:
        parsed = expr.parsed_rows("", column, f"from {table}")
        newest = f"select max(epoch_us) as epoch_us, max(day) as day from ({parsed}) parsed"
    create_scratch(conn, "rg_newest_order", newest)


def _lines(
    source: Source, expr: Expr, config: Config, start: str, end: str, abandoned_only: bool
) -> None:
    """Merge the lines of the window's carts on (cart_id, product_id), then validate.

    With ``abandoned_only`` (a history) only the abandoned carts' lines are read, and
    rg_lines holds one row per cart instead: ``cart_id``, ``valid`` (its valid lines) and
    ``value``, which rg_pc sums per cart as it would the lines (the one value a headline
    reads; writing and indexing every line was a third of the 1M-cart SQLite history)."""
    items = source.table("cart_items")
    i = items.columns
    merge = "sum" if config.rules.duplicate_lines == "sum" else "max"
    abandoned = " and status_rank = 2" if abandoned_only else ""
    valid = "case when qty > 0 and price >= 0 then 1 else 0 end"
    value = "case when qty > 0 and price >= 0 then qty * price else 0 end"
    validated = f"cart_id, product_id, qty, price, n_rows, {valid} as valid, {value} as value"
    if abandoned_only:
        validated = f"cart_id, sum({valid}) as valid, sum({value}) as value"
    create_scratch(
        source.connection,
        "rg_lines",
        f"""
        select {validated}
        from (
            select {expr.id_text(i["cart_id"])} as cart_id,
                   {expr.id_text(i["product_id"])} as product_id,
                   {merge}({source.number(expr, "cart_items", "quantity")}) as qty,
                   max({source.number(expr, "cart_items", "unit_price")}) as price,
                   count(*) as n_rows
            from {items.sql}
            where {i["cart_id"]} in (
                select cart_raw from rg_carts where local >= :ws and local < :we{abandoned}
            )
            group by {expr.id_text(i["cart_id"])}, {expr.id_text(i["product_id"])}
        ) merged {"group by cart_id" if abandoned_only else ""}
    """,
        ws=start,
        we=end,
    )
    index_scratch(source.connection, "rg_lines_cart", "rg_lines", "cart_id")


def _products(source: Source, expr: Expr, built: bool) -> bool:
    """Collapse the products the lines mention: one row per id, max non-null attributes
    (none unless ``built``); return whether rg_products holds them."""
    conn = source.connection
    if not built or not source.usable("products"):
        text = expr.null_text()
        create_scratch(
            conn,
            "rg_products",
            f"select {text} as product_id, 0 as n_rows, {text} as name, "
            f"{text} as category where 1 = 0",
        )
        return False
    products = source.table("products")
    pr = products.columns
    product_id = expr.id_text(pr["product_id"])
    name = f"max({expr.strip(pr['name'])})" if "name" in pr else expr.null_text()
    category = f"max({expr.strip(pr['category'])})" if "category" in pr else expr.null_text()
    create_scratch(
        conn,
        "rg_products",
        f"""
        select {product_id} as product_id, count(*) as n_rows,
               {name} as name, {category} as category
        from {products.sql}
        where {product_id} in (select product_id from rg_lines)
        group by {product_id}
    """,
    )
    index_scratch(conn, "rg_products_id", "rg_products", "product_id")
    return True


def _customers(
    source: Source, expr: Expr, config: Config, wanted: Sequence[str], built: bool
) -> tuple[bool, list[str]]:
    """Collapse the customers of the window's carts (none unless ``built``); return
    whether rg_customers holds them, and the segments available."""
    conn = source.connection
    if not built or not source.usable("customers"):
        create_scratch(
            conn,
            "rg_customers",
            f"select {expr.null_text()} as customer_id, 0 as n_rows where 1 = 0",
        )
        return False, []
    customers = source.table("customers")
    cu = customers.columns
    picks, segments = [], []
    for name in wanted:
        column = "age" if name == "age_band" else name
        if column in cu:
            value = (
                source.number(expr, "customers", column)
                if column == "age"
                else expr.strip(cu[column])
            )
            picks.append(f", max({value}) as seg_src_{name}")
            segments.append(name)
    customer_id = expr.id_text(cu["customer_id"])
    create_scratch(
        conn,
        "rg_customers",
        f"""
        select {customer_id} as customer_id, count(*) as n_rows{"".join(picks)}
        from {customers.sql}
        where {customer_id} in (select customer_id from rg_carts)
        group by {customer_id}
    """,
    )
    index_scratch(conn, "rg_customers_id", "rg_customers", "customer_id")
    return True, segments


def _period_carts(conn, expr: Expr, window: Window, segments: list[str], wanted: list[str]) -> None:
    """Carts of the window's periods with value, valid lines, customer flag, segment
    labels and ``which`` period they belong to."""
    labels = "".join(
        f", {_segment_value(name) if name in segments else expr.null_text()} as seg_{name}"
        for name in wanted
    )
    binds = {f"s{index}": period.start_text for index, (_, period) in enumerate(window)}
    which = "".join(
        f"when c.local >= :s{index} then {expr.literal(label)} "
        for index, (label, _) in reversed(list(enumerate(window)))
    )
    create_scratch(
        conn,
        "rg_pc",
        f"""
        select case {which}end as which,
               c.cart_id, c.customer_id, c.status_norm, c.status_rank, c.local, c.epoch_us,
               c.day, c.n_rows, coalesce(v.value, 0) as value,
               coalesce(v.valid_lines, 0) as valid_lines,
               case when cu.customer_id is null then 0 else 1 end as known_customer
               {labels}
        from rg_carts c
        left join (
            select cart_id, sum(value) as value, sum(valid) as valid_lines
            from rg_lines group by cart_id
        ) v on v.cart_id = c.cart_id
        left join rg_customers cu on cu.customer_id = c.customer_id
        where c.local >= :s0 and c.local < :we
    """,
        we=window[-1][1].end_text,
        **binds,
    )
    index_scratch(conn, "rg_pc_which", "rg_pc", "which, status_rank")


def _abandoners(conn, days: int, date_only: bool, segments: list[str]) -> None:
    """Per period and customer: abandoned carts, value, and whether an order followed one
    of them within the re-engagement window (orders after the period end count)."""
    window = (
        "o.day >= p.day and o.day <= p.day + :n"
        if date_only
        else "o.epoch_us > p.epoch_us and o.epoch_us <= p.epoch_us + :n_us"
    )
    labels = "".join(f", max(seg_{name}) as seg_{name}" for name in segments)
    create_scratch(
        conn,
        "rg_abandoners",
        f"""
        select which, customer_id, count(*) as abandoned_carts, sum(value) as abandoned_value,
               max(hit) as reengaged{labels}
        from (
            select p.*, case when exists (
                select 1 from rg_orders o where o.customer_id = p.customer_id and {window}
            ) then 1 else 0 end as hit
            from rg_pc p
            where p.status_rank = 2 and p.customer_id is not null
        ) abandoned
        group by which, customer_id
    """,
        n=days,
        n_us=days * DAY_US,
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
