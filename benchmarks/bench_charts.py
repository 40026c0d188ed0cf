"""Benchmark: every section's charts of one metrics.json, in a fresh process.

    python benchmarks/bench_charts.py reports/month/2026-10/metrics.json
    python benchmarks/bench_charts.py METRICS --sequential   # one chart at a time, timed each
    python benchmarks/bench_charts.py METRICS --in-process   # vl-convert in this process

Prints the import time and the chart stage (as a build runs it: each section's charts four
at a time, drawn by the converter process); ``--sequential`` times each chart alone
instead, ``--in-process`` draws them without the converter. Results are recorded in
docs/performance.md ("Charts").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

started = time.perf_counter()
from reportgen.render import charts  # noqa: E402
from reportgen.sections import all_sections  # noqa: E402

imported = time.perf_counter()


def main() -> None:
    """Render the charts of the metrics.json given and print where the time went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", type=Path)
    parser.add_argument("--sequential", action="store_true")
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--currency", default="USD")
    args = parser.parse_args()
    metrics = json.loads(args.metrics.read_text())
    if args.sequential:

        def one_at_a_time(jobs):
            drawn = {}
            for name, job in jobs.items():
                begun = time.perf_counter()
                drawn[name] = job()
                print(f"  {name:44s} {time.perf_counter() - begun:6.3f} s")
            return {name: svg for name, svg in drawn.items() if svg}

        charts.render_all = one_at_a_time
    begun = time.perf_counter()
    with contextlib.nullcontext() if args.in_process else charts.converting():
        drawn = sum(len(section.charts(metrics, args.currency)) for section in all_sections())
    print(f"imports {imported - started:.2f} s, {drawn} charts {time.perf_counter() - begun:.2f} s")


if __name__ == "__main__":
    main()
