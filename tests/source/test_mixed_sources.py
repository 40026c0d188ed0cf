"""Mixed sources (METRICS.md §1): ``source.url`` beside ``source.files``.

The demo's shop tables stay in a database (SQLite, PostgreSQL) and its event log comes
as a CSV or Parquet file: every family is built, each on the engine holding its main
table, and metrics.json, the KPI history and the freshness fingerprint are those of the
whole demo in one SQLite file (rule ``mixed-sources``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import config_from_dict
from reportgen.delivery.freshness import data_fingerprint
from reportgen.errors import SourceError
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics, default_period
from reportgen.report.trends import kpi_history
from reportgen.source.connection import open_source

SEGMENTS = ["signup_channel", "loyalty_tier", "clv_bucket", "age_band"]
PERIOD = month_period("2026-10")
NOW = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from reportgen.demo.shop import generate_demo

    path = tmp_path_factory.mktemp("mixed") / "demo.sqlite"
    generate_demo(path, seed=11, scale=0.05, end=date(2026, 11, 1))
    return path


@pytest.fixture(scope="module")
def split(demo, tmp_path_factory) -> Path:
    """The demo without its events table, and the events as CSV and Parquet beside it."""
    folder = tmp_path_factory.mktemp("split")
    shop = folder / "shop.sqlite"
    shutil.copy(demo, shop)
    with sqlite3.connect(shop) as db:
        db.execute("drop table events")
    frame = _frame(demo, "events")
    with duckdb.connect() as db:
        db.register("frame", frame)
        db.execute(f"copy frame to '{folder / 'events.parquet'}' (format parquet)")
    frame.to_csv(folder / "events.csv", index=False)
    return folder


def _frame(path: Path, table: str):
    import pandas as pd

    with sqlite3.connect(path) as db:
        return pd.read_sql(f"select * from {table}", db)


def _config(source: dict, base_dir: Path):
    return config_from_dict({"source": source, "segments": SEGMENTS}, base_dir=base_dir)


def _everything(config) -> str:
    metrics = compute_metrics(config, PERIOD, now=NOW)
    history = kpi_history(config, PERIOD, count=4, metrics=metrics)
    fingerprint = data_fingerprint(config, NOW)
    return json.dumps(
        {"metrics": metrics, "history": history, "fingerprint": fingerprint},
        sort_keys=True,
        indent=1,
    )


@pytest.fixture(scope="module")
def expected(demo) -> str:
    return _everything(_config({"url": f"sqlite:///{demo}"}, demo.parent))


@pytest.mark.parametrize("events", ["events.csv", "events.parquet"])
def test_sqlite_beside_an_event_file_gives_the_one_engine_metrics(split, expected, events):
    config = _config({"url": "sqlite:///shop.sqlite", "files": {"events": events}}, split)
    got = _everything(config)
    for family in ("events", "carts", "experiments", "marketing"):
        assert f'"{family}.' in got, family
    assert got == expected
    assert default_period(config, "month") == default_period(
        _config({"url": "sqlite:///shop.sqlite"}, split), "month"
    )


def test_each_section_runs_on_the_engine_holding_its_main_table(split):
    config = _config({"url": "sqlite:///shop.sqlite", "files": {"events": "events.csv"}}, split)
    with open_source(config) as source:
        assert source.dialect == "sqlite"
        assert source.holding("events").dialect == "duckdb"
        assert source.holding("carts") is source
        assert not source.has_table("events")
        assert source.holding("events").has_table("events")


def test_postgresql_beside_an_event_file(split, expected, postgres_url, tmp_path):
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("drop database if exists mixed_shop")
        conn.exec_driver_sql("create database mixed_shop")
    admin.dispose()
    url = postgres_url.rsplit("/", 1)[0] + "/mixed_shop"
    source = tmp_path / "source.yaml"
    source.write_text(f"source:\n  url: sqlite:///{split / 'shop.sqlite'}\n")
    result = CliRunner().invoke(main, ["load", str(source), "--to", url, "--quiet"])
    assert result.exit_code == 0, result.output
    config = _config({"url": url, "files": {"events": "events.parquet"}}, split)
    assert _everything(config) == expected


def test_reportgen_load_copies_both_engines_tables(split, demo, tmp_path):
    config = tmp_path / "mixed.yaml"
    config.write_text(
        f"source:\n  url: sqlite:///{split / 'shop.sqlite'}\n"
        f"  files:\n    events: {split / 'events.csv'}\n"
    )
    target = tmp_path / "all.sqlite"
    result = CliRunner().invoke(main, ["load", str(config), "--to", f"sqlite:///{target}"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as db, sqlite3.connect(demo) as original:
        for table in ("events", "carts", "orders"):
            count = f"select count(*) from {table}"
            assert db.execute(count).fetchone() == original.execute(count).fetchone()


def test_a_files_entry_for_a_table_the_database_has_is_refused(demo, split):
    config = _config({"url": f"sqlite:///{demo}", "files": {"events": "events.csv"}}, split)
    with pytest.raises(SourceError) as raised:
        compute_metrics(config, PERIOD)
    message = str(raised.value)
    assert "source.files.events: the database at source.url has table 'events' too" in message
    assert "drop the files entry or the table" in message


def test_tables_a_section_reads_together_must_share_an_engine(demo, tmp_path):
    shop = tmp_path / "shop.sqlite"
    shutil.copy(demo, shop)
    _frame(demo, "orders").to_csv(tmp_path / "orders.csv", index=False)
    with sqlite3.connect(shop) as db:
        db.execute("drop table orders")
    config = _config({"url": "sqlite:///shop.sqlite", "files": {"orders": "orders.csv"}}, tmp_path)
    with pytest.raises(SourceError) as raised:
        compute_metrics(config, PERIOD, sections=["carts"])
    assert (
        "source.files: carts is read from source.url and orders from source.files, but "
        "carts, cart_items, orders are read together" in str(raised.value)
    )
    # The marketing family reads orders alone: it runs on the file.
    metrics = compute_metrics(config, PERIOD, sections=["marketing"])
    everything = compute_metrics(
        _config({"url": f"sqlite:///{demo}"}, tmp_path), PERIOD, sections=["marketing"]
    )
    assert metrics["kpis"] == everything["kpis"]
