"""Checks over whole cart-family tables (METRICS.md §8 "table" counts).

They need no scratch table of the period, so they run on their own connection, beside the
period's work. Each is a single aggregate pass (the date-only test stops at its first
counter-example).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportgen.config import Config
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
    return checks_on_own_connection(main.config, main.now)


def checks_on_own_connection(config: Config, now: datetime) -> WholeTable:
    """The checks on a connection of their own: what a process of its own runs."""
    with open_source(config, now=now) as source:
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
    no_id = expr.is_null_id(id_column) if id_column else "0 = 1"
    read = (_raw_reads if expr.dialect == "sqlite" else _sortable_reads)(expr, table, column, no_id)
    found = one(
        source.connection,
        f"""
        select count(*) as rows_,
               coalesce(sum(case when {read.no_id} then 1 else 0 end), 0) as null_ids,
               coalesce(sum(case when {read.no_id} then 0 else {read.unparsed} end), 0)
                   as unparsed,
               coalesce(sum(case when {read.no_id} then 0
                                 else {source.later_than_now(expr, read.raw)} end), 0) as future,
               count(case when {read.no_id} then null else {read.raw} end) as values_,
               {read.extremes}
        from {read.rows}
    """,
        **source.clock_binds(),
    )
    found["date_only"] = found["values_"] > 0 and not _not_bare(source, expr, table, column, no_id)
    found["first"], found["last"] = _first_last(source, expr, table, column, no_id, found)
    return found


@dataclass(frozen=True)
class _Reads:
    """What the audit's one aggregate reads: from ``rows``, whether a row has no id
    (``no_id``), its raw value (``raw``), whether that is unparsed (``unparsed``, 1 or 0),
    and the select items of its first and last times (``extremes``, see ``_first_last``)."""

    rows: str
    no_id: str
    raw: str
    unparsed: str
    extremes: str


def _raw_reads(expr: Expr, table: str, column: str, no_id: str) -> _Reads:
    """Read the table as it is (SQLite): the raw min and max stand for nearly every value,
    and its unparsed test is cheap on raw text."""
    return _Reads(table, no_id, column, expr.unparsed(column), _extremes(expr, column, no_id))


def _sortable_reads(expr: Expr, table: str, column: str, no_id: str) -> _Reads:
    """Read one sortable text a row (other engines), used by the unparsed count and by the
    first and last: each value is tested and parsed once, not once for each of the three."""
    rows = f"""(
        select {no_id} as no_id, {column} as raw, {_sortable(expr, column, no_id)} as sortable
        from {table} {expr.fence()}
    ) audited"""
    return _Reads(
        rows,
        "no_id",
        "raw",
        "case when sortable is null then 1 else 0 end",
        "min(null) as first_plain, max(null) as last_plain, "
        "min(sortable) as first_other, max(sortable) as last_other",
    )


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


CANONICAL_SECONDS = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _seconds_shape(t: str) -> str:
    """Return a cheap predicate (SQLite): ``t`` is 19 characters with a space at 11 and a
    colon at 17. A value of that shape that parses at all is a canonical
    ``YYYY-MM-DD HH:MM:SS``, and those sort like their times."""
    return f"(length({t}) = 19 and substr({t}, 11, 1) = ' ' and substr({t}, 17, 1) = ':')"


def _extremes(expr: Expr, raw: str, no_id: str) -> str:
    """Return select items for the first and last timestamps of ``raw``, in two kinds
    (SQLite).

    The raw text's min and max are taken as they are (nearly every value is a canonical
    ``YYYY-MM-DD HH:MM:SS``; ``_first_last`` checks the two). Values of any other shape get
    a text that sorts like their time (``_native_cases``, else parsed to local text).
    """
    t = expr.raw_text(raw)
    plain = f"case when {no_id} then null else {t} end"
    other = (
        f"case when {no_id} or {_seconds_shape(t)} then null {_native_cases(expr, raw)}"
        f"else {expr.slow_local(expr.strip(raw))} end"
    )
    return (
        f"min({plain}) as first_plain, max({plain}) as last_plain, "
        f"min({other}) as first_other, max({other}) as last_other"
    )


def _sortable(expr: Expr, raw: str, no_id: str) -> str:
    """Return a text of ``raw`` that sorts like its time, NULL where it is not a §8
    timestamp or the row has no id (every engine but SQLite, which reads raw text)."""
    stripped = expr.strip(raw)
    return (
        f"case when {no_id} then null {_native_cases(expr, raw)}"
        f"when {stripped} is null then null else {expr.slow_local(stripped)} end"
    )


def _native_cases(expr: Expr, raw: str) -> str:
    """Return the ``when`` clauses that give a value read natively its sortable text: a
    canonical naive value with its ``T`` made a space, in UTC also the text before a
    `` UTC``/``Z`` suffix."""
    t = expr.raw_text(raw)
    cases = f"when {expr.fast_valid(raw)} then replace({t}, 'T', ' ') "
    if expr.timezone == "UTC" and expr.dialect != "postgresql":
        body, suffixed = expr.utc_suffixed(t)
        cases += f"when {suffixed} then replace({body}, 'T', ' ') "
    return cases


def _first_last(
    source: Source, expr: Expr, table: str, column: str, no_id: str, found: dict[str, Any]
) -> tuple[str | None, str | None]:
    """Return the first and last timestamps as local ``YYYY-MM-DD HH:MM:SS`` text.

    A raw extreme is the extreme of the canonical seconds values when it is one itself;
    otherwise (a padded or broken value sorts first or last) they are looked for again.
    Naive and parsed texts are both local wall time: parsing either as naive local time
    gives its canonical local text (a naive time in a spring-forward gap moves forward).
    """

    def local(text: Any) -> str | None:
        parsed = parse_timestamp(str(text), expr.timezone) if text is not None else None
        return parsed[0] if parsed else None

    bounds = []
    for plain, other, pick in (
        (found["first_plain"], found["first_other"], min),
        (found["last_plain"], found["last_other"], max),
    ):
        canonical = isinstance(plain, str) and CANONICAL_SECONDS.fullmatch(plain)
        if plain is not None and not (canonical and local(plain)):
            plain = _canonical_extreme(source, expr, table, column, no_id, pick.__name__)
        candidates = [v for v in (local(plain), local(other)) if v is not None]
        bounds.append(pick(candidates)[:19] if candidates else None)
    return bounds[0], bounds[1]


def _canonical_extreme(
    source: Source, expr: Expr, table: str, column: str, no_id: str, pick: str
) -> str | None:
    """Return the min or max of the canonical seconds values that are real times."""
    t = expr.raw_text(column)
    return scalar(
        source.connection,
        f"""
        select {pick}({t}) from {table}
        where not ({no_id}) and {_seconds_shape(t)} and {expr.fast_valid(column)}
    """,
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
        with line_carts as {expr.materialized()}(
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
