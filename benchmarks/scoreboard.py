"""Every row of the "fast at scale" table in one run, each against its floor or peer.

    python benchmarks/scoreboard.py              # one round: about 5 minutes on 2 cores
    python benchmarks/scoreboard.py --rounds 3   # medians of three rounds

Each figure comes from the benchmark that measures it (``bench_events.py``,
``bench_carts.py``), run as a fresh process, as a scheduled build is; a row's floor is
measured by the same benchmark run, so a machine that slows down slows both. A row's
ratio is taken round by round and its median printed (beside the median figures), as the
Markdown table that ``docs/performance.md`` records. The data are generated once under
/tmp (the first run takes several minutes more); generation is in no figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).parent
CARTS_1M = "bench_carts.py --scale 20 --no-pdf --section carts"

RUNS: dict[str, str] = {
    "events 10M": "bench_events.py --runs 1",
    "events 1M csv": "bench_events.py --runs 1 --rows 1000000 --csv --pdf --notebook",
    "carts sqlite": f"{CARTS_1M} --trend-periods 0",
    "carts sqlite 12": f"{CARTS_1M} --trend-periods 12",
    "carts duckdb": f"{CARTS_1M} --trend-periods 0 --engine duckdb",
    "carts duckdb 12": f"{CARTS_1M} --trend-periods 12 --engine duckdb",
    "demo": "bench_carts.py",
}
"""Each benchmark's script and arguments, by the name the rows use."""

Figures = dict[str, dict[str, float]]
"""Benchmark name → what it measured (seconds, MB)."""


class Row(NamedTuple):
    work: str
    now: str
    floor: str
    ratio: float | None
    goal: str


def measure(name: str) -> dict[str, float]:
    """Run one benchmark in a fresh process and return the figures it wrote."""
    script, *arguments = RUNS[name].split()
    with tempfile.TemporaryDirectory() as folder:
        written = Path(folder) / "figures.json"
        command = [sys.executable, str(HERE / script), *arguments, "--json", str(written)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return flattened(json.loads(written.read_text()))


def flattened(figures: dict[str, Any]) -> dict[str, float]:
    """bench_events writes [seconds, peak MB] pairs: keep both, as ``key`` and ``key peak``."""
    out: dict[str, float] = {}
    for key, value in figures.items():
        if isinstance(value, list):
            out[key], out[f"{key} peak"] = value
        elif value is not None:  # a run that generated its data has no peak of its own
            out[key] = value
    return out


def rows(found: Figures) -> list[Row]:
    """Return the table's rows from one set of figures."""
    ev, csv, demo = found["events 10M"], found["events 1M csv"], found["demo"]
    sq, sq12 = found["carts sqlite"], found["carts sqlite 12"]
    dk, dk12 = found["carts duckdb"], found["carts duckdb 12"]
    return [
        Row(
            "event diagnostics, 10M-row Parquet",
            f"{ev['diagnostics']:.2f} s, {ev['diagnostics peak']:,.0f} MB",
            f"one DuckDB pass {ev['single pass']:.2f} s (the spec pass {ev['spec pass']:.2f} s)",
            ev["diagnostics"] / ev["single pass"],
            "≤ 3x, < 1.5 GB",
        ),
        Row(
            "1M-row CSV log, fresh process to PDF",
            f"{csv['to pdf']:.2f} s, {csv['to pdf peak']:,.0f} MB",
            f"the pandas notebook's diagnostics {csv['notebook']:.2f} s",
            csv["to pdf"] / csv["notebook"],
            "≤ 0.45x",
        ),
        Row(
            "cart diagnostics, 1M carts, SQLite (queries stage)",
            f"{sq['queries']:.2f} s{_peak(sq)}",
            f"one pass over the 3 tables {sq['floor']:.2f} s",
            sq["queries"] / sq["floor"],
            "≤ 4x",
        ),
        Row(
            "the same on DuckDB",
            f"{dk['queries']:.2f} s{_peak(dk)}",
            f"one DuckDB pass {dk['floor']:.2f} s",
            dk["queries"] / dk["floor"],
            "≤ 8x",
        ),
        Row(
            "12 trend periods, 1M carts, SQLite (whole build)",
            f"{sq12['total']:.1f} s vs {sq['total']:.1f} s",
            "the build without trends",
            sq12["total"] / sq["total"],
            "≤ 1.3x",
        ),
        Row(
            "the same on DuckDB",
            f"{dk12['total']:.1f} s vs {dk['total']:.1f} s",
            "the build without trends",
            dk12["total"] / dk["total"],
            "≤ 1.3x",
        ),
        Row(
            "the demo month, fresh process to PDF",
            f"{demo['total']:.1f} s{_peak(demo)}",
            "—",
            None,
            "< 8 s",
        ),
    ]


def _peak(figures: dict[str, float]) -> str:
    return f", {figures['peak_mb']:,.0f} MB" if "peak_mb" in figures else ""


def table(rounds: Sequence[Figures]) -> str:
    """The Markdown table: median figures, and each row's median ratio over the rounds."""
    medians = {
        name: {
            key: statistics.median(found[name][key] for found in rounds)
            for key in set.intersection(*(set(found[name]) for found in rounds))
        }
        for name in RUNS
    }
    ratios = [[row.ratio for row in rows(found)] for found in rounds]
    lines = ["| work | now | floor / peer, same run | ratio | goal |", "|---|---:|---|---:|---|"]
    for index, row in enumerate(rows(medians)):
        each = [r[index] for r in ratios if r[index] is not None]
        ratio = f"{statistics.median(each):.2f}x" if each else "—"
        if len(each) > 1:
            ratio += f" ({min(each):.2f} to {max(each):.2f})"
        lines.append(f"| {row.work} | {row.now} | {row.floor} | {ratio} | {row.goal} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--save", type=Path, help="also write every round's figures here")
    args = parser.parse_args()
    rounds: list[Figures] = []
    for number in range(1, args.rounds + 1):
        found: Figures = {}
        for name in RUNS:  # every row once a round, so that drift reaches them all alike
            print(f"round {number}: {name} ...", file=sys.stderr, flush=True)
            found[name] = measure(name)
        rounds.append(found)
        if args.save:
            args.save.write_text(json.dumps(rounds, indent=1))
    print(table(rounds))


if __name__ == "__main__":
    main()
