"""Spark SQL through Spark Connect: the dialect offline, then against a real local server."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from reportgen.config import config_from_dict
from reportgen.errors import SourceError
from reportgen.source.connection import engine_for, open_source
from reportgen.source.query import rows
from reportgen.source.spark import SparkDialect, _inline_nulls, spark_url

# -- offline: what the dialect writes -------------------------------------------------------


def _sql(statement) -> str:
    compiled = statement.compile(
        dialect=SparkDialect(), compile_kwargs={"render_postcompile": True}
    )
    return str(compiled)


def test_identifiers_are_backticked_and_limits_literal():
    table = sa.table("order", sa.column("cart`id"), sa.column("date"))
    sql = _sql(sa.select(table).limit(5).offset(10))
    assert "FROM `order`" in sql
    assert "`order`.`cart``id`" in sql
    assert sql.endswith("LIMIT 5 \nOFFSET 10")


def test_create_table_uses_spark_types_and_refuses_temporary_tables():
    metadata = sa.MetaData()
    table = sa.Table(
        "t",
        metadata,
        sa.Column("a", sa.String(20)),
        sa.Column("b", sa.BigInteger),
        sa.Column("c", sa.Double),
        sa.Column("d", sa.DateTime),
        sa.Column("e", sa.Numeric(10, 2)),
    )
    ddl = _sql(sa.schema.CreateTable(table))
    columns = [line.strip().rstrip(",") for line in ddl.splitlines()[2:7]]
    assert columns == [
        "`a` STRING",
        "`b` BIGINT",
        "`c` DOUBLE",
        "`d` TIMESTAMP_NTZ",
        "`e` DECIMAL(10, 2)",
    ]
    temporary = sa.Table("tmp", metadata, sa.Column("a", sa.String), prefixes=["TEMPORARY"])
    with pytest.raises(sa.exc.CompileError, match="temporary view"):
        _sql(sa.schema.CreateTable(temporary))
    with pytest.raises(sa.exc.CompileError, match="no indexes"):
        _sql(sa.schema.CreateIndex(sa.Index("ix", table.c.a)))


def test_sc_urls_map_to_the_dialect_with_headers_kept():
    assert spark_url("sc://localhost:15002") == "spark+connect://localhost:15002"
    url = sa.engine.make_url(spark_url("sc://h:443/;token=t0k;x-databricks-cluster-id=c1"))
    assert (url.host, url.port, url.query["x-databricks-cluster-id"]) == ("h", 443, "c1")
    args, kwargs = SparkDialect().create_connect_args(url)
    assert args == ["sc://h:443/;x-databricks-cluster-id=c1"]  # the token is not in the URI
    assert kwargs == {"token": "t0k"}


def test_session_settings_and_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("REPORTGEN_SPARK_TOKEN", "from-env")
    dialect = SparkDialect()
    url = sa.engine.make_url("spark+connect://h:1/sales?spark.sql.ansi.enabled=false&use_ssl=1")
    args, kwargs = dialect.create_connect_args(url)
    assert args == ["sc://h:1"]
    assert kwargs == {"token": "from-env", "use_ssl": True}
    assert dialect.session_conf == {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",
    }
    assert dialect.default_schema == "sales"


def test_a_null_parameter_is_written_as_null_outside_literals():
    sql, kept = _inline_nulls("select ?, '?', `a?`, ? -- ?\n, ?", [1, None, "x"])
    assert sql == "select ?, '?', `a?`, NULL -- ?\n, ?"
    assert kept == [1, "x"]


def test_a_schema_path_in_an_sc_string_is_refused_not_dropped(tmp_path):
    config = config_from_dict({"source": {"url": "sc://h:15002/sales"}}, base_dir=tmp_path)
    with pytest.raises(SourceError, match=r"'sales' in 'sc://h:15002/sales' is not key=value"):
        engine_for(config)
    assert spark_url("sc://h:15002/;use_ssl=true") == "spark+connect://h:15002?use_ssl=true"


def test_engine_for_reads_sc_urls(tmp_path):
    config = config_from_dict({"source": {"url": "sc://127.0.0.1:15002"}}, base_dir=tmp_path)
    assert engine_for(config).dialect.name == "spark"


# -- against a local Spark Connect server ---------------------------------------------------


def test_parameters_lists_and_nulls_round_trip(spark_url):
    engine = sa.create_engine(spark_url)
    with engine.connect() as conn:
        found = rows(
            conn,
            "select :n as n, :x as x, :f as f, :none as none, 'a:b' as t, "
            "case when 'b' in :names then 1 else 0 end as listed",
            n=3,
            x="it's",
            f=0.1,
            none=None,
            names=["a", "b"],
        )
    engine.dispose()
    assert found == [{"n": 3, "x": "it's", "f": 0.1, "none": None, "t": "a:b", "listed": 1}]


def test_source_lists_tables_and_views_and_maps_columns(spark_url, tmp_path):
    engine = sa.create_engine(spark_url)
    with engine.connect() as conn:
        conn.exec_driver_sql("drop table if exists shop_carts")
        conn.exec_driver_sql("create table shop_carts (id string, who string, at string, s string)")
        conn.exec_driver_sql("insert into shop_carts values ('c1', 'u1', '2024-03-01', 'ok')")
        assert "shop_carts" in sa.inspect(conn).get_table_names()
    engine.dispose()
    config = config_from_dict(
        {
            "source": {
                "url": spark_url,
                "tables": {"carts": "shop_carts"},
                "columns": {
                    "carts": {
                        "cart_id": "id",
                        "customer_id": "who",
                        "created_at": "at",
                        "status": "s",
                    }
                },
                "views": {
                    "orders": "select 'o1' as order_id, 'u1' as customer_id, "
                    "'2024-03-02' as order_date"
                },
            }
        },
        base_dir=tmp_path,
    )
    with open_source(config) as source:
        carts = source.table("carts")
        assert carts.sql == "`shop_carts`"
        assert carts.columns["created_at"] == "`at`"
        orders = source.table("orders")
        found = rows(source.connection, f"select order_id from {orders.sql}")
        assert found == [{"order_id": "o1"}]


def test_a_spark_error_is_one_clear_line(spark_url, tmp_path):
    config = config_from_dict(
        {"source": {"url": spark_url, "views": {"carts": "select * from no_such_table"}}},
        base_dir=tmp_path,
    )
    with pytest.raises(SourceError) as raised, open_source(config):
        pass
    message = str(raised.value)
    assert "source.views.carts: the SQL failed: [TABLE_OR_VIEW_NOT_FOUND]" in message
    assert "\n" not in message


def test_an_unreachable_server_names_the_url(tmp_path):
    from conftest import free_port

    url = f"sc://127.0.0.1:{free_port()}"
    config = config_from_dict({"source": {"url": url}}, base_dir=tmp_path)
    pytest.importorskip("adbc_driver_spark")
    with pytest.raises(SourceError, match=f"cannot reach Spark Connect at {url}: connection"):
        with open_source(config):
            pass


# -- the demo, loaded into Spark -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> Path:
    from reportgen.demo.shop import generate_demo

    path = tmp_path_factory.mktemp("spark") / "demo.sqlite"
    generate_demo(path, seed=11, scale=0.05, end=date(2026, 11, 1))
    return path


@pytest.fixture(scope="module")
def demo_spark(demo_sqlite, spark_url, tmp_path_factory) -> str:
    from reportgen.source.load import load_dataset

    config = config_from_dict(
        {"source": {"url": f"sqlite:///{demo_sqlite}"}}, base_dir=tmp_path_factory.mktemp("c")
    )
    load_dataset(config, spark_url)
    return spark_url


def test_the_loaded_demo_has_every_value_with_its_type(demo_sqlite, demo_spark):
    engine = sa.create_engine(demo_spark)
    with sqlite3.connect(demo_sqlite) as db, engine.connect() as conn:
        for table in ("carts", "cart_items", "orders", "customers", "products", "events"):
            names = [r[1] for r in db.execute(f"pragma table_info({table})")]
            order = ", ".join(names)
            expected = db.execute(f"select {order} from {table}").fetchall()
            quoted = ", ".join(f"`{n}`" for n in names)
            got = [tuple(r) for r in conn.exec_driver_sql(f"select {quoted} from {table}")]
            # Ints stay ints, floats exact, text as stored (types compared too).
            assert sorted(map(_typed, got)) == sorted(map(_typed, expected)), table
    engine.dispose()


def _typed(row: tuple) -> tuple:
    return tuple((type(v).__name__, "" if v is None else v) for v in row)


# Every family's metrics on Spark against SQLite: tests/source/test_family_parity.py.
