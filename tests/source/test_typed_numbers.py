"""``Source.number``: DuckDB columns typed as numbers are cast, not read through their text,
and only where that gives every value exactly the number its text gives (METRICS.md §8)."""

from __future__ import annotations

import duckdb
import pytest

from reportgen.config import config_from_dict
from reportgen.source.connection import _reads_as_double, open_source
from reportgen.source.sqlexpr import Expr

SPREAD = "(random() - 0.5) * pow(10, cast(random() * 24 - 8 as integer))"
"""Values from 1e-8 to 1e16 of both signs: long fractions, and integers beyond 2^53."""

VALUES = {
    "bigint": f"cast({SPREAD} as bigint)",
    "integer": "cast((random() - 0.5) * 4e9 as integer)",
    "ubigint": "cast(random() * 1.8e19 as ubigint)",
    "double": SPREAD,
    "decimal(18,6)": f"cast({SPREAD} / 1e4 as decimal(18, 6))",
    "decimal(10,2)": "cast((random() - 0.5) * 1e6 as decimal(10, 2))",
    "decimal(30,6)": f"cast({SPREAD} as decimal(30, 6))",
    "float": "cast(random() as float)",
}


@pytest.mark.parametrize("kind", list(VALUES))
def test_a_cast_column_reads_as_the_number_its_text_reads_as(kind):
    expr = Expr("duckdb", "UTC")
    with duckdb.connect() as db:
        db.execute(f"create table t as select {VALUES[kind]} as x from range(300000)")
        if kind == "double":
            db.execute("insert into t values ('nan'), ('-inf'), ('-0.0'), (1e300), (5e-324)")
        found = db.execute("select lower(typeof(x)) from t limit 1").fetchone()[0]
        differ = db.execute(
            f"select count(*) from t where cast(x as double) is distinct from {expr.number('x')}"
        ).fetchone()[0]
    assert found == kind
    if _reads_as_double(found):
        assert differ == 0
    else:  # kept on the text route; a float's cast is not the number its text reads as
        assert kind in ("float", "decimal(30,6)")
        assert kind != "float" or differ > 0


def test_a_typed_source_column_is_cast_and_a_text_one_coerced(tmp_path):
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute(
            "create table cart_items as select cast(range as varchar) as cart_id, "
            "range as product_id, cast(2 as bigint) as quantity, "
            "cast(' 9.99' as varchar) as unit_price from range(3)"
        )
    config = config_from_dict({"source": {"url": f"duckdb:///{path}"}})
    with open_source(config) as source:
        expr = Expr("duckdb", "UTC")
        columns = source.table("cart_items").columns
        quantity = source.number(expr, "cart_items", "quantity")
        price = source.number(expr, "cart_items", "unit_price")
        assert quantity == f"cast({columns['quantity']} as double)"
        assert price == expr.number(columns["unit_price"])
        row = source.connection.exec_driver_sql(
            f"select sum({quantity}), max({price}) from cart_items"
        ).one()
    assert tuple(row) == (6.0, 9.99)
