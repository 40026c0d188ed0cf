"""Benchmark: build the demo report and print wall time and peak memory per stage.

    python benchmarks/bench_carts.py                 # the demo (about 50k carts) to PDF
    python benchmarks/bench_carts.py --scale 20 --no-pdf   # 1M carts, diagnostics only
    python benchmarks/bench_carts.py --scale 20 --no-pdf --section carts --engine duckdb
    python benchmarks/bench_carts.py --scale 20 --no-pdf --section carts --trend-periods 0

``--section carts`` builds the cart section alone (at scale 20 the demo also holds 24M
events); ``--engine duckdb`` copies the cart tables into a DuckDB file beside the SQLite
one. Either way the run first times the floor: one pass over carts, cart_items and orders
on the same engine, reading every column the section reads; the queries stage is then
printed as a multiple of it.

The database is generated once per (scale, seed) under /tmp and reused. Each run is a
fresh process, as a scheduled build is. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

STARTED = time.perf_counter()

from reportgen.config import config_from_dict  # noqa: E402
from reportgen.demo.shop import generate_demo  # noqa: E402
from reportgen.report.build import StageTimer, build_report  # noqa: E402
from reportgen.report.metrics import default_period  # noqa: E402

END = date(2026, 11, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--section", action="append", help="build only these sections")
    parser.add_argument("--engine", choices=("sqlite", "duckdb"), default="sqlite")
    parser.add_argument(
        "--trend-periods", type=int, help="report.trend_periods (default: the config's 12)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here (scoreboard.py)")
    args = parser.parse_args()
    imported = time.perf_counter() - STARTED

    database = Path(tempfile.gettempdir()) / f"reportgen-bench-{args.scale:g}-{args.seed}.sqlite"
    began = time.perf_counter()
    duck = database.with_suffix(".duckdb")
    generates = not database.exists() or (args.engine == "duckdb" and not duck.exists())
    if not database.exists():
        summary = generate_demo(database, seed=args.seed, scale=args.scale, end=END)
        print(
            f"generated {summary.carts:,} carts, {summary.cart_items:,} lines, "
            f"{summary.orders:,} orders in {time.perf_counter() - began:.1f} s"
        )
    url = f"sqlite:///{database}"
    if args.engine == "duckdb":
        url = f"duckdb:///{duckdb_copy(database)}"
    generating = time.perf_counter() - began  # not part of any figure below
    report = {} if args.trend_periods is None else {"trend_periods": args.trend_periods}
    config = config_from_dict({"source": {"url": url}, "report": report})
    floor = floor_seconds(config)
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        period = default_period(config, "month")
        timer = StageTimer()
        timer.stages["default period"] = {
            "seconds": time.perf_counter() - began,
            "peak_rss_mb": 0.0,
        }
        build_report(
            config,
            period,
            output=Path(out),
            pdf=not args.no_pdf,
            timer=timer,
            sections=args.section,
        )
    total = time.perf_counter() - STARTED - generating
    print(f"{'stage':<16}{'seconds':>9}{'peak RSS MB':>13}")
    print(f"{'imports':<16}{imported:>9.2f}{'':>13}")
    for name, stage in timer.stages.items():
        print(f"{name:<16}{stage['seconds']:>9.2f}{stage['peak_rss_mb']:>13.0f}")
    print(f"{'total (process)':<16}{total:>9.2f}")
    queries = timer.stages["queries"]["seconds"]
    print(f"floor (one pass over carts, cart_items, orders): {floor:.2f} s on {args.engine}")
    print(f"queries / floor: {queries / floor:.1f}x")
    if args.json:
        # A run that generated its data peaked there: it has no peak of the build's own.
        peak_mb = None if generates else max(s["peak_rss_mb"] for s in timer.stages.values())
        figures = {"queries": queries, "floor": floor, "total": total, "peak_mb": peak_mb}
        args.json.write_text(json.dumps(figures))


FLOOR_COLUMNS = {
    "carts": ("cart_id", "customer_id", "created_at", "status"),
    "cart_items": ("cart_id", "product_id", "quantity", "unit_price"),
    "orders": ("order_id", "customer_id", "order_date", "cart_id"),
}
"""The columns the cart section reads of its three large tables."""


def floor_seconds(config) -> float:
    """Time one aggregate pass over each large cart table, reading every value of the
    columns the section reads (the max of each)."""
    from reportgen.source.connection import open_source
    from reportgen.source.query import one

    with open_source(config) as source:
        began = time.perf_counter()
        for table, columns in FLOOR_COLUMNS.items():
            info = source.table(table)
            touched = ", ".join(f"max({info.columns[c]}) as n{i}" for i, c in enumerate(columns))
            one(source.connection, f"select count(*) as rows_, {touched} from {info.sql}")
        return time.perf_counter() - began


def duckdb_copy(database: Path) -> Path:
    """Return a DuckDB file holding the cart tables of ``database`` (made once)."""
    import sqlite3

    import duckdb
    import pandas as pd

    target = database.with_suffix(".duckdb")
    if target.exists():
        return target
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(database)
    with duckdb.connect(str(partial)) as duck:
        for table in ("carts", "cart_items", "orders", "customers", "products"):
            frame = pd.read_sql_query(f"select * from {table}", source)  # noqa: F841
            duck.execute(f"create table {table} as select * from frame")
    source.close()
    partial.rename(target)
    return target


if __name__ == "__main__":
    main()
