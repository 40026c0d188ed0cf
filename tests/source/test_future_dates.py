"""Timestamps beyond the build's clock are counted per table, the same on every engine.

The build's clock is fixed at 2026-12-01 12:00:00 UTC. By hand:

carts (cart_id, created_at)        UTC     America/New_York (now local 07:00)
  c1 2024-03-05 10:00:00           past    past
  c2 9999-12-31                    future  future
  c3 2027-01-01 00:30:00+01:00     future  future (2026-12-31 23:30 UTC)
  c4 2026-12-01 12:00:00           equal   future (12:00 in New York is 17:00 UTC)
  c5 2026-12-01 12:00:01           future  future
  (NULL) 9999-12-31                not counted: a NULL cart_id is dropped first
  c7 n/a (export error)            unparsed
  -> carts.future_created_at 3 (UTC), 4 (New York); unparsed 1; table rows 7

orders: 9999-12-31 future, 2024-03-06 past, 2026-12-02T00:00:00Z future, garbage unparsed
  -> orders.future_order_date 2 in both zones; unparsed 1; table rows 4

events: 2024-03-05 10:00:00 past; 9999-12-31 00:00:00 future; 2026-12-01 12:00:00.000001
  future (in New York 17:00 UTC: future too); 2026-12-01T13:00:00+01:00 is 12:00 UTC, equal;
  2026-12-01 12:30:00+00:00 future (DuckDB parses a numeric offset in Python); junk unparsed
  -> events.future_event_time 3 in both zones; table rows 6
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

TABLES: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {
    "carts": (
        ("cart_id", "customer_id", "created_at", "status"),
        [
            ("c1", "u1", "2024-03-05 10:00:00", "abandoned"),
            ("c2", "u1", "9999-12-31", "open"),
            ("c3", "u2", "2027-01-01 00:30:00+01:00", "open"),
            ("c4", "u2", "2026-12-01 12:00:00", "open"),
            ("c5", "u3", "2026-12-01 12:00:01", "open"),
            (None, "u3", "9999-12-31", "open"),
            ("c7", "u3", "n/a (export error)", "open"),
        ],
    ),
    "cart_items": (("cart_id", "product_id", "quantity", "unit_price"), [("c1", "p1", "1", "10")]),
    "orders": (
        ("order_id", "customer_id", "order_date"),
        [
            ("o1", "u1", "9999-12-31"),
            ("o2", "u1", "2024-03-06"),
            ("o3", "u2", "2026-12-02T00:00:00Z"),
            ("o4", "u2", "garbage"),
        ],
    ),
    "events": (
        ("event_time", "event_type", "user_id", "session_id", "product_id", "price"),
        [
            ("2024-03-05 10:00:00", "view", "u1", "s1", "p1", "10"),
            ("9999-12-31 00:00:00", "view", "u1", "s1", "p1", "10"),
            ("2026-12-01 12:00:00.000001", "view", "u1", "s1", "p1", "10"),
            ("2026-12-01T13:00:00+01:00", "view", "u1", "s1", "p1", "10"),
            ("2026-12-01 12:30:00+00:00", "view", "u1", "s1", "p1", "10"),
            ("junk", "view", "u1", "s1", "p1", "10"),
        ],
    ),
}

EXPECTED = {
    "UTC": {
        "carts.future_created_at": 3,
        "carts.unparsed_created_at": 1,
        "carts.table_rows": 7,
        "orders.future_order_date": 2,
        "orders.unparsed_order_date": 1,
        "orders.table_rows": 4,
        "events.future_event_time": 3,
        "events.unparsed_event_time": 1,
        "events.table_rows": 6,
    },
}
EXPECTED["America/New_York"] = {**EXPECTED["UTC"], "carts.future_created_at": 4}


def frames() -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame(rows, columns=cols) for name, (cols, rows) in TABLES.items()}


def write(kind: str, folder: Path, postgres_url: str | None = None) -> dict[str, Any]:
    """Write the tables as ``kind`` and return the config's ``source``."""
    if kind == "sqlite":
        path = folder / "shop.db"
        with sqlite3.connect(path) as conn:
            for name, frame in frames().items():
                frame.to_sql(name, conn, index=False)
        return {"url": f"sqlite:///{path}"}
    if kind == "duckdb":
        path = folder / "shop.duckdb"
        with duckdb.connect(str(path)) as conn:
            for name, frame in frames().items():
                conn.register("frame", frame)
                conn.execute(f'create table "{name}" as select * from frame')
                conn.unregister("frame")
        return {"url": f"duckdb:///{path}"}
    if kind in ("csv", "parquet"):
        files = {}
        for name, frame in frames().items():
            path = folder / f"{name}.{kind}"
            if kind == "csv":
                frame.to_csv(path, index=False)
            else:
                with duckdb.connect() as conn:
                    conn.register("frame", frame)
                    conn.execute(f"copy frame to '{path}' (format parquet)")
            files[name] = path.name
        return {"files": files}
    engine = sa.create_engine(postgres_url)
    for name, frame in frames().items():
        frame.to_sql(name, engine, index=False, if_exists="replace")
    engine.dispose()
    return {"url": postgres_url}


def quality(source: dict[str, Any], folder: Path, zone: str) -> dict[str, Any]:
    config = config_from_dict({"source": source, "report": {"timezone": zone}}, base_dir=folder)
    metrics = compute_metrics(config, month_period("2024-03", zone), now=NOW)
    return {key: metrics["data_quality"][key] for key in EXPECTED["UTC"]}


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "csv", "parquet"])
def test_future_dated_rows_are_counted(kind, zone, tmp_path):
    assert quality(write(kind, tmp_path), tmp_path, zone) == EXPECTED[zone]


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_future_dated_rows_on_postgresql(postgres_url, zone, tmp_path):
    assert quality(write("postgresql", tmp_path, postgres_url), tmp_path, zone) == EXPECTED[zone]


def test_a_typed_timestamp_column_is_compared_natively(tmp_path):
    """DuckDB TIMESTAMP event_time: 2 values after 2026-12-01 12:00 (one by a microsecond)."""
    path = tmp_path / "ev.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute(
            "create table events (event_time timestamp, event_type varchar, user_id varchar, "
            "session_id varchar, product_id varchar, price double)"
        )
        conn.execute(
            "insert into events values "
            "('2024-03-05 10:00:00', 'view', 'u1', 's1', 'p1', 10), "
            "('9999-12-31 00:00:00', 'view', 'u1', 's1', 'p1', 10), "
            "('2026-12-01 12:00:00.000001', 'view', 'u1', 's1', 'p1', 10), "
            "('2026-12-01 12:00:00', 'view', 'u1', 's1', 'p1', 10)"
        )
    config = config_from_dict({"source": {"url": f"duckdb:///{path}"}})
    dq = compute_metrics(config, month_period("2024-03"), now=NOW)["data_quality"]
    assert (dq["events.future_event_time"], dq["events.table_rows"]) == (2, 4)


def test_a_9999_date_east_of_utc_is_unparsed_not_a_crash(tmp_path):
    """Was: "string or blob too big" (an OverflowError inside the SQLite parser): the
    instant of 9999-12-31 23:30+05:00 is in year 10000 in Asia/Tokyo."""
    source = write("sqlite", tmp_path)
    with sqlite3.connect(tmp_path / "shop.db") as conn:
        conn.execute("insert into orders values ('o5', 'u3', '9999-12-31 23:30:00+05:00')")
    config = config_from_dict({"source": source, "report": {"timezone": "Asia/Tokyo"}})
    dq = compute_metrics(config, month_period("2024-03", "Asia/Tokyo"), now=NOW)["data_quality"]
    assert dq["orders.unparsed_order_date"] == 2  # garbage, and the year-10000 instant
    assert dq["orders.future_order_date"] == 2
