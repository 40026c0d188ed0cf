"""Every row of the "fast at scale" table in one run, each against its floor or peer.

    python benchmarks/scoreboard.py              # one round, about 5 minutes on 2 cores
    python benchmarks/scoreboard.py --rounds 3   # medians of three rounds

Each figure comes from the benchmark that measures it (``bench_events.py``,
``bench_carts.py``), run as a fresh process, as a scheduled build is; a row's floor is
measured by the same benchmark in the same process run, so a slow machine slows both. The
rounds alternate the rows, and the medians are printed as the Markdown table that
``docs/performance.md`` records. The data are generated once under /tmp (the first run
takes several minutes more); generation is in no figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

RUNS: dict[str, list[str]] = {
    "events 10M": ["bench_events.py", "--runs", "1"],
    "events 1M csv": [
        "bench_events.py",
        "--runs",
        "1",
        "--rows",
        "1000000",
        "--csv",
        "--pdf",
        "--notebook",
    ],
    "carts sqlite": [
        "bench_carts.py",
        "--scale",
        "20",
        "--no-pdf",
        "--section",
        "carts",
        "--trend-periods",
        "0",
    ],
    "carts sqlite 12": [
        "bench_carts.py",
        "--scale",
        "20",
        "--no-pdf",
        "--section",
        "carts",
        "--trend-periods",
        "12",
    ],
    "carts duckdb": [
        "bench_carts.py",
        "--scale",
        "20",
        "--no-pdf",
        "--section",
        "carts",
        "--trend-periods",
        "0",
        "--engine",
        "duckdb",
    ],
    "carts duckdb 12": [
        "bench_carts.py",
        "--scale",
        "20",
        "--no-pdf",
        "--section",
        "carts",
        "--trend-periods",
        "12",
        "--engine",
        "duckdb",
    ],
    "demo": ["bench_carts.py"],
}
"""Each benchmark command (its script and arguments), by the name the rows use."""


def measure(name: str) -> dict[str, Any]:
    """Run one benchmark in a fresh process and return the figures it wrote."""
    script, *arguments = RUNS[name]
    with tempfile.TemporaryDirectory() as folder:
        figures = Path(folder) / "figures.json"
        command = [sys.executable, str(HERE / script), *arguments, "--json", str(figures)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return json.loads(figures.read_text())


def rows(found: dict[str, dict[str, float | None]]) -> list[tuple[str, str, str, str, str]]:
    """Return the table's rows: work, figure, floor or peer, ratio, goal."""
    ev, csv = found["events 10M"], found["events 1M csv"]
    sq, sq12 = found["carts sqlite"], found["carts sqlite 12"]
    dk, dk12 = found["carts duckdb"], found["carts duckdb 12"]
    return [
        (
            "event diagnostics, 10M-row Parquet",
            f"{ev['diagnostics']:.2f} s, {ev['diagnostics peak']:,.0f} MB",
            f"one DuckDB pass {ev['single pass']:.2f} s (the spec pass {ev['spec pass']:.2f} s)",
            f"{ev['diagnostics'] / ev['single pass']:.1f}x",
            "≤ 3x, < 1.5 GB",
        ),
        (
            "1M-row CSV log, fresh process to PDF",
            f"{csv['to pdf']:.2f} s, {csv['to pdf peak']:,.0f} MB",
            f"the pandas notebook's diagnostics {csv['notebook']:.2f} s",
            f"{csv['to pdf'] / csv['notebook']:.2f}x",
            "≤ 0.45x",
        ),
        (
            "cart diagnostics, 1M carts, SQLite (queries stage)",
            f"{sq['queries']:.2f} s{_peak(sq)}",
            f"one pass over the 3 tables {sq['floor']:.2f} s",
            f"{sq['queries'] / sq['floor']:.1f}x",
            "≤ 4x",
        ),
        (
            "the same on DuckDB",
            f"{dk['queries']:.2f} s{_peak(dk)}",
            f"one DuckDB pass {dk['floor']:.2f} s",
            f"{dk['queries'] / dk['floor']:.1f}x",
            "≤ 8x",
        ),
        (
            "12 trend periods, 1M carts, SQLite (whole build)",
            f"{sq12['total']:.1f} s vs {sq['total']:.1f} s",
            "the build without trends",
            f"{sq12['total'] / sq['total']:.2f}x",
            "≤ 1.3x",
        ),
        (
            "the same on DuckDB",
            f"{dk12['total']:.1f} s vs {dk['total']:.1f} s",
            "the build without trends",
            f"{dk12['total'] / dk['total']:.2f}x",
            "≤ 1.3x",
        ),
        (
            "the demo month, fresh process to PDF",
            f"{found['demo']['total']:.1f} s{_peak(found['demo'])}",
            "—",
            "—",
            "< 8 s",
        ),
    ]


def _peak(figures: dict[str, float]) -> str:
    """The run's peak RSS, where it has one of its own (no data generated in it)."""
    return f", {figures['peak_mb']:,.0f} MB" if "peak_mb" in figures else ""


def flattened(figures: dict[str, Any]) -> dict[str, float]:
    """bench_events writes [seconds, peak MB] pairs; keep the seconds, and its peak."""
    out: dict[str, float] = {}
    for key, value in figures.items():
        if isinstance(value, list):
            out[key], out[f"{key} peak"] = value
        elif value is not None:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in RUNS}
    for round_ in range(args.rounds):
        for name in RUNS:
            print(f"round {round_ + 1}: {name} ...", file=sys.stderr, flush=True)
            runs[name].append(flattened(measure(name)))
    medians = {
        name: {
            key: statistics.median(run[key] for run in found)
            for key in set.intersection(*(set(run) for run in found))
        }
        for name, found in runs.items()
    }
    print("| work | now | floor / peer, same run | ratio | goal |")
    print("|---|---:|---|---:|---|")
    for row in rows(medians):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
