"""Every expression of ``reportgen.source.sqlexpr.Expr`` on every engine it spells for.

Offline: each method compiles for each dialect, and the Spark spelling avoids what Spark
refuses (docs/warehouse.md). Against real engines (SQLite and DuckDB in memory, the
session's PostgreSQL and Spark Connect servers): the same inputs give the same values
as Python's own reading of METRICS.md §8 (``parse_timestamp``, ``str.strip``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from reportgen.source.connection import register_functions
from reportgen.source.query import rows
from reportgen.source.sqlexpr import DIALECTS, Expr, parse_timestamp, sql_literal

ZONES = ("UTC", "America/New_York")

TIMESTAMPS = (
    None,
    "",
    "   ",
    "2024-03-05",
    " 2024-03-05 10:20 ",
    "2024-03-05T10:20:30",
    "2024-03-05 10:20:30.5",
    "2024-03-05 10:20:30.123456",
    "2024-03-05 10:20:30.1234567",
    "2024-03-05 10:20:30 UTC",
    "2024-03-05T10:20:30Z",
    "2024-03-05 10:20Z",
    "2024-03-05 10:20:30+05:30",
    "2024-03-05 10:20:30.25-08:00",
    "2024-02-29 23:59:59",
    "2024-02-30 10:00:00",
    "2023-02-29",
    "2024-13-01",
    "2024-03-05 24:00:00",
    "2024-03-05 10:60",
    "2024-03-05 10:20:60",
    "2024-3-5",
    "2024-03-05 9:00",
    "2024-03-05  10:00",
    "2024-03-05 10:20:30.",
    "2024-03-05 10:20:30+0530",
    "2024-03-05 10:20:30 utc",
    "2024-03-10 02:30:00",  # a spring-forward gap in New York
    "2024-11-03 01:30:00",  # a fall-back fold in New York
    "2024-11-03 01:30:00-05:00",
    "1969-12-31 23:59:59.999999",
    "0001-01-01 00:00:00",
    "0001-01-01 00:00:00+01:00",  # before year 1 in UTC
    "9999-12-31 23:59:59",
    "0000-01-01",
    "\u00a02024-03-05 10:00\u2003",
    "\t2024-03-05\n",
    "not a date",
)
NUMBERS = (None, "", " 2.5 ", "-3", "+4.", ".5", "1e3", "1E-2", "abc", "1,5", "12abc", " 7\t")
IDS = (None, "", "  ", "c1", " c1 ", "a\\b", "it's", "B", "a")


def _expected_text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _expected_number(value: str | None) -> float | None:
    text = _expected_text(value)
    pattern = r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?"
    return float(text) if text and re.fullmatch(pattern, text) else None


# -- offline: every method compiles for every dialect -------------------------------------


METHODS = (
    ("text", ("c",)),
    ("strip", ("c",)),
    ("id_text", ("c",)),
    ("is_null_id", ("c",)),
    ("lower_strip", ("c",)),
    ("number", ("c",)),
    ("is_date_only_text", ("c",)),
    ("raw_text", ("c",)),
    ("fast_valid", ("c",)),
    ("unparsed", ("c",)),
    ("not_bare_date", ("c",)),
    ("may_fall_between", ("c", "lo", "hi")),
    ("with_timestamps", ("select c as x from t",)),
    ("slow_local", ("c",)),
    ("utc_suffixed", ("c",)),
    ("epoch_us", ("local", "x")),
    ("day_number", ("local",)),
    ("null_text", ()),
    ("null_number", ()),
)
SPARK_REFUSES = (
    r"\bvarchar\b",
    r"\bmaterialized\b",
    r"\bdouble precision\b",
    r"\bcollate\b",
    r"\bglob\b",
    r" ~ ",
    r"\bregexp_full_match\b",
    r"\bstrftime\b",
    r"\bjulianday\b",
    r"\bunixepoch\b",
    r"\brg_local\b",
    r"\brg_epoch\b",
    r"\bpg_temp\b",
    r"\\",
    r"as text\b",
)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("timezone", ZONES)
def test_every_expression_compiles_for_every_dialect(dialect, timezone):
    expr = Expr(dialect, timezone)
    for name, args in METHODS:
        sql = getattr(expr, name)(*args)
        text = " ".join(sql) if isinstance(sql, tuple) else sql
        assert text.strip(), name
        if dialect == "spark":
            for refused in SPARK_REFUSES:
                assert not re.search(refused, text), (name, refused)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_materialized_hint_is_left_out_on_spark(dialect):
    # Not in METHODS: on Spark it is the empty text (Spark has no such hint).
    hint = Expr(dialect, "UTC").materialized()
    assert hint == ("" if dialect == "spark" else "materialized ")


def test_an_unknown_dialect_is_refused():
    with pytest.raises(NotImplementedError, match="trino"):
        Expr("trino", "UTC")


def test_literals_escape_what_each_dialect_unescapes():
    assert sql_literal("it's a\\b") == "'it''s a\\b'"
    assert sql_literal("it's a\\b", "spark") == "'it\\'s a\\\\b'"
    assert Expr("spark", "UTC").literal("x'") == "'x\\''"
    assert Expr("postgresql", "UTC").literal("x'") == "'x'''"


# -- against real engines ------------------------------------------------------------------


ENGINES = ("sqlite", "duckdb", "postgresql", "spark")


@pytest.fixture(scope="module", params=ENGINES)
def conn(request) -> Iterator[sa.Connection]:
    """A connection per engine with the parse helpers registered, as ``open_source`` does."""
    url = {"sqlite": "sqlite://", "duckdb": "duckdb:///:memory:"}.get(request.param)
    if url is None:
        fixture = "postgres_url" if request.param == "postgresql" else "spark_url"
        url = request.getfixturevalue(fixture)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        register_functions(connection)
        yield connection
        connection.rollback()
    engine.dispose()


def _values(conn: sa.Connection, values: tuple[str | None, ...]) -> tuple[str, dict[str, Any]]:
    """Return a derived table of one text column ``v`` (and ``i``, its position)."""
    kind = {"sqlite": "text", "spark": "string"}.get(conn.dialect.name, "varchar")
    parts, params = [], {}
    for number, value in enumerate(values):
        params[f"v{number}"] = value
        parts.append(f"select {number} as i, cast(:v{number} as {kind}) as v")
    return "(" + " union all ".join(parts) + ") vals", params


def _column(conn: sa.Connection, expression: str, values: tuple[str | None, ...]) -> list[Any]:
    table, params = _values(conn, values)
    found = rows(conn, f"select i, {expression} as out from {table} order by i", **params)
    return [_plain(row["out"]) for row in found]


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "is_integer") and not isinstance(value, float):  # Decimal
        return float(value)
    return value


def test_strip_and_ids_read_text_as_python_does(conn):
    expr = Expr(conn.dialect.name, "UTC")
    expected = [_expected_text(v) for v in IDS]
    assert _column(conn, expr.strip("v"), IDS) == expected
    assert _column(conn, expr.id_text("v"), IDS) == [v if v is None else v or None for v in IDS]
    lowered = [None if v is None else v.lower() for v in expected]
    assert _column(conn, expr.lower_strip("v"), IDS) == lowered
    null_ids = [1 if (v is None or v == "") else 0 for v in IDS]
    assert _column(conn, f"case when {expr.is_null_id('v')} then 1 else 0 end", IDS) == null_ids


BLANKS = (*IDS, "\u00a0", "\u3000x", "\u2003 \t", "~", "~ ", "\x7f", "\x7f ", "!", "} ")


def test_is_blank_is_what_strip_makes_null(conn):
    expr = Expr(conn.dialect.name, "UTC")
    got = _column(conn, f"case when {expr.is_blank(expr.text('v'))} then 1 else 0 end", BLANKS)
    assert got == [1 if _expected_text(v) is None else 0 for v in BLANKS]


def test_numbers_read_as_python_reads_them(conn):
    expr = Expr(conn.dialect.name, "UTC")
    got = _column(conn, expr.number("v"), NUMBERS)
    assert got == [_expected_number(v) for v in NUMBERS]


def test_typed_nulls_and_text_order(conn):
    expr = Expr(conn.dialect.name, "UTC")
    found = rows(
        conn,
        f"select {expr.null_text()} as t, {expr.null_number()} as n, "
        f"case when {expr.text(expr.literal('B'))} < {expr.text(expr.literal('a'))} "
        f"then 1 else 0 end as binary_order, {expr.literal(chr(92) + chr(39))} as escaped",
    )
    assert found == [{"t": None, "n": None, "binary_order": 1, "escaped": "\\'"}]


@pytest.mark.parametrize("timezone", ZONES)
@pytest.mark.parametrize("form", ["stripped", "raw"])
def test_timestamps_parse_as_python_parses_them(conn, timezone, form):
    """Both forms: ``with_timestamps`` over stripped text, ``parsed_rows`` over raw."""
    expr = Expr(conn.dialect.name, timezone)
    table, params = _values(conn, TIMESTAMPS)
    if form == "stripped":
        parsed = expr.with_timestamps(f"select i, {expr.strip('v')} as x from {table}")
    else:
        parsed = expr.parsed_rows("i", "v", f"from {table}")
    found = rows(conn, f"select i, local, epoch_us, day from ({parsed}) p order by i", **params)
    got = [(r["local"], _int(r["epoch_us"]), _int(r["day"])) for r in found]
    expected = []
    for value in TIMESTAMPS:
        result = parse_timestamp(_expected_text(value), timezone)
        if result is None:
            expected.append((None, None, None))
        else:
            local, micros = result
            day = (_day(local[:10])) if local else None
            expected.append((local, micros, day))
    assert dict(zip(TIMESTAMPS, got, strict=True)) == dict(zip(TIMESTAMPS, expected, strict=True))


@pytest.mark.parametrize("timezone", ZONES)
def test_unparsed_and_date_only_flags(conn, timezone):
    expr = Expr(conn.dialect.name, timezone)
    unparsed = _column(conn, expr.unparsed("v"), TIMESTAMPS)
    expected = [
        1 if parse_timestamp(_expected_text(v), timezone) is None else 0 for v in TIMESTAMPS
    ]
    assert dict(zip(TIMESTAMPS, unparsed, strict=True)) == dict(
        zip(TIMESTAMPS, expected, strict=True)
    )
    bare = _column(conn, expr.not_bare_date("v"), TIMESTAMPS)
    bare_expected = [
        0
        if _expected_text(v) is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", _expected_text(v))
        else 1
        for v in TIMESTAMPS
    ]
    assert dict(zip(TIMESTAMPS, bare, strict=True)) == dict(
        zip(TIMESTAMPS, bare_expected, strict=True)
    )


@pytest.mark.parametrize("timezone", ZONES)
def test_the_slow_parse_alone_gives_local_text(conn, timezone):
    expr = Expr(conn.dialect.name, timezone)
    got = _column(conn, expr.slow_local(expr.strip("v")), TIMESTAMPS)
    expected = [(parse_timestamp(_expected_text(v), timezone) or (None,))[0] for v in TIMESTAMPS]
    assert dict(zip(TIMESTAMPS, got, strict=True)) == dict(zip(TIMESTAMPS, expected, strict=True))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _day(text: str) -> int:
    from datetime import date

    return (date.fromisoformat(text) - date(1970, 1, 1)).days
