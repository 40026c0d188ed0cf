"""Checks over whole cart-family tables (METRICS.md §8 "table" counts).

They need no temp table of the period, so they run on their own connection, beside the
period's work. Each is a single aggregate pass (the date-only test stops at its first
counter-example).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reportgen.source.connection import Source, open_source
from reportgen.source.query import one, scalar
from reportgen.source.sqlexpr import Expr, parse_timestamp


@dataclass(frozen=True)
class WholeTable:
    """What the whole tables say, whatever the period."""

    null_cart_ids: int
    unparsed_created_at: int
    carts_date_only: bool
    orders_date_only: bool
    orphan_lines: int
    duplicate_customer_ids: int
    duplicate_product_ids: int
    cart_rows: int
    """Rows of the carts table (NULL cart_ids included): the denominator of its counts."""
    future_created_at: int
    """Carts (with a cart_id) created after the build's clock."""
    line_rows: int
    """Rows of the cart_items table."""
    order_rows: int
    unparsed_order_date: int
    """Orders whose order_date is NULL or not a §8 timestamp: they link to nothing."""
    future_order_date: int
    first_created_at: str | None
    """First and last parseable created_at of the carts with a cart_id (local
    ``YYYY-MM-DD HH:MM:SS``): how far the data reaches (``Section.coverage``)."""
    last_created_at: str | None
    last_order_date: str | None
    """Newest parseable order_date of the whole orders table (local, like the above)."""


def whole_table_checks(main: Source) -> WholeTable:
    """Run the checks on a second connection to the same source (inline when the source
    lives in memory and a second connection would see another database)."""
    url = main.config.source.url or ""
    if main.dialect == "sqlite" and (url in ("sqlite://", "sqlite:///:memory:")):
        return _checks(main)
    with open_source(main.config, now=main.now) as source:
        return _checks(source)


def _checks(source: Source) -> WholeTable:
    expr = Expr(source.dialect, source.config.report.timezone)
    carts, orders = source.table("carts"), source.table("orders")
    cart_audit = _audit(
        source, expr, carts.sql, carts.columns["created_at"], carts.columns["cart_id"]
    )
    order_audit = _audit(source, expr, orders.sql, orders.columns["order_date"], None)
    lines = _line_counts(source, expr)
    return WholeTable(
        null_cart_ids=cart_audit["null_ids"],
        unparsed_created_at=cart_audit["unparsed"],
        carts_date_only=cart_audit["date_only"],
        orders_date_only=order_audit["date_only"],
        orphan_lines=lines["orphans"],
        duplicate_customer_ids=_duplicate_ids(source, expr, "customers", "customer_id"),
        duplicate_product_ids=_duplicate_ids(source, expr, "products", "product_id"),
        cart_rows=cart_audit["rows_"],
        future_created_at=cart_audit["future"],
        line_rows=lines["rows_"],
        order_rows=order_audit["rows_"],
        unparsed_order_date=order_audit["unparsed"],
        future_order_date=order_audit["future"],
        first_created_at=cart_audit["first"],
        last_created_at=cart_audit["last"],
        last_order_date=order_audit["last"],
    )


def _audit(
    source: Source, expr: Expr, table: str, column: str, id_column: str | None
) -> dict[str, Any]:
    """Audit a timestamp column over a whole table (rows with a NULL id apart): rows,
    unparsed values, values later than the build's clock, and the date-only verdict.

    A column is date-only when every non-null value is a bare date (and one exists).
    """
    conn = source.connection
    no_id = expr.is_null_id(id_column) if id_column else "0 = 1"
    found = one(
        conn,
        f"""
        select count(*) as rows_,
               coalesce(sum(case when {no_id} then 1 else 0 end), 0) as null_ids,
               coalesce(sum(case when {no_id} then 0 else {expr.unparsed(column)} end), 0)
                   as unparsed,
               coalesce(sum(case when {no_id} then 0 else {source.later_than_now(expr, column)}
                            end), 0) as future,
               count(case when {no_id} then null else {column} end) as values_,
               {_extremes(expr, column, no_id)}
        from {table}
    """,
        **source.clock_binds(),
    )
    found["date_only"] = found["values_"] > 0 and not _not_bare(source, expr, table, column, no_id)
    found["first"], found["last"] = _first_last(found, expr.timezone)
    return found


def _not_bare(source: Source, expr: Expr, table: str, column: str, no_id: str) -> bool:
    """Whether some value is not a bare date: the scan stops at the first one."""
    return bool(
        scalar(
            source.connection,
            f"""
            select count(*) from (
                select 1 from {table}
                where not ({no_id}) and {expr.not_bare_date(column)} = 1 limit 1
            ) counter_example
        """,
        )
    )


def date_only(source: Source, expr: Expr) -> bool:
    """Whether carts.created_at or orders.order_date is date-only, as the checks judge it,
    without their whole-table counts: each test stops at its first example."""
    for name, column, id_column in (
        ("carts", "created_at", "cart_id"),
        ("orders", "order_date", None),
    ):
        info = source.table(name)
        raw = info.columns[column]
        no_id = expr.is_null_id(info.columns[id_column]) if id_column else "0 = 1"
        has_value = scalar(
            source.connection,
            f"""
            select count(*) from (
                select 1 from {info.sql} where not ({no_id}) and {raw} is not null limit 1
            ) some_value
        """,
        )
        if has_value and not _not_bare(source, expr, info.sql, raw, no_id):
            return True
    return False


def _extremes(expr: Expr, raw: str, no_id: str) -> str:
    """Return select items for the first and last parseable timestamps of ``raw``.

    Canonical naive values (nearly all) are compared as normalised text, without a parse;
    only the others are parsed (in UTC a `` UTC``/``Z`` suffix is canonical too).
    """
    t = expr.raw_text(raw)
    tests = [(expr.fast_valid(raw), _normalised(t))]
    if expr.timezone == "UTC" and expr.dialect != "postgresql":
        body, suffixed = expr.utc_suffixed(t)
        tests.append((suffixed, _normalised(body)))
    canonical = "".join(f"when {test} then {value} " for test, value in tests)
    skipped = "".join(f"when {test} then null " for test, _ in tests)
    naive = f"case when {no_id} then null {canonical}end"
    other = f"case when {no_id} then null {skipped}else {expr.slow_local(expr.strip(raw))} end"
    return (
        f"min({naive}) as first_naive, max({naive}) as last_naive, "
        f"min({other}) as first_other, max({other}) as last_other"
    )


def _normalised(text: str) -> str:
    """Return a canonical naive timestamp (10, 16, 19 or 26 characters, ``T`` or space) as
    ``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts like the time it names."""
    body = f"substr({text}, 1, 10) || ' ' || substr({text}, 12)"
    return (
        f"(case length({text}) when 10 then {text} || ' 00:00:00.000000' "
        f"when 16 then {body} || ':00.000000' when 19 then {body} || '.000000' "
        f"else {body} end)"
    )


def _first_last(found: dict[str, Any], timezone: str) -> tuple[str | None, str | None]:
    """Combine the two kinds of extremes into local ``YYYY-MM-DD HH:MM:SS`` text.

    A naive value is local wall time; the parse moves only a spring-forward gap's times,
    forward, so it keeps their order and the extremes can be parsed after the min/max.
    """

    def local(naive: Any) -> str | None:
        parsed = parse_timestamp(naive, timezone) if naive is not None else None
        return parsed[0] if parsed else None

    firsts = [v for v in (local(found["first_naive"]), found["first_other"]) if v]
    lasts = [v for v in (local(found["last_naive"]), found["last_other"]) if v]
    return (
        min(firsts)[:19] if firsts else None,
        max(lasts)[:19] if lasts else None,
    )


def _line_counts(source: Source, expr: Expr) -> dict[str, int]:
    """Count the cart_items rows and the merged lines whose cart_id matches no cart, in one
    pass over the lines grouped by cart_id.

    The pass gives each line cart_id with its row count (an index on cart_items(cart_id)
    gives them without reading the lines): the counts add up to the table's rows, and
    only the orphan cart_ids' lines are then read again.
    """
    c = source.table("carts").columns
    items = source.table("cart_items")
    i = items.columns
    return one(
        source.connection,
        f"""
        with line_carts as materialized (
            select {i["cart_id"]} as line_cart, count(*) as n from {items.sql}
            group by {i["cart_id"]}
        ),
        orphan_carts as (
            select line_cart from line_carts
            where line_cart not in (
                select {c["cart_id"]} from {source.table("carts").sql}
                where {c["cart_id"]} is not null
            )
        )
        select (select coalesce(sum(n), 0) from line_carts) as rows_,
               (select count(*) from (
                    select distinct {expr.id_text(i["cart_id"])}, {expr.id_text(i["product_id"])}
                    from {items.sql}
                    where {i["cart_id"]} is null
                       or {i["cart_id"]} in (select line_cart from orphan_carts)
               ) orphans) as orphans
    """,
    )


def _duplicate_ids(source: Source, expr: Expr, table: str, column: str) -> int:
    """Count ids with more than one row in a whole (optional) table."""
    if not source.usable(table):
        return 0
    info = source.table(table)
    key = expr.id_text(info.columns[column])
    return scalar(
        source.connection,
        f"""
        select count(*) from (
            select {key} from {info.sql} where {key} is not null
            group by {key} having count(*) > 1
        ) duplicated
    """,
    )
