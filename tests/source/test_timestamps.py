"""Every engine's fast timestamp path agrees with the §8 reference parser, value by value.

The SQL fast paths (SQLite string functions, DuckDB strptime) exist for speed; the Python
``parse_timestamp`` is the reading of METRICS.md §8. Odd values must take the slow path or
be rejected exactly as the reference does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from reportgen.source.sqlexpr import (
    Expr,
    duckdb_local_instant,
    duckdb_slow_timestamps,
    duckdb_timestamps,
    parse_timestamp,
    register_functions,
)

VALUES = [
    "2020-09-24 11:57:06 UTC",
    "2020-09-24T11:57:06Z",
    "2020-09-24 11:57:06.123456 UTC",
    "2020-09-24 11:57 UTC",
    "2020-09-24 UTC",
    "2020-09-24 11:57:06 utc",
    " 2020-09-24 11:57:06 UTC ",
    "2020-09-24 11:57:06+01:00",
    "2020-02-30 11:57:06",
    "2020-02-30 11:57:06 UTC",
    "2021-02-29",
    "2020-02-29 23:59",
    "2020-01-01 24:00:00",
    "2020-01-01  1:00:05",
    "2020-01-01 1:00:05 ",
    "2020-1-01 10:00:00Z",
    "2020-01-01 10:00:05.5",
    "2021-03-28 01:30:00",
    "2021-10-31 01:30:00",
    "yesterday",
    "",
    None,
]
ZONES = ["UTC", "Europe/London"]
EPOCH = datetime(1970, 1, 1)


def _reference(value: str | None, zone: str) -> tuple[str, int] | None:
    return parse_timestamp(None if value is None else value.strip(), zone)


@pytest.mark.parametrize("zone", ZONES)
def test_sqlite_with_timestamps_matches_the_reference(zone: str) -> None:
    engine = sa.create_engine("sqlite://")
    expr = Expr("sqlite", zone)
    with engine.connect() as conn:
        register_functions(conn)
        parsed = expr.with_timestamps(f"select {expr.strip('v')} as x from (select ? as v)")
        for value in VALUES:
            found = conn.exec_driver_sql(f"select local, epoch_us from ({parsed})", (value,))
            local, epoch = found.one()
            expected = _reference(value, zone)
            assert (local, epoch) == (expected or (None, None)), value
            unparsed = conn.exec_driver_sql(
                f"select {expr.unparsed('v')} from (select ? as v)", (value,)
            ).scalar()
            assert unparsed == (expected is None), value


SUFFIXED = [
    "2020-09-24T11:57:06 UTC",
    "2020-09-24 11:57:06Z",
    "2020-09-24T11:57:06.123456Z",
    "2020-09-24 11:57:06.123456Z",
    "2020-09-24T11:57:06.123456 UTC",
    "2020-02-30T11:57:06Z",
    "2020-02-30 11:57:06.000001 UTC",
    "2020-09-24 11:57:06.12345Z",
    "2020-09-24 11:57:06.1234567 UTC",
    "2020-09-24 11:57:06.12345a UTC",
    "2020-09-24T11:57:06TUTC",
    "2020-09-24 11:57:06 UTC ",
    " 2020-09-24T11:57:06Z",
    "0000-06-01 00:00:00Z",
    "0001-01-01 00:00:00 UTC",
    "0002-01-01 00:00:00 UTC",
    "9998-12-31 23:59:59Z",
    "9999-01-01 00:00:00Z",
    "2020-09-24 24:00:00 UTC",
    "2020-09-24 11:60:06Z",
]


@pytest.mark.parametrize("zone", ZONES)
def test_sqlite_parsed_rows_read_raw_values_as_the_stripped_parse_does(zone: str) -> None:
    """``parsed_rows``, ``local_seconds`` and ``unparsed`` test the raw value before any
    strip (UTC): every value, of every storage type, gets the reference's time, as
    ``with_timestamps`` gives it."""
    engine = sa.create_engine("sqlite://")
    expr = Expr("sqlite", zone)
    typed: list[object] = [20200924, 2459580.5, b"2020-09-24 11:57:06 UTC", b"2020-09-24"]
    with engine.connect() as conn:
        register_functions(conn)
        parsed = expr.parsed_rows("v", "v", "from (select ? as v)")
        stripped = expr.with_timestamps(f"select {expr.strip('v')} as x from (select ? as v)")
        for value in VALUES + SUFFIXED + typed:
            found = conn.exec_driver_sql(f"select local, epoch_us from ({parsed})", (value,))
            local, epoch = found.one()
            if not isinstance(value, (int, float, bytes)):
                expected = _reference(value, zone)
                assert (local, epoch) == (expected or (None, None)), value
            same = conn.exec_driver_sql(f"select local, epoch_us from ({stripped})", (value,))
            assert (local, epoch) == same.one(), value
            seconds, unparsed = conn.exec_driver_sql(
                f"select {expr.local_seconds('v')}, {expr.unparsed('v')} from (select ? as v)",
                (value,),
            ).one()
            assert unparsed == (local is None), value
            if zone == "UTC":  # elsewhere naive text is kept as written, a gap's time too
                assert seconds == (local and local[:19]), value


@pytest.mark.parametrize("zone", ZONES)
def test_duckdb_native_then_slow_path_matches_the_reference(zone: str) -> None:
    engine = sa.create_engine("duckdb:///:memory:")
    native, zoned, text = duckdb_timestamps("v", "varchar", zone)
    local, instant = duckdb_local_instant("native", "zoned", zone)
    slow_local, slow_instant = duckdb_slow_timestamps("text_", zone)
    with engine.connect() as conn:
        register_functions(conn)
        for value in VALUES:
            row = conn.exec_driver_sql(
                f"""
                select coalesce({local}, case when text_ is not null then {slow_local} end),
                       coalesce({instant}, case when text_ is not null then {slow_instant} end)
                from (select {native} as native, {zoned} as zoned, {text} as text_
                      from (select cast(? as varchar) as v))
            """,
                (value,),
            ).one()
            expected = _reference(value, zone)
            shown = None if row[0] is None else row[0].strftime("%Y-%m-%d %H:%M:%S.%f")
            assert shown == (expected[0] if expected else None), value
            if expected:
                assert (row[1] - EPOCH) // timedelta(microseconds=1) == expected[1], value
