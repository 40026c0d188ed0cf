"""Benchmark: the event section's one-pass history against the computes it replaces.

    python benchmarks/bench_event_history.py

On the golden demo shop (scale 0.2, SQLite, generated once under /tmp): 12 months of
headline event KPIs from ``history`` in one pass, then ``compute`` for every second month
(what the cover did before, each call giving a month and the one before). Same process,
one after the other. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "report" / "golden"))


def main() -> None:
    from cases import demo_database

    from reportgen.config import config_from_dict
    from reportgen.periods import month_period
    from reportgen.sections.events.compute import compute, history
    from reportgen.source.connection import open_source

    folder = Path(tempfile.gettempdir()) / "reportgen-event-history"
    folder.mkdir(exist_ok=True)
    config = config_from_dict({"source": {"url": f"sqlite:///{demo_database(folder)}"}})
    periods = [month_period("2026-11")]
    while len(periods) < 12:
        periods.append(periods[-1].previous())
    periods.reverse()
    with open_source(config) as source:
        began = time.perf_counter()
        history(source, config, periods)
        one_pass = time.perf_counter() - began
        began = time.perf_counter()
        for period in periods[1::2]:
            compute(source, config, period)
        computes = time.perf_counter() - began
    print(f"history, 12 months in one pass: {one_pass:.2f} s; 6 computes: {computes:.2f} s")


if __name__ == "__main__":
    main()
