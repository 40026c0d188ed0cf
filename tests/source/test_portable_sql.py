"""Which SQL spellings work on SQLite, PostgreSQL, DuckDB and Spark alike (docs/warehouse.md).

``PORTABLE``: one spelling, one answer, on all four engines — what the sections' rewrite
can rely on. ``PER_ENGINE``: where no one spelling exists, the spelling for each engine.
``FAILS_ON_SPARK``: what today's section SQL writes that Spark refuses (or reads
otherwise), with the error the docs quote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from reportgen.source.query import execute, rows
from reportgen.source.text import WHITESPACE

ENGINES = ("sqlite", "postgresql", "duckdb", "spark")


@pytest.fixture(scope="module", params=ENGINES)
def conn(request) -> Iterator[sa.Connection]:
    """One connection per engine: in-memory SQLite and DuckDB, the session's PostgreSQL and
    Spark Connect servers."""
    url = {
        "sqlite": "sqlite://",
        "duckdb": "duckdb:///:memory:",
        "postgresql": None,
        "spark": None,
    }[request.param]
    if url is None:
        url = request.getfixturevalue(
            f"{'postgres' if request.param == 'postgresql' else 'spark'}_url"
        )
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        yield connection
        connection.rollback()
    engine.dispose()


def _plain(value: Any) -> Any:
    """Compare values, not driver types: Decimal and int as float, bool as int."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    return value


def _one(conn: sa.Connection, sql: str, **params: Any) -> tuple:
    found = rows(conn, sql, **params)
    return tuple(_plain(v) for v in found[0].values()) if found else ()


def _text(conn: sa.Connection) -> str:
    return conn.dialect.type_compiler_instance.process(sa.Text())


def _double(conn: sa.Connection) -> str:
    return conn.dialect.type_compiler_instance.process(sa.Double())


PORTABLE: dict[str, tuple[str, tuple]] = {
    # A CTE without the `materialized` hint.
    "plain_cte": ("with raw as (select 1 as x) select x from raw", (1.0,)),
    # A NULL of text type, for empty tables and missing columns.
    "null_text": (
        "select nullif('', '') as x, coalesce(nullif('', ''), 'Unknown') as y",
        (None, "Unknown"),
    ),
    "empty_select": ("select nullif('', '') as product_id, 0 as n_rows where 1 = 0", ()),
    "concat": ("select 'a' || 'b' || cast(null as {text}) as x, 'a' || 'b' as y", (None, "ab")),
    "text_cast": ("select cast(5 as {text}) as x, cast(null as {text}) as y", ("5", None)),
    "double_cast": (
        "select cast('2.5' as {double}) as x, cast(null as {double}) as y",
        (2.5, None),
    ),
    # Text after a position, counted from the end: no negative substr start, no right().
    "suffix": (
        "select substr('2024-01-01 10:00 UTC', length('2024-01-01 10:00 UTC') - 3) as x",
        (" UTC",),
    ),
    "substr_length": (
        "select substr('2024-01-01 10:00:00', 12, 2) as h, length('abc') as n",
        ("10", 3.0),
    ),
    # `/` is integer division on SQLite and PostgreSQL, real on DuckDB and Spark.
    "real_division": ("select 7 * 1.0 / 2 as x", (3.5,)),
    "integer_division": ("select floor(7 * 1.0 / 2) as x", (3.0,)),
    # A zero divisor: NULL (Spark's ANSI mode and PostgreSQL raise on a bare n / 0).
    "guarded_division": ("select 1 * 1.0 / nullif(d, 0) as x from (select 0 as d) t", (None,)),
    "case_guard": (
        "select case when d = 0 then null else 1 * 1.0 / d end as x from (select 0 as d) t",
        (None,),
    ),
    "whole_day_cast": ("select cast(substr('2024-03-05 10:00', 12, 2) as integer) as h", (10.0,)),
    "aliases": (
        "select 1 as start, 2 as day, 3 as hour, 4 as open, 5 as other, 6 as which, 7 as n, "
        "8 as values_, 9 as rows_",
        tuple(float(i) for i in range(1, 10)),
    ),
    "exists_case": (
        "select case when exists (select 1 from (select 1 as x) t where x = 1) "
        "then 1 else 0 end as e",
        (1.0,),
    ),
    "count_distinct": (
        "select count(*) - count(distinct x) as d from (select 1 as x union all select 1) t",
        (1.0,),
    ),
    "row_number": (
        "select x from (select x, row_number() over (partition by g order by x) as pick "
        "from (select 1 as g, 2 as x union all select 1, 1) t) r where pick = 1",
        (1.0,),
    ),
    "coalesce_sum": ("select coalesce(sum(x), 0) as s from (select 1 as x) t where x = 2", (0.0,)),
    "nullif_empty": ("select nullif('', '') is null as a, nullif('x', '') as b", (1.0, "x")),
    "simple_case": ("select case 'view' when 'view' then 1 when 'cart' then 2 end as k", (1.0,)),
    "between_text": (
        "select case when substr('x9', 1, 1) not between '0' and '9' then 1 else 0 end as a",
        (1.0,),
    ),
    "union_all_count": (
        "select which, n from (select 1 as which, 5 as n union all select null, 7) t order by n",
        (1.0, 5.0),
    ),
    "limit": ("select x from (select 1 as x union all select 2) t order by x desc limit 1", (2.0,)),
}


@pytest.mark.parametrize("case", PORTABLE, ids=str)
def test_a_portable_spelling_gives_one_answer_everywhere(conn, case):
    sql, expected = PORTABLE[case]
    assert _one(conn, sql.format(text=_text(conn), double=_double(conn))) == expected


def test_bound_parameters_carry_text_lists_and_nulls(conn):
    found = _one(
        conn,
        "select length(:p) as n, case when 'b' in :names then 1 else 0 end as listed, "
        "coalesce(:none, 'x') as none_",
        p="a\\b",
        names=["a", "b"],
        none=None,
    )
    # A backslash travels intact as a value; written into the SQL, Spark would read an escape.
    assert found == (3.0, 1.0, "x")


def test_a_temporary_view_without_parameters_is_portable(conn):
    execute(conn, "drop view if exists rg_probe")
    execute(conn, "create temporary view rg_probe as select 1 as x, 'p' as v")
    try:
        assert _one(conn, "select x, v from rg_probe") == (1.0, "p")
    finally:
        execute(conn, "drop view if exists rg_probe")


SCRATCH = {
    "sqlite": "create temp table rg_scratch as select 1 as x, :v as v",
    "postgresql": "create temp table rg_scratch as select 1 as x, cast(:v as text) as v",
    "duckdb": "create temp table rg_scratch as select 1 as x, :v as v",
    "spark": "cache table rg_scratch as select 1 as x, :v as v",
}
"""A scratch table built once from SQL with bound parameters (SQLite and PostgreSQL take
no parameter in a view; Spark has no temporary table, and ``cache table`` computes it
once, where a view would be recomputed at every use)."""


def test_a_scratch_table_with_parameters_per_engine(conn):
    execute(conn, "drop table if exists rg_scratch")
    execute(conn, SCRATCH[conn.dialect.name], v="p")
    try:
        assert _one(conn, "select x, v from rg_scratch") == (1.0, "p")
    finally:
        execute(conn, "drop table if exists rg_scratch")


PER_ENGINE: dict[str, dict[str, tuple[str, tuple]]] = {
    # Python's strip() with a character set. Spark's two-argument trim(a, b) trims the
    # characters of a from b: the SQLite spelling silently returns '' there.
    "strip": {
        "sqlite": ("select trim('xxhixx', 'x') as s", ("hi",)),
        "postgresql": ("select trim(both 'x' from 'xxhixx') as s", ("hi",)),
        "duckdb": ("select trim(both 'x' from 'xxhixx') as s", ("hi",)),
        "spark": ("select trim(both 'x' from 'xxhixx') as s", ("hi",)),
    },
    "regex": {
        "sqlite": ("select '2024-03-05' glob '[0-9][0-9][0-9][0-9]-*' as m", (1.0,)),
        "postgresql": ("select '2024-03-05' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' as m", (1.0,)),
        "duckdb": (
            "select regexp_full_match('2024-03-05', '[0-9]{4}-[0-9]{2}-[0-9]{2}') as m",
            (1.0,),
        ),
        "spark": ("select '2024-03-05' rlike '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' as m", (1.0,)),
    },
    # Days since 1970-01-01 of a YYYY-MM-DD text.
    "day_number": {
        "sqlite": ("select cast(julianday('2024-01-02') - 2440587.5 as integer) as d", (19724.0,)),
        "postgresql": ("select cast('2024-01-02' as date) - date '1970-01-01' as d", (19724.0,)),
        "duckdb": ("select cast('2024-01-02' as date) - date '1970-01-01' as d", (19724.0,)),
        "spark": ("select unix_date(cast('2024-01-02' as date)) as d", (19724.0,)),
    },
    # Microseconds since the epoch of canonical local text, read as UTC.
    "epoch_us": {
        "sqlite": (
            "select unixepoch(substr('2024-01-01 00:00:00.123456', 1, 19)) * 1000000 "
            "+ cast(substr('2024-01-01 00:00:00.123456', 21, 6) as integer) as us",
            (1704067200123456.0,),
        ),
        "postgresql": (
            "select cast(extract(epoch from cast('2024-01-01 00:00:00.123456' as timestamp)) "
            "* 1000000 as bigint) as us",
            (1704067200123456.0,),
        ),
        "duckdb": (
            "select epoch_us(strptime('2024-01-01 00:00:00.123456', '%Y-%m-%d %H:%M:%S.%f')) as us",
            (1704067200123456.0,),
        ),
        "spark": (
            "select unix_micros(to_timestamp('2024-01-01 00:00:00.123456')) as us",
            (1704067200123456.0,),
        ),
    },
    # A valid date-time or NULL, without raising on bad text (the fast §8 check).
    "safe_timestamp": {
        "sqlite": (
            "select strftime('%Y-%m-%d %H:%M:%S', '2024-02-30 10:00:00', '+0 days') "
            "= '2024-02-30 10:00:00' as ok",
            (0.0,),
        ),
        # PostgreSQL 15 has no pg_input_is_valid (16 does): the shape by pattern, then the
        # day against its month's length, each step in its own CASE (a failed cast raises).
        "postgresql": (
            "select case when v ~ '^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2} "
            "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$' and substr(v, 1, 4) <> '0000' then "
            "(case when cast(substr(v, 9, 2) as integer) between 1 and extract(day from "
            "make_date(cast(substr(v, 1, 4) as integer), cast(substr(v, 6, 2) as integer), 1) "
            "+ interval '1 month' - interval '1 day') then 1 else 0 end) else 0 end as ok "
            "from (select '2024-02-30 10:00:00' as v) t",
            (0.0,),
        ),
        "duckdb": ("select try_cast('2024-02-30 10:00:00' as timestamp) is not null as ok", (0.0,)),
        "spark": (
            "select try_to_timestamp('2024-02-30 10:00:00', 'yyyy-MM-dd HH:mm:ss') "
            "is not null as ok",
            (0.0,),
        ),
    },
    # Text to a number, NULL when it is not one.
    "safe_number": {
        "sqlite": (
            "select case when ' 2.5' glob '*[0-9]*' then cast(' 2.5' as real) end as x",
            (2.5,),
        ),
        "postgresql": (
            # A subquery value: PostgreSQL folds (and fails) a cast of a constant in any branch.
            "select case when v ~ '^[0-9.]+$' then cast(v as double precision) end as x "
            "from (select 'x' as v) t",
            (None,),
        ),
        "duckdb": ("select try_cast('x' as double) as x", (None,)),
        "spark": ("select try_cast('x' as double) as x", (None,)),
    },
    # Binary (code point) text order, as §8 sorts ids.
    "binary_order": {
        "sqlite": ("select case when 'B' < 'a' then 1 else 0 end as x", (1.0,)),
        "postgresql": ("select case when 'B' collate \"C\" < 'a' then 1 else 0 end as x", (1.0,)),
        "duckdb": ("select case when 'B' < 'a' then 1 else 0 end as x", (1.0,)),
        "spark": ("select case when 'B' < 'a' then 1 else 0 end as x", (1.0,)),
    },
}


@pytest.mark.parametrize("case", PER_ENGINE, ids=str)
def test_the_per_engine_spelling_works_on_its_engine(conn, case):
    sql, expected = PER_ENGINE[case][conn.dialect.name]
    assert _one(conn, sql) == expected


def test_the_postgresql_date_check_accepts_real_dates(postgres_url):
    """The PostgreSQL 15 safe_timestamp spelling, on a valid and a leap day too."""
    sql = PER_ENGINE["safe_timestamp"]["postgresql"][0]
    engine = sa.create_engine(postgres_url)
    cases = {
        "2024-02-29 23:59:59": 1.0,
        "2023-02-29 10:00:00": 0.0,
        "2024-12-31 00:00:00": 1.0,
        "2024-13-01 00:00:00": 0.0,
        "0000-01-01 00:00:00": 0.0,
        "2024-04-31 00:00:00": 0.0,
        "2024-04-30 24:00:00": 0.0,
    }
    with engine.connect() as pg:
        got = {v: _one(pg, sql.replace("2024-02-30 10:00:00", v))[0] for v in cases}
    engine.dispose()
    assert got == cases


FAILS_ON_SPARK: dict[str, tuple[str, str]] = {
    "create temp table": (
        "create temp table rg_probe_t as select 1 as x",
        "use CREATE TEMPORARY VIEW instead",
    ),
    "materialized CTE": (
        "with raw as materialized (select 1 as x) select x from raw",
        "PARSE_SYNTAX_ERROR",
    ),
    "varchar without length": ("select cast(null as varchar) as x", "DATATYPE_MISSING_SIZE"),
    "text type": ("select cast(5 as text) as x", "UNSUPPORTED_DATATYPE"),
    "double precision": ("select cast(null as double precision) as x", "PARSE_SYNTAX_ERROR"),
    'collate "C"': ("select 'a' collate \"C\" as x", "PARSE_SYNTAX_ERROR"),
    "~ regex": ("select 'a' ~ '^a' as x", "PARSE_SYNTAX_ERROR"),
    "glob": ("select 'a' glob 'a*' as x", "PARSE_SYNTAX_ERROR"),
    "regexp_full_match": ("select regexp_full_match('a', 'a') as x", "UNRESOLVED_ROUTINE"),
    "strftime": ("select strftime('%Y', '2024-01-01') as x", "UNRESOLVED_ROUTINE"),
    "julianday": ("select julianday('2024-01-01') as x", "UNRESOLVED_ROUTINE"),
    "unixepoch": ("select unixepoch('2024-01-01') as x", "UNRESOLVED_ROUTINE"),
    "date with modifier": ("select date('2024-01-01', '+0 days') as x", "WRONG_NUM_ARGS"),
    "epoch_us": ("select epoch_us(timestamp'2024-01-01 00:00:00') as x", "UNRESOLVED_ROUTINE"),
    "try_strptime": ("select try_strptime('2024', '%Y') as x", "UNRESOLVED_ROUTINE"),
    "registered Python function": (
        "select rg_local('2024-01-01', 'UTC') as x",
        "UNRESOLVED_ROUTINE",
    ),
    "pg_temp function": ("select pg_temp.rg_local('2024-01-01', 'UTC') as x", "UNRESOLVED_ROUTINE"),
    "create index": ("create index rg_probe_ix on rg_probe_table (x)", "not supported"),
    "insert into a temporary view": (
        "insert into rg_probe_view values (2)",
        "EXPECT_TABLE_NOT_VIEW",
    ),
    "delete": ("delete from rg_probe_table where x = 1", "UNSUPPORTED_FEATURE.TABLE_OPERATION"),
    "update … from": (
        "update rg_probe_table set x = 2 from rg_probe_view where rg_probe_table.x = 1",
        "PARSE_SYNTAX_ERROR",
    ),
    "rowid": ("select rowid from rg_probe_table", "UNRESOLVED_COLUMN"),
    "bare division by zero": ("select 1 / d as x from (select 0 as d) t", "DIVIDE_BY_ZERO"),
    "bad cast": ("select cast('x' as double) as x", "CAST_INVALID_INPUT"),
    "text compared with a number": ("select 'c1' = 5 as x", "CAST_INVALID_INPUT"),
}


@pytest.fixture(scope="module")
def spark_probe(spark_url) -> Iterator[sa.Connection]:
    engine = sa.create_engine(spark_url)
    with engine.connect() as connection:
        execute(connection, "drop table if exists rg_probe_table")
        execute(connection, "create table rg_probe_table (x int)")
        execute(connection, "insert into rg_probe_table values (1)")
        execute(connection, "create or replace temporary view rg_probe_view as select 1 as x")
        yield connection
        execute(connection, "drop table if exists rg_probe_table")
    engine.dispose()


@pytest.mark.parametrize("construct", FAILS_ON_SPARK, ids=str)
def test_what_spark_refuses(spark_probe, construct):
    sql, error = FAILS_ON_SPARK[construct]
    with pytest.raises(sa.exc.DBAPIError) as raised:
        rows(spark_probe, sql)
    assert error in str(raised.value.orig)


def test_what_spark_reads_otherwise(spark_probe):
    """Spellings that run on Spark but mean something else there (silent differences)."""
    found = rows(
        spark_probe,
        "select trim('xxhixx', 'x') as trimmed, length('a\\.b') as escaped, "
        "cast('2024-01-02' as date) - date '1970-01-01' as days, 7 / 2 as divided, "
        f"trim(both {_literal(WHITESPACE)} from ' hi\u3000') as stripped",
    )[0]
    assert found["trimmed"] == ""  # the arguments' roles are swapped: trim(chars, text)
    assert found["escaped"] == 3  # '\.' is read as '.' (a backslash escapes)
    assert found["days"] == dt.timedelta(days=19724)  # an interval, not a number
    assert found["divided"] == 3.5  # not 3 as on SQLite and PostgreSQL
    assert found["stripped"] == "hi"  # a set with every Unicode space works, raw in a literal


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
