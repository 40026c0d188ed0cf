"""Benchmark: build the demo report and print wall time and peak memory per stage.

    python benchmarks/bench_carts.py                 # the demo (about 50k carts) to PDF
    python benchmarks/bench_carts.py --scale 20 --no-pdf   # 1M carts, diagnostics only

The database is generated once per (scale, seed) under /tmp and reused. Each run is a
fresh process, as a scheduled build is. Results are recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    imported = time.perf_counter() - STARTED

    database = Path(tempfile.gettempdir()) / f"reportgen-bench-{args.scale:g}-{args.seed}.sqlite"
    if not database.exists():
        began = time.perf_counter()
        summary = generate_demo(database, seed=args.seed, scale=args.scale, end=END)
        print(
            f"generated {summary.carts:,} carts, {summary.cart_items:,} lines, "
            f"{summary.orders:,} orders in {time.perf_counter() - began:.1f} s"
        )
    config = config_from_dict({"source": {"url": f"sqlite:///{database}"}})
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        period = default_period(config, "month")
        timer = StageTimer()
        timer.stages["default period"] = {
            "seconds": time.perf_counter() - began,
            "peak_rss_mb": 0.0,
        }
        build_report(config, period, output=Path(out), pdf=not args.no_pdf, timer=timer)
    total = time.perf_counter() - STARTED
    print(f"{'stage':<16}{'seconds':>9}{'peak RSS MB':>13}")
    print(f"{'imports':<16}{imported:>9.2f}{'':>13}")
    for name, stage in timer.stages.items():
        print(f"{name:<16}{stage['seconds']:>9.2f}{stage['peak_rss_mb']:>13.0f}")
    print(f"{'total (process)':<16}{total:>9.2f}")


if __name__ == "__main__":
    main()
