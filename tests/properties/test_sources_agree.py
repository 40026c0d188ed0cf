"""The same rows give the same metrics.json from a SQLite file and from CSV files.

METRICS.md §1 lets a source be a database or files read through embedded DuckDB; §8
fixes every reading (timestamps, numbers, text, ids) independently of the engine. So
one random shop or event log, written once to SQLite (values typed as drawn: integers,
reals, text) and once as CSV (``source.files``, every value text), must give identical
metrics. Each example runs the whole pipeline twice, once on DuckDB: few examples.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from shopgen import (
    EVENT_COLUMNS,
    cart_configs,
    compute,
    csv_source,
    event_configs,
    event_logs,
    examples,
    shops,
    sqlite_source,
)


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """List the paths where two metrics.json values differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'sqlite' if key in a else 'csv'}")
            else:
                out.extend(differences(a[key], b[key], f"{path}.{key}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(differences(x, y, f"{path}[{i}]"))
        return out
    return [] if a == b and type(a) is type(b) else [f"{path}: sqlite {a!r} != csv {b!r}"]


def both(tables: dict, config: dict[str, Any]) -> tuple[dict, dict]:
    with sqlite_source(tables) as source:
        from_sqlite = compute(source, config)
    with csv_source(tables) as source:
        from_csv = compute(source, config)
    return from_sqlite, from_csv


@given(shop=shops(max_carts=12), config=cart_configs())
@examples(10)
def test_a_shop_gives_the_same_metrics_from_sqlite_and_csv(shop, config):
    from_sqlite, from_csv = both(shop.tables(), config)
    assert differences(from_sqlite, from_csv) == []


@given(log=event_logs(max_rows=30), config=event_configs())
@examples(12)
def test_an_event_log_gives_the_same_metrics_from_sqlite_and_csv(log, config):
    from_sqlite, from_csv = both({"events": (EVENT_COLUMNS, log)}, config)
    assert differences(from_sqlite, from_csv) == []
