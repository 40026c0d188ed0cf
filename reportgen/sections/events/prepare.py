"""One deduplicated, normalised scratch table of the events of both periods (METRICS.md §4,
§8): a temp table, a cached view on Spark (``reportgen.source.scratch``).

The source is read once. Every row's event_time is parsed (so the whole-table count of
unparsed values comes from the same scan); rows of the current and previous period are
kept with their coerced values, exact duplicates are collapsed, and each kept row is
classified by the cleaning step that removes it (``stage``). Every figure of the section is
then a grouped query over ``rg_ev``, which holds nothing the figures do not need.

Exact duplicates are rows identical in every canonical column after type coercion (the
instant, ids as text, price and quantity as numbers, event type, brand and category as
stored). SQLite, PostgreSQL and Spark group on those values, in the one statement that
writes ``rg_ev`` (nothing is inserted, updated or deleted in it after). DuckDB, which the
10M-row logs go through, groups on a 64-bit hash of them and keeps one row per hash (in a
temp table it then updates); it also counts users and sessions through hashes of text ids
(named rule ``event-keys-hashed-on-duckdb``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.source.connection import Source
from reportgen.source.query import execute, one, scalar
from reportgen.source.scratch import create_scratch, drop_scratch
from reportgen.source.sqlexpr import (
    Expr,
    duckdb_local_instant,
    duckdb_slow_timestamps,
    duckdb_timestamps,
    sql_literal,
)

KIND_CODES = {"view": 1, "cart": 2, "remove": 3, "purchase": 4}
CLEAN, BAD_PRICE, UNMAPPED = 0, 1, 2
"""``rg_ev.stage``: kept, removed by the valid_price step, removed by the mapped_type step."""
CURRENT, PREVIOUS = 1, 0
"""``rg_ev.which``."""
_INTEGER_TYPES = ("bigint", "integer", "smallint", "tinyint", "hugeint", "ubigint", "uinteger")
_NUMBER_TYPES = (*_INTEGER_TYPES, "double", "float", "real", "decimal")


@dataclass(frozen=True)
class PreparedEvents:
    """What the queries need to know about ``rg_ev``."""

    has_brand: bool
    has_category: bool
    unparsed_event_time: int
    """Rows of the whole table whose event_time is NULL or not a §8 timestamp."""
    table_rows: int
    """Rows of the whole events table: the denominator of the whole-table counts."""
    future_event_time: int
    """Rows of the whole table whose event_time is later than the build's clock."""
    first_event_time: str | None = None
    """The earliest parseable event_time of the whole table, local ``YYYY-MM-DD HH:MM:SS``."""
    last_event_time: str | None = None
    """The latest one: with ``first_event_time``, how far the log reaches (coverage)."""


def prepare_events(source: Source, expr: Expr, config: Config, period: Period) -> PreparedEvents:
    """Build ``rg_ev`` for ``period`` (``which`` = CURRENT) and the one before it
    (PREVIOUS), and count what the whole table holds."""
    columns = source.table("events").columns
    whole = prepare_window(source, expr, config, [period.previous(), period], whole_table=True)
    return PreparedEvents(
        has_brand="brand" in columns,
        has_category="category_code" in columns,
        unparsed_event_time=int(whole["unparsed"] or 0),
        table_rows=int(whole["rows_"] or 0),
        future_event_time=int(whole["future"] or 0),
        first_event_time=_seconds(whole.get("first")),
        last_event_time=_seconds(whole.get("last")),
    )


def prepare_window(
    source: Source,
    expr: Expr,
    config: Config,
    periods: Sequence[Period],
    whole_table: bool,
    purchases_only: bool = False,
) -> dict[str, Any]:
    """Build ``rg_ev`` for contiguous ``periods`` (oldest first): ``which`` is a row's index
    among them (never NULL: rows outside the window, or with an unreadable time, are not
    kept). With ``whole_table``, also count the whole table (rows, unreadable and future
    times, first and last) and return the counts.

    ``purchases_only`` is for figures that count distinct users or sum purchases
    (``DUPLICATE_BLIND``: the same values as with every copy collapsed). It collapses exact
    duplicates among purchase rows only, and also builds ``rg_ev_users`` (``user_flags``)
    from every row of the window. SQLite, PostgreSQL and Spark then keep only the purchase
    rows in ``rg_ev``: the others are read once for their flags and never written (the
    demo's 12-month history on SQLite: 8.2 s to 5.4 s). DuckDB keeps them all, each with
    ``n`` = 1.

    The source is read once for the rows, whatever the number of periods: a cover's
    history is one pass, not one ``compute`` per two periods.
    """
    conn = source.connection
    # Those built from rg_ev first (a Spark cached view keeps the plan of what it reads).
    for table in ("rg_ev_users", "rg_ev_dups", "rg_ev"):
        drop_scratch(conn, table)
    bounds = {f"b{i}": p.start_text for i, p in enumerate(periods)}
    bounds[f"b{len(periods)}"] = periods[-1].end_text
    if source.dialect == "duckdb":
        slow = _duckdb_rows(source, expr, config, bounds, purchases_only)
        # DuckDB keeps the rows of an unreadable time (which NULL) to the end of its slow
        # parse: they are the whole table's unparsed ones (DuckDB's own temp table).
        unparsed = scalar(conn, "select coalesce(sum(n), 0) from rg_ev where which is null")
        execute(conn, "delete from rg_ev where which is null")
        if purchases_only:
            create_scratch(conn, "rg_ev_users", user_flags())
        if not whole_table:
            return {}
        whole = _duckdb_table_counts(source, expr, periods[0].start, periods[-1].end)
        whole["unparsed"] = unparsed
        whole["first"] = _earliest(whole.get("first"), slow[0])
        whole["last"] = _latest(whole.get("last"), slow[1])
        return whole
    return _grouped_rows(source, expr, config, periods, bounds, whole_table, purchases_only)


def _which_of(local: str, bounds: dict[str, str], outside: str | int, cast: str = "{}") -> str:
    """Return a row's period index from its local time: NULL for NULL, ``outside`` before
    the first bound or from the last on. ``cast`` wraps each bind (DuckDB: a timestamp)."""
    last = len(bounds) - 1
    inside = " ".join(
        f"when {local} >= {cast.format(f':b{i}')} then {i}" for i in range(last - 1, 0, -1)
    )
    return (
        f"case when {local} is null then null when {local} < {cast.format(':b0')} "
        f"or {local} >= {cast.format(f':b{last}')} then {outside} {inside} else 0 end"
    )


def _seconds(value: object) -> str | None:
    """Return a timestamp (text or datetime) as local ``YYYY-MM-DD HH:MM:SS`` text."""
    return None if value is None else str(value).replace("T", " ")[:19]


def _earliest(*found: object) -> object:
    known = [_seconds(v) for v in found if v is not None]
    return min(known) if known else None


def _latest(*found: object) -> object:
    known = [_seconds(v) for v in found if v is not None]
    return max(known) if known else None


_IDS = ("user_id", "session_id", "product_id")


def _raw_columns(source: Source, expr: Expr, native: bool) -> tuple[dict[str, str], set[str]]:
    """Return the coerced canonical columns that decide what an exact duplicate is, and
    which ids among them are text.

    ``native`` (DuckDB): keep typed ids and numbers as they are — one column has one type,
    so equal typed values are equal texts — and cast only text.
    """
    columns = source.table("events").columns
    out: dict[str, str] = {}
    text_ids: set[str] = set()
    for name in ("event_type", "brand", "category_code"):
        out[name] = expr.text(columns[name]) if name in columns else expr.null_text()
    for name in _IDS:
        kind = source.column_type("events", name) if native else ""
        if kind in _INTEGER_TYPES:
            out[name] = columns[name]
        else:
            out[name] = expr.text(columns[name])
            text_ids.add(name)
    for name in ("price", "quantity"):
        if name not in columns:
            out[name] = expr.null_number()
            continue
        kind = source.column_type("events", name) if native else ""
        numeric = kind in _NUMBER_TYPES or kind.startswith("decimal")
        out[name] = f"cast({columns[name]} as double)" if numeric else expr.number(columns[name])
    return out, text_ids


def _coerced(
    expr: Expr, config: Config, raw: dict[str, str], text_ids: set[str], native: bool
) -> str:
    """Return the select list of the per-row values (the costly expressions, once each);
    ``_classified`` derives ``rg_ev``'s columns from them one level up."""
    kind = _kind(expr, config, raw["event_type"])

    def key(column: str, hashed: bool) -> str:
        """An id: empty text is NULL; on DuckDB a text user or session is its hash."""
        value = raw[column]
        if column not in text_ids:
            return value
        if native and hashed:
            return f"case when {value} is null or {value} = '' then null else hash({value}) end"
        return f"nullif({value}, '')"

    return f"""
        {kind} as kind,
        {raw["event_type"]} as type_raw,
        {key("user_id", True)} as ukey,
        {key("session_id", True)} as skey,
        {key("product_id", False)} as pid,
        {raw["price"]} as price,
        {raw["quantity"]} as quantity,
        {raw["brand"]} as brand_t,
        {raw["category_code"]} as cat_t
    """


def _kind(expr: Expr, config: Config, event_type: str) -> str:
    """Return a row's KIND_CODES code from its event_type text (NULL: unmapped)."""
    types = config.rules.event_types
    exact = " ".join(
        f"when {sql_literal(name)} then {KIND_CODES[kind]}"
        for kind, names in types.items()
        for name in names
    )
    listed = " ".join(
        f"when {expr.lower_strip(event_type)} in ({', '.join(map(sql_literal, names))}) "
        f"then {KIND_CODES[kind]}"
        for kind, names in types.items()
        if names
    )
    # Types spelled as configured skip the strip and lower; the rest are normalised.
    if exact:
        return f"case {event_type} {exact} else case {listed} end end"
    return f"case {listed} end" if listed else "null"


def _classified(expr: Expr) -> str:
    """Return ``rg_ev``'s per-row columns from the ``_coerced`` ones.

    Labels are kept (and stripped) only where a table names them (cart and purchase
    events): most rows are views, and text is the costly part of the table. Every row
    needs only whether its brand and category are blank, which ``is_blank`` mostly
    answers without the strip.
    """
    cart, purchase = KIND_CODES["cart"], KIND_CODES["purchase"]
    return f"""
        kind,
        case when price is null or price <= 0 or (quantity is not null and quantity <= 0)
             then {BAD_PRICE} when kind is null then {UNMAPPED} else {CLEAN} end as stage,
        case when kind is null then {expr.lower_strip("type_raw")} end as type_norm,
        ukey, skey, pid, price,
        price * coalesce(quantity, 1) as amount,
        case when {expr.is_blank("brand_t")} then 1 else 0 end as brand_missing,
        case when {expr.is_blank("cat_t")} then 1 else 0 end as cat_missing,
        case when kind in ({cart}, {purchase}) then {expr.strip("brand_t")} end as brand,
        case when kind = {purchase} then {expr.strip("cat_t")} end as cat
    """


def _grouped_rows(
    source: Source,
    expr: Expr,
    config: Config,
    periods: Sequence[Period],
    bounds: dict[str, str],
    whole_table: bool,
    purchases_only: bool,
) -> dict[str, Any]:
    """SQLite / PostgreSQL / Spark: parse, window and group identical rows (their count
    is ``n``) into the scratch table ``rg_ev``, written once and never changed; return the
    whole table's counts (with ``whole_table``)."""
    events = source.table("events")
    raw, text_ids = _raw_columns(source, expr, native=False)
    inner = ", ".join(f"{value} as {name}" for name, value in raw.items())
    # Only rows that may fall in the two periods are parsed and grouped (a cheap text test
    # with a day of margin); the whole-table count of unparsed values is its own pass (on a
    # second connection beside this one it ran no faster).
    column = events.columns["event_time"]

    def parsed(only: str, instants: bool) -> str:
        return expr.parsed_rows(
            inner,
            column,
            f"from {events.sql} where {expr.may_fall_between(column, 'lo', 'hi')} and {only}",
            instants=instants,
        )

    grouped = ", ".join(raw)
    coerced = {name: name for name in raw}
    window = f"local >= :b0 and local < :b{len(periods)}"

    def kept(only: str = "1 = 1", collapse: bool = True) -> str:
        """The window's rows that pass ``only``, exact copies grouped (their count is
        ``n``) or, without ``collapse``, kept as they come."""
        # Copies are rows of one instant: in UTC a row's local time is its instant (and
        # computing epoch_us for every row cost SQLite a fifth of the pass); in another
        # zone the two instants of a clock turned back share a local time.
        by_instant = collapse and expr.timezone != "UTC"
        time_key = "local, epoch_us" if by_instant else "local"
        copies, group = ("count(*)", f"group by {time_key}, {grouped}") if collapse else ("1", "")
        return f"""
        select {_which_of("local", bounds, "null")} as which,
               n,
               {expr.day_number("local")} as day,
               cast(substr(local, 12, 2) as integer) as hour,
               {_classified(expr)}
        from (
            select local, n, {_coerced(expr, config, coerced, text_ids, native=False)}
            from (
                select {time_key}, {grouped}, {copies} as n
                from ({parsed(only, by_instant)}) parsed where {window} {group}
            ) deduplicated
        ) coerced
        """

    binds = {
        **bounds,
        "lo": (periods[0].start - timedelta(days=1)).isoformat(),
        "hi": (periods[-1].end + timedelta(days=1)).isoformat(),
    }
    if not purchases_only:
        create_scratch(source.connection, "rg_ev", kept(), **binds)
    else:
        # Split on the raw event_type, before the parse: purchases grouped into rg_ev, and
        # every row's user flags straight into rg_ev_users (the other rows, 9 in 10 of a
        # log, are read once and never written).
        kind = f"coalesce({_kind(expr, config, raw['event_type'])}, 0)"
        bought = KIND_CODES["purchase"]
        create_scratch(source.connection, "rg_ev", kept(f"{kind} = {bought}"), **binds)
        flags = "which, stage, kind, ukey"
        create_scratch(
            source.connection,
            "rg_ev_users",
            user_flags(
                f"(select {flags} from rg_ev union all "
                f"select {flags} from ({kept(f'{kind} <> {bought}', False)}) rest)"
            ),
            **binds,
        )
    if not whole_table:
        return {}
    return _whole_table(source, expr, column)


def user_flags(rows: str = "rg_ev") -> str:
    """Return the select of ``rg_ev_users`` from ``rows`` (``rg_ev``, or a parenthesised
    select of its columns which, stage, kind and ukey): per period and user, whether they
    viewed, carted and bought, among the clean rows. Copies cannot change a flag."""
    view, cart, purchase = (KIND_CODES[k] for k in ("view", "cart", "purchase"))
    return f"""
        select which, ukey,
               max(case when kind = {view} then 1 else 0 end) as viewed,
               max(case when kind = {cart} then 1 else 0 end) as carted,
               max(case when kind = {purchase} then 1 else 0 end) as purchased
        from {rows} flagged where stage = {CLEAN} and ukey is not null
        group by which, ukey
    """


def _whole_table(source: Source, expr: Expr, column: str) -> dict[str, int]:
    """Count rows, NULL or unreadable event_time values and future-dated ones over the
    whole table, in one pass."""
    table = source.table("events").sql
    # Fenced: each of local's four uses would compute it again.
    return one(
        source.connection,
        f"""
        select count(*) as rows_, sum(case when local is null then 1 else 0 end) as unparsed,
               sum(future) as future, min(local) as first, max(local) as last
        from (
            select {expr.local_seconds(column)} as local,
                   {source.later_than_now(expr, column)} as future
            from {table} {expr.fence()}
        ) parsed
    """,
        **source.clock_binds(),
    )


def _duckdb_table_counts(source: Source, expr: Expr, start: date, end: date) -> dict[str, Any]:
    """DuckDB: the whole table's rows, future-dated rows and the first and last time
    outside the window [start, end), in one more pass.

    The pass parses only values that may be recent or may lie outside the window (text
    comparisons with two days of margin, more than any offset moves a time; the window's
    own first and last come from ``rg_ev``), natively; the rare recent text DuckDB cannot
    parse (a numeric offset) takes a second, Python-parsed pass only when there is some.
    """
    conn = source.connection
    info = source.table("events")
    raw = info.columns["event_time"]
    kind = source.column_type("events", "event_time") or "varchar"
    binds = source.clock_binds()
    zone = source.config.report.timezone
    if kind.startswith("timestamp") and "time zone" not in kind:
        # A naive typed value is local wall time already: one native comparison a row.
        # Outside UTC every row takes the Python parse in _duckdb_rows, which gives the
        # first and last (a time in a spring-forward gap moves on there).
        ends = "min({0}) as first, max({0}) as last".format(raw if zone == "UTC" else "null")
        return one(
            conn,
            f"""
            select count(*) as rows_,
                   count(case when {raw} > cast(:rg_now as timestamp) then 1 end) as future,
                   {ends}
            from {info.sql}
        """,
            **binds,
        )
    maybe = expr.may_fall_between(raw, "rg_now_lo", "rg_now_hi")
    text = expr.raw_text(raw)
    edge = f"({text} < :rg_first_hi or {text} >= :rg_last_lo)"
    binds |= {
        "rg_first_hi": (start + timedelta(days=2)).isoformat(),
        "rg_last_lo": (end - timedelta(days=2)).isoformat(),
    }
    native, zoned, _ = duckdb_timestamps("raw_value", kind, zone)
    local = (
        "native"
        if zone == "UTC"
        else f"(case when zoned then timezone({_literal(zone)}, timezone('UTC', native)) "
        "else native end)"
    )
    # The first and last come from the values DuckDB parses as _duckdb_rows does; those it
    # leaves to the Python parser are read there.
    first_local, _ = duckdb_local_instant("native", "zoned", zone)
    found = one(
        conn,
        f"""
        select count(*) as rows_,
               count(case when maybe and {local} > cast(:rg_now as timestamp) then 1 end)
                   as future,
               count(case when maybe and native is null and raw_value is not null then 1 end)
                   as odd,
               min({first_local}) as first, max({first_local}) as last
        from (
            select maybe, raw_value, case when maybe or edge then {native} end as native,
                   case when maybe or edge then {zoned} end as zoned
            from (
                select {maybe} as maybe, {edge} as edge, {raw} as raw_value from {info.sql}
            ) scanned
        ) parsed
    """,
        **binds,
    )
    if found.pop("odd"):
        later = source.later_than_now(expr, "raw_value")
        slow = scalar(
            conn,
            f"""
            select count(*) from (
                select {native} as native, {later} as later
                from (select {raw} as raw_value from {info.sql} where {maybe}) recent
            ) parsed where native is null and later = 1
        """,
            **binds,
        )
        found["future"] += int(slow or 0)
    return found


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _duckdb_rows(
    source: Source, expr: Expr, config: Config, bounds: dict[str, str], purchases_only: bool
) -> tuple[object, object]:
    """DuckDB: parse natively (the rare other forms after), window, then deduplicate;
    return the first and last local time of its rows (those of the window, and those the
    Python parser read)."""
    conn = source.connection
    events = source.table("events")
    raw, text_ids = _raw_columns(source, expr, native=True)
    kind = source.column_type("events", "event_time") or "varchar"
    native, zoned, text = duckdb_timestamps(
        events.columns["event_time"], kind, config.report.timezone
    )
    local, instant = duckdb_local_instant("native", "zoned", config.report.timezone)
    # Parsed once (the costly part), in the innermost select; rh0 hashes the row but its
    # time, and rh adds the instant (for rows the Python parser reads, once parsed).
    sql = f"""
        create temp table rg_ev as
        select {_which("lts", bounds)} as which, 1 as n,
               hash(rh0, inst) as rh,
               case when lts is null and text_ is not null then rh0 end as rh0,
               case when lts is null then text_ end as slow_text,
               lts as ts,
               {_day_hour("lts")},
               {_classified(expr)}
        from (
            select {local} as lts, {instant} as inst, *
            from (
                select {native} as native, {zoned} as zoned, {text} as text_,
                       hash({", ".join(raw.values())}) as rh0,
                       {_coerced(expr, config, raw, text_ids, native=True)}
                from {events.sql}
            ) scanned
        ) parsed
        where lts is null
           or (lts >= cast(:b0 as timestamp) and lts < cast(:b{len(bounds) - 1} as timestamp))
    """
    # DuckDB's filter pushdown would copy the parse into the window filter, twice over.
    # Reset only after success: a failed read (a bad CSV) aborts the transaction, and a
    # reset then would replace DuckDB's reason with "transaction is aborted".
    execute(conn, "set disabled_optimizers = 'filter_pushdown'")
    execute(conn, sql, **bounds)
    execute(conn, "reset disabled_optimizers")
    found = one(conn, "select min(ts) as first, max(ts) as last from rg_ev")
    ends: tuple[object, object] = (found["first"], found["last"])
    if scalar(conn, "select count(*) from rg_ev where slow_text is not null"):
        slow_local, slow_instant = duckdb_slow_timestamps("slow_text", config.report.timezone)
        found = one(
            conn,
            f"""
            select min(lts) as first, max(lts) as last from (
                select {slow_local} as lts from rg_ev where slow_text is not null
            ) slow
        """,
        )
        ends = (_earliest(ends[0], found["first"]), _latest(ends[1], found["last"]))
        execute(
            conn,
            f"""
            update rg_ev set which = {_which("s.lts", bounds, outside=-1)},
                   day = {_day_hour("s.lts", "day")}, hour = {_day_hour("s.lts", "hour")},
                   rh = hash(rg_ev.rh0, s.inst)
            from (
                select rowid as id, {slow_local} as lts, {slow_instant} as inst
                from rg_ev where slow_text is not null
            ) s
            where rg_ev.rowid = s.id
        """,
            **bounds,
        )
        execute(conn, "delete from rg_ev where which = -1")
    _drop_duckdb_copies(source, purchases_only)
    return ends


def _day_hour(lts: str, part: str | None = None) -> str:
    """Return the local day number and hour of a DuckDB timestamp (integer arithmetic on
    its epoch: cheaper than date parts over millions of rows)."""
    seconds = f"epoch({lts})"
    day = f"cast(floor({seconds} / 86400) as integer)"
    hour = f"cast(floor({seconds} / 3600) as bigint) % 24"
    if part == "day":
        return day
    if part == "hour":
        return hour
    return f"{day} as day, {hour} as hour"


def _which(lts: str, bounds: dict[str, str], outside: str | int = "null") -> str:
    """Return the period index of a DuckDB timestamp, or ``outside`` the window."""
    return _which_of(lts, bounds, outside, "cast({} as timestamp)")


def _drop_duckdb_copies(source: Source, purchases_only: bool) -> None:
    """Keep one row per row hash (of purchase rows only, with ``purchases_only``); ``n``
    records how many there were.

    The hashes go to numpy (8 bytes a row), where two radix passes leave only the few
    candidates for an exact count: cheaper than a hash aggregate over every row. A row's
    hash covers its event_type, so a purchase's copies are purchases too.
    """
    conn = source.connection
    raw = conn.connection.driver_connection
    which = f"kind = {KIND_CODES['purchase']}" if purchases_only else "true"
    hashes = raw.execute(f"select rh from rg_ev where which is not null and {which}").fetchnumpy()[
        "rh"
    ]
    found, copies = repeated_values(np.asarray(hashes, dtype=np.uint64))
    if not len(found):
        return
    frame = pd.DataFrame({"rh": found, "copies": copies})
    raw.register("rg_ev_dups_frame", frame)
    try:
        execute(conn, "create temp table rg_ev_dups as select * from rg_ev_dups_frame")
    finally:
        raw.unregister("rg_ev_dups_frame")
    execute(
        conn,
        """
        delete from rg_ev where rowid in (
            select rowid from (
                select rowid, row_number() over (partition by rh order by rowid) as copy
                from rg_ev where which is not null and rh in (select rh from rg_ev_dups)
            ) copies where copy > 1
        )
    """,
    )
    execute(conn, "update rg_ev set n = d.copies from rg_ev_dups d where rg_ev.rh = d.rh")


def repeated_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the values that occur more than once in a uint64 array, and their counts."""
    candidates = values
    for shift in (40, 16):
        if len(candidates) < 1 << 16:
            break
        bucket = ((candidates >> np.uint64(shift)) & np.uint64(0xFFFFFF)).astype(np.int64)
        crowded = np.bincount(bucket, minlength=1 << 24) > 1
        candidates = candidates[crowded[bucket]]
    unique, counts = np.unique(candidates, return_counts=True)
    return unique[counts > 1], counts[counts > 1]
