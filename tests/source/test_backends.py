"""The same data gives the same metrics.json on SQLite, DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from conftest import copy_rows
from reportgen.config import config_from_dict
from reportgen.demo.shop import generate_demo
from reportgen.periods import month_period, week_period
from reportgen.report.metrics import compute_metrics

SEGMENTS = ["signup_channel", "loyalty_tier", "clv_bucket", "age_band"]


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backends") / "demo.sqlite"
    generate_demo(path, seed=11, scale=0.05, end=date(2026, 11, 1))
    return path


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    with sqlite3.connect(path) as conn:
        names = [
            r[0]
            for r in conn.execute("select name from sqlite_master where type = 'table'")
            if not r[0].startswith("sqlite_")
        ]
        return {name: pd.read_sql(f'select * from "{name}"', conn) for name in names}


def _metrics(url: str, period) -> str:
    config = config_from_dict({"source": {"url": url}, "segments": SEGMENTS})
    return json.dumps(compute_metrics(config, period), sort_keys=True, indent=1)


PERIODS = [month_period("2026-10"), week_period("2026-W40")]


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_duckdb_matches_sqlite(demo_sqlite, tmp_path, period):
    target = tmp_path / "demo.duckdb"
    with duckdb.connect(str(target)) as conn:
        for name, frame in _tables(demo_sqlite).items():
            conn.register("frame", frame)
            conn.execute(f'create table "{name}" as select * from frame')
            conn.unregister("frame")
    expected = _metrics(f"sqlite:///{demo_sqlite}", period)
    assert _metrics(f"duckdb:///{target}", period) == expected


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_postgresql_matches_sqlite(demo_sqlite, postgres_url, period):
    engine = sa.create_engine(postgres_url)
    for name, frame in _tables(demo_sqlite).items():
        frame.to_sql(name, engine, index=False, if_exists="replace", method=copy_rows)
    engine.dispose()
    expected = _metrics(f"sqlite:///{demo_sqlite}", period)
    assert _metrics(postgres_url, period) == expected


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_csv_and_parquet_files_match_sqlite(demo_sqlite, tmp_path, suffix):
    files = {}
    for name, frame in _tables(demo_sqlite).items():
        path = tmp_path / f"{name}.{suffix}"
        if suffix == "csv":
            frame.to_csv(path, index=False)
        else:
            with duckdb.connect() as conn:
                conn.register("frame", frame)
                conn.execute(f"copy frame to '{path}' (format parquet)")
        files[name] = path.name
    config = config_from_dict({"source": {"files": files}, "segments": SEGMENTS}, base_dir=tmp_path)
    period = PERIODS[0]
    got = json.dumps(compute_metrics(config, period), sort_keys=True, indent=1)
    assert got == _metrics(f"sqlite:///{demo_sqlite}", period)


def test_a_missing_file_is_a_clear_error(tmp_path):
    from reportgen.errors import SourceError

    config = config_from_dict({"source": {"files": {"carts": "nope-*.csv"}}}, base_dir=tmp_path)
    with pytest.raises(SourceError, match=r"source.files.carts: no file matches .*nope-\*\.csv"):
        compute_metrics(config, PERIODS[0])


def _zone_aware(statements) -> None:
    """Turn created_at and order_date into zone-aware timestamp columns, read as UTC."""
    for table, column in (("carts", "created_at"), ("orders", "order_date")):
        statements(table, column)


@pytest.mark.parametrize("period", PERIODS[:1], ids=lambda p: p.label)
def test_zone_aware_timestamp_columns_read_as_their_instants(
    demo_sqlite, tmp_path, postgres_url, period
):
    expected = _metrics(f"sqlite:///{demo_sqlite}", period)

    target = tmp_path / "zoned.duckdb"
    with duckdb.connect(str(target)) as conn:
        conn.execute("set TimeZone = 'UTC'")
        for name, frame in _tables(demo_sqlite).items():
            conn.register("frame", frame)
            conn.execute(f'create table "{name}" as select * from frame')
            conn.unregister("frame")
        _zone_aware(
            lambda table, column: conn.execute(
                f"alter table {table} alter {column} type timestamptz "
                f"using cast({column} as timestamptz)"
            )
        )
    assert _metrics(f"duckdb:///{target}", period) == expected

    engine = sa.create_engine(postgres_url)
    for name, frame in _tables(demo_sqlite).items():
        frame.to_sql(name, engine, index=False, if_exists="replace", method=copy_rows)
    with engine.begin() as conn:
        conn.exec_driver_sql("set timezone = 'UTC'")
        _zone_aware(
            lambda table, column: conn.exec_driver_sql(
                f"alter table {table} alter column {column} type timestamptz "
                f"using {column}::timestamptz"
            )
        )
    engine.dispose()
    assert _metrics(postgres_url, period) == expected
