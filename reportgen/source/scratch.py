"""Scratch tables: a section's intermediate results, built once and read several times.

SQLite, DuckDB and PostgreSQL have session temp tables (``create temp table … as``),
which take bound parameters where a view does not (SQLite, PostgreSQL). Spark has no
temporary table: ``cache table X as select …`` computes the select once into a cached
temporary view (a plain view would be recomputed at every use). Spark keeps a cached
view's plan, which names the views it reads: drop a scratch table only when nothing
built from it is still read (sections drop their leftovers before they start).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from reportgen.source.query import execute


def create_scratch(conn: Connection, name: str, select: str, **params: Any) -> None:
    """Create scratch table ``name`` from ``select`` (dropping a leftover one first)."""
    drop_scratch(conn, name)
    if conn.dialect.name == "spark":
        execute(conn, f"cache table {name} as {select}", **params)
    else:
        execute(conn, f"create temp table {name} as {select}", **params)


def drop_scratch(conn: Connection, name: str) -> None:
    """Drop scratch table ``name`` if it is there (Spark: its cache too)."""
    execute(conn, f"drop table if exists {name}")


def index_scratch(conn: Connection, index: str, table: str, columns: str) -> None:
    """Index a scratch table where the engine has indexes (Spark has none)."""
    if getattr(conn.dialect, "has_indexes", True):
        execute(conn, f"create index {index} on {table} ({columns})")
