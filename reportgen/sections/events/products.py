"""Product names and categories for the event tables, from the optional products table.

An event log names a product by its id only: "1047 (316 views)" tells a director nothing.
When the source has a products table, each product row of the section's tables gains the
product's ``name`` and ``category`` (rule ``events-product-names``); without one, or for an
id missing from it, both are null and the report shows the id.
"""

from __future__ import annotations

from typing import Any

from reportgen.sections.events.kpis import PRODUCT_TABLES
from reportgen.source.connection import Source
from reportgen.source.query import rows
from reportgen.source.sqlexpr import Expr

_CHUNK = 500
"""Ids looked up per query: bind lists stay far below every engine's limit."""


def add_product_names(source: Source, expr: Expr, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Give every row of the product tables its ``name`` and ``category`` (null if unknown),
    right after its ``product_id``."""
    found = _catalog(source, expr, tables)
    for key in PRODUCT_TABLES:
        if key not in tables:
            continue
        named = []
        for row in tables[key]:
            name, category = found.get(str(row["product_id"]), (None, None))
            # ``**row`` repeats product_id, which keeps its first place: the columns stay
            # product_id, name, category, then the row's own.
            named.append(
                {"product_id": row["product_id"], "name": name, "category": category, **row}
            )
        tables[key] = named


def _catalog(
    source: Source, expr: Expr, tables: dict[str, list[dict[str, Any]]]
) -> dict[str, tuple[Any, Any]]:
    """Return id → (name, category) for the product ids of ``tables`` the products table
    lists (none, and no ids gathered, without a products table).

    Duplicate ids collapse as the cart section collapses them (METRICS.md §8): each
    attribute the maximum non-null value, as text.
    """
    source = source.lookup("products")  # with mixed sources it may be the other engine
    if not source.usable("products"):
        return {}
    wanted = sorted({str(r["product_id"]) for key in PRODUCT_TABLES for r in tables.get(key, ())})
    if not wanted:
        return {}
    if source.dialect != expr.dialect:
        expr = Expr(source.dialect, expr.timezone)
    products = source.table("products")
    columns = products.columns
    product_id = expr.id_text(columns["product_id"])

    def attribute(column: str) -> str:
        if column not in columns:
            return expr.null_text()
        return f"max({expr.strip(columns[column])})"

    out: dict[str, tuple[Any, Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        for row in rows(
            source.connection,
            f"""
            select {product_id} as product_id, {attribute("name")} as name,
                   {attribute("category")} as category
            from {products.sql}
            where {product_id} in :ids
            group by {product_id}
        """,
            ids=wanted[start : start + _CHUNK],
        ):
            out[str(row["product_id"])] = (row["name"], row["category"])
    return out
