"""``reportgen load``: a canonical dataset copied into another database gives the same
metrics, value for value, a table at a time."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from conftest import assert_clean_failure
from reportgen.cli import main
from reportgen.config import config_from_dict
from reportgen.errors import SourceError
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics
from reportgen.sections import canonical_tables
from reportgen.source import load as load_module
from reportgen.source.load import MANIFEST, load_dataset, manifest_rows

PERIOD = month_period("2026-10")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from reportgen.demo.shop import generate_demo

    path = tmp_path_factory.mktemp("load") / "demo.sqlite"
    generate_demo(path, seed=11, scale=0.05, end=date(2026, 11, 1))
    return path


def _config(tmp_path: Path, **source) -> object:
    return config_from_dict({"source": source}, base_dir=tmp_path)


def _metrics(url: str, tmp_path: Path) -> str:
    config = _config(tmp_path, url=url)
    return json.dumps(compute_metrics(config, PERIOD), sort_keys=True)


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_loaded_demo_gives_the_same_metrics(demo, tmp_path, kind):
    url = f"{kind}:///{tmp_path / f'copy.{kind}'}"
    report = load_dataset(_config(tmp_path, url=f"sqlite:///{demo}"), url)
    with sqlite3.connect(demo) as db:
        present = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert [t.name for t in report.loaded] == [t for t in canonical_tables() if t in present]
    assert report.absent == ()
    assert _metrics(url, tmp_path) == _metrics(f"sqlite:///{demo}", tmp_path)
    assert {row["table_name"]: row["row_count"] for row in manifest_rows(url)} == {
        t.name: t.rows for t in report.loaded
    }


def test_a_loaded_demo_in_postgresql_gives_the_same_metrics(demo, tmp_path, postgres_url):
    load_dataset(_config(tmp_path, url=f"sqlite:///{demo}"), postgres_url)
    assert _metrics(postgres_url, tmp_path) == _metrics(f"sqlite:///{demo}", tmp_path)


def test_a_copy_that_postgresql_refuses_is_a_clear_error_and_keeps_the_old_table(
    demo, tmp_path, postgres_url, monkeypatch
):
    """Loads into PostgreSQL stream through COPY: a row it refuses fails the load as a
    clear error naming the table, and leaves the previous table whole."""
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("drop schema if exists copied cascade")
        conn.exec_driver_sql("create schema copied")
    engine.dispose()
    url = f"{postgres_url}?options=-csearch_path%3Dcopied"
    source = _config(tmp_path, url=f"sqlite:///{demo}")
    load_dataset(source, url, tables=["orders"])
    plan = load_module._column_plan

    def text_as_bigint(source, info, target):
        found = plan(source, info, target)
        if info.canonical == "orders":  # order_date is text: COPY cannot read it as bigint
            found["order_date"] = (found["order_date"][0], sa.BigInteger())
        return found

    monkeypatch.setattr(load_module, "_column_plan", text_as_bigint)
    with pytest.raises(SourceError, match=r"\(table orders\): .*bigint"):
        load_dataset(source, url, tables=["orders"])
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        count = conn.exec_driver_sql("select count(*) from orders").scalar()
    engine.dispose()
    assert names == {"orders", MANIFEST}  # no staging table left behind
    assert count == 1237  # the previous load's orders, whole


def test_csv_files_load_as_text_and_keep_their_metrics(demo, tmp_path):
    import pandas as pd

    files = {}
    with sqlite3.connect(demo) as db:
        for table in ("carts", "cart_items", "orders", "customers", "products"):
            path = tmp_path / f"{table}.csv"
            pd.read_sql(f"select * from {table}", db).to_csv(path, index=False)
            files[table] = path.name
    source = config_from_dict({"source": {"files": files}}, base_dir=tmp_path)
    url = f"sqlite:///{tmp_path / 'from-csv.db'}"
    report = load_dataset(source, url)
    assert report.absent == tuple(t for t in canonical_tables() if t not in files)
    with sqlite3.connect(tmp_path / "from-csv.db") as db:
        kinds = {r[0] for r in db.execute("select distinct typeof(created_at) from carts")}
    assert kinds == {"text"}
    expected = json.dumps(compute_metrics(source, PERIOD), sort_keys=True)
    assert _metrics(url, tmp_path) == expected


def test_a_mixed_sqlite_column_keeps_each_value(make_db, tmp_path):
    db = make_db(
        carts=[(1, "u1", "2024-03-01 10:00:00", "abandoned"), ("c2", "u1", 20240302, "x")],
        cart_items=[(1, 7, 2, 9.5), ("c2", "7", "2", "9.50")],
    )
    source = _config(tmp_path, url=f"sqlite:///{db}")
    load_dataset(source, f"sqlite:///{tmp_path / 'copy.db'}")
    query = "select typeof(cart_id), cart_id, typeof(created_at) from carts order by 2"
    with sqlite3.connect(db) as before, sqlite3.connect(tmp_path / "copy.db") as after:
        assert after.execute(query).fetchall() == before.execute(query).fetchall()
    load_dataset(source, f"duckdb:///{tmp_path / 'copy.duckdb'}")
    with duckdb.connect(str(tmp_path / "copy.duckdb")) as conn:
        # Mixed columns become text, as SQLite prints them (what cast(... as text) reads).
        found = conn.execute("select cart_id, created_at from carts order by 1").fetchall()
        assert found == [("1", "2024-03-01 10:00:00"), ("c2", "20240302")]
        typed = conn.execute("select quantity from cart_items order by 1").fetchall()
        assert typed == [("2",), ("2",)]


def test_indexes_are_created_where_the_engine_has_them(demo, tmp_path):
    target = tmp_path / "copy.db"
    report = load_dataset(_config(tmp_path, url=f"sqlite:///{demo}"), f"sqlite:///{target}")
    indexes = {t.name: t.indexes for t in report.loaded}
    assert indexes["carts"] == ("rg_carts_cart_id", "rg_carts_created_at", "rg_carts_customer_id")
    assert indexes["events"] == ("rg_events_event_time",)
    with sqlite3.connect(target) as db:
        found = {r[0] for r in db.execute("select name from sqlite_master where type = 'index'")}
    assert {name for names in indexes.values() for name in names} <= found


def test_a_failed_table_leaves_the_old_one_and_says_what_was_loaded(demo, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    source = _config(tmp_path, url=f"sqlite:///{demo}")
    load_dataset(source, url, tables=["orders"])
    insert = load_module._insert

    def failing(target, table, names, chunk):
        if table.name.endswith("orders"):
            raise sa.exc.OperationalError("insert", {}, Exception("disk full"))
        insert(target, table, names, chunk)

    monkeypatch.setattr(load_module, "_insert", failing)
    loaded = []
    with pytest.raises(SourceError, match=r"load into .*copy\.db \(table orders\): .*disk full"):
        load_dataset(source, url, tables=["carts", "orders"], done=loaded.append)
    assert [t.name for t in loaded] == ["carts"]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        count = conn.exec_driver_sql("select count(*) from orders").scalar()
    engine.dispose()
    assert names == {"carts", "orders", MANIFEST}  # no staging table left behind
    assert count == 1237  # the previous load's orders, whole
    assert sorted(r["table_name"] for r in manifest_rows(url)) == ["carts", "orders"]


def test_a_killed_load_leaves_a_staging_table_the_next_load_drops(demo, tmp_path):
    target = tmp_path / "copy.db"
    with sqlite3.connect(target) as db:
        db.execute("create table rg_loading_carts (cart_id)")  # what a SIGKILL leaves
    load_dataset(
        _config(tmp_path, url=f"sqlite:///{demo}"), f"sqlite:///{target}", tables=["carts"]
    )
    with sqlite3.connect(target) as db:
        names = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
    assert names == {"carts", MANIFEST}


def test_the_cli_loads_and_reports_each_table(demo, tmp_path):
    config = tmp_path / "source.yaml"
    config.write_text(f"source:\n  url: sqlite:///{demo}\n")
    target = tmp_path / "copy.duckdb"
    result = CliRunner().invoke(
        main, ["load", str(config), "--to", f"duckdb:///{target}", "--quiet", "--table", "carts"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == "carts: 2,505 rows, 3 indexes\n"


def test_the_cli_names_a_missing_table(tmp_path, make_db):
    db = make_db()
    config = tmp_path / "source.yaml"
    config.write_text(f"source:\n  url: sqlite:///{db}\n  tables: {{events: clicks}}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["load", str(config), "--to", f"sqlite:///{out}/x.db", "--table", "events"]
    )
    assert_clean_failure(result, out, "table 'clicks' (canonical 'events') not found")


def test_the_cli_names_an_unusable_url(tmp_path, make_db):
    db = make_db()
    config = tmp_path / "source.yaml"
    config.write_text(f"source:\n  url: sqlite:///{db}\n")
    result = CliRunner().invoke(main, ["load", str(config), "--to", "nosuch://x"])
    assert_clean_failure(result, tmp_path / "out", "--to: cannot use 'nosuch://x'")
