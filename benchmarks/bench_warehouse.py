"""Benchmark: one family's metrics on one engine, in a fresh process (docs/warehouse.md).

    python benchmarks/bench_warehouse.py demo --scale 1          # writes the demo SQLite file
    reportgen load demo.yaml --to URL --quiet                     # once per engine
    /usr/bin/time -f "%e s %M KB" python benchmarks/bench_warehouse.py run URL FAMILY

``run`` computes ``FAMILY``'s metrics.json for October 2026 (the demo's last complete
month) against ``URL`` and prints the seconds it took and a digest of the result, so the
engines can be seen to agree. Under ``/usr/bin/time``, the wall time includes the
imports and the connection; the peak memory is reportgen's own process (a Spark server's
JVM is a process of its own).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="write the demo shop to a SQLite file")
    demo.add_argument("--scale", type=float, default=1.0)
    demo.add_argument("--out", type=Path, default=Path("demo.sqlite"))
    run = commands.add_parser("run", help="compute one family on one engine")
    run.add_argument("url")
    run.add_argument("family", choices=["carts", "events", "experiments", "marketing"])
    args = parser.parse_args()
    if args.command == "demo":
        from reportgen.demo.shop import generate_demo

        generate_demo(args.out, seed=42, scale=args.scale, end=date(2026, 11, 1))
        args.out.with_suffix(".yaml").write_text(
            f"source:\n  url: sqlite:///{args.out.resolve()}\n"
        )
        print(f"wrote {args.out} and {args.out.with_suffix('.yaml')}")
        return
    from reportgen.config import config_from_dict
    from reportgen.periods import month_period
    from reportgen.report.metrics import compute_metrics

    segments = ["signup_channel", "loyalty_tier", "clv_bucket", "age_band"]
    config = config_from_dict({"source": {"url": args.url}, "segments": segments})
    began = time.perf_counter()
    metrics = compute_metrics(config, month_period("2026-10"), sections=[args.family])
    seconds = time.perf_counter() - began
    rounded = json.dumps(_rounded(metrics), sort_keys=True)
    digest = hashlib.sha256(rounded.encode()).hexdigest()[:12]
    print(f"{args.family} on {config.source.url.split(':')[0]}: {seconds:.1f} s, digest {digest}")


def _rounded(value):
    """Floats to 9 significant digits: Spark's float sums differ in the last ones."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


if __name__ == "__main__":
    main()
