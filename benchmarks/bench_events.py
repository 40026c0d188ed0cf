"""Benchmark: event diagnostics against one DuckDB pass over the same file, and 1M CSV to PDF.

    python benchmarks/bench_events.py                       # 10M Parquet rows: the ratio
    python benchmarks/bench_events.py --memory-limit 1GB    # the same, DuckDB capped
    python benchmarks/bench_events.py --rows 1000000 --csv --pdf --notebook   # against pandas

The log is generated once per (rows, format) under /tmp with benchmarks/gen_events.py and
reused. Every measurement runs in a fresh process (as a scheduled build does) and reports
wall time and that process's peak memory. The period covers the whole log (October 2020
to February 2021), so the diagnostics read every row the single pass reads. Results are
recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
PERIOD = ("--from", "2020-10-01", "--to", "2021-03-01")

SINGLE_PASS = """
import duckdb, sys
reader = "read_parquet" if sys.argv[1].endswith(".parquet") else "read_csv_auto"
source = f"{reader}('{sys.argv[1]}')"
duckdb.sql(f"select count(*), sum(price), count(distinct user_id) from {source}").fetchall()
"""

DIAGNOSTICS = """
import sys
from reportgen.config import config_from_dict
from reportgen.report.metrics import compute_metrics
from reportgen.periods import custom_period
limit = sys.argv[2] if len(sys.argv) > 2 else None
config = config_from_dict({"source": {"files": {"events": sys.argv[1]}, "memory_limit": limit,
                                      "columns": {"events": {"session_id": "user_session"}}}})
compute_metrics(config, custom_period("2020-10-01", "2021-03-01"))
"""


SPEC_PASS = """
import duckdb, sys
reader = "read_parquet" if sys.argv[1].endswith(".parquet") else "read_csv_auto"
source = f"{reader}('{sys.argv[1]}')"
every = "event_time, event_type, product_id, category_id, category_code, brand, price, "
duckdb.sql(f\"\"\"select count(*), sum(price), count(distinct user_id),
                  count(distinct user_session), count(distinct hash({every} user_id, user_session))
           from {source}\"\"\").fetchall()
"""
"""The least any exact implementation of METRICS.md §4 does: one pass counting the distinct
users, sessions and rows (exact duplicates are collapsed, §8), no time parsed, no grouping."""

NOTEBOOK = """
import sys
import pandas as pd
reader = pd.read_parquet if sys.argv[1].endswith(".parquet") else pd.read_csv
df = reader(sys.argv[1]).drop_duplicates()
df["event_time"] = pd.to_datetime(df["event_time"].str.removesuffix(" UTC"))
df = df[df["price"] > 0]
counts = df["event_type"].value_counts()
users, sessions = df["user_id"].nunique(), df["user_session"].nunique()
did = pd.crosstab(df["user_id"], df["event_type"]) > 0
funnel = did.sum()
bought = df[df["event_type"] == "purchase"]
top = {
    key: bought.groupby(key)["price"].agg(["count", "sum"]).nlargest(10, "sum")
    for key in ("product_id", "brand", "category_code")
}
by_hour = df.groupby([df["event_time"].dt.hour, "event_type"]).size()
by_weekday = df.groupby([df["event_time"].dt.weekday, "event_type"]).size()
pairs = df[df["event_type"].isin(["cart", "purchase"])]
pairs = pairs.pivot_table(index=["user_id", "product_id"], columns="event_type",
                          values="price", aggfunc="max")
abandoned = pairs[pairs["purchase"].isna()].groupby("product_id")["cart"].agg(["count", "sum"])
"""
"""The peer: what an analyst's pandas notebook computes of the same diagnostics (dedup,
clean prices, counts, users and sessions, the funnel, top products, brands and categories,
hours and weekdays, abandoned products), with no charts and no PDF."""

PEAK = "\nimport resource; print('peak-kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"

BUILD = """
import sys
from reportgen.cli import main
main(["build", "--config", sys.argv[1], *sys.argv[2:]], standalone_mode=False)
"""


def timed(code: str, *args: str) -> tuple[float, float]:
    """Run ``code`` in a fresh Python process; return (wall seconds, its peak RSS in MB)."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + PEAK, *args], check=True, capture_output=True, text=True
    )
    seconds = time.perf_counter() - began
    peak = int(done.stdout.rsplit("peak-kb", 1)[1])
    return seconds, peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--csv", action="store_true", help="Use a CSV log (default Parquet).")
    parser.add_argument("--pdf", action="store_true", help="Time `reportgen build` to a PDF.")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--notebook", action="store_true", help="Also time the pandas notebook's diagnostics."
    )
    parser.add_argument("--memory-limit", help="source.memory_limit of the diagnostics (1GB)")
    parser.add_argument("--json", type=Path, help="also write the figures here (scoreboard.py)")
    args = parser.parse_args()
    suffix = "csv" if args.csv else "parquet"
    log = Path(tempfile.gettempdir()) / f"reportgen-events-{args.rows}.{suffix}"
    if not log.exists():
        print(f"generating {log} ...", flush=True)
        generator = [sys.executable, str(HERE / "gen_events.py"), "--out", str(log)]
        subprocess.run([*generator, "--rows", str(args.rows)], check=True)
    results: dict[str, list[tuple[float, float]]] = {
        "single pass": [],
        "spec pass": [],
        "diagnostics": [],
    }
    if args.notebook:
        results["notebook"] = []
    for _ in range(args.runs):
        # Alternate, so that a machine slowing down mid-run affects both alike.
        results["single pass"].append(timed(SINGLE_PASS, str(log)))
        results["spec pass"].append(timed(SPEC_PASS, str(log)))
        limit = (args.memory_limit,) if args.memory_limit else ()
        results["diagnostics"].append(timed(DIAGNOSTICS, str(log), *limit))
        if args.notebook:
            results["notebook"].append(timed(NOTEBOOK, str(log)))
    best = {name: min(runs) for name, runs in results.items()}
    for name, runs in results.items():
        shown = ", ".join(f"{s:.2f} s" for s, _ in runs)
        print(f"{name:12} {shown}  (best {best[name][0]:.2f} s, peak {best[name][1]:.0f} MB)")
    ratio = best["diagnostics"][0] / best["single pass"][0]
    print(f"ratio: diagnostics / single pass = {ratio:.1f}x  ({args.rows:,} {suffix} rows)")
    spec = best["spec pass"][0] / best["single pass"][0]
    print(f"ratio: spec pass / single pass = {spec:.1f}x (what any exact implementation pays)")
    if args.pdf:
        with tempfile.TemporaryDirectory() as folder:
            config = Path(folder) / "events.yaml"
            config.write_text(
                json.dumps(
                    {
                        "source": {
                            "files": {"events": str(log)},
                            "columns": {"events": {"session_id": "user_session"}},
                        },
                        "report": {"output": str(Path(folder) / "reports")},
                    }
                )
            )
            seconds, peak = timed(BUILD, str(config), *PERIOD)
            best["to pdf"] = (seconds, peak)
            print(f"fresh process to PDF: {seconds:.2f} s, peak {peak:.0f} MB")
            if args.notebook:
                ratio = seconds / best["notebook"][0]
                print(f"ratio: fresh process to PDF / notebook diagnostics = {ratio:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({name: list(found) for name, found in best.items()}))


if __name__ == "__main__":
    main()
