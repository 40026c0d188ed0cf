"""The datasets whose metrics.json must not change when the code is restructured.

``python tests/report/golden/cases.py`` rewrites the stored files from the current code: run it
only for an intended change of the numbers, and say in the commit which keys changed.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEMO_SEGMENTS = ["signup_channel", "loyalty_tier", "clv_bucket", "age_band"]


def demo_database(folder: Path) -> Path:
    """Return the demo shop at a fifth of its size, seeded and dated, in ``folder``."""
    from reportgen.demo.shop import generate_demo

    path = folder / "demo.sqlite"
    if not path.exists():
        generate_demo(path, seed=42, scale=0.2, end=date(2026, 12, 1))
    return path


def cases(folder: Path) -> dict[str, tuple[Any, Any]]:
    """Return name → (config, period) for every golden case whose data is at hand."""
    from reportgen.config import config_from_dict, load_config
    from reportgen.periods import month_period, week_period

    demo = {"source": {"url": f"sqlite:///{demo_database(folder)}"}, "segments": DEMO_SEGMENTS}
    found = {
        "demo-month-2026-11": (config_from_dict(demo), month_period("2026-11")),
        "demo-week-2026-W47": (config_from_dict(demo), week_period("2026-W47")),
        "rees46-2021-01": (
            load_config(
                ROOT / "reportgen" / "sections" / "events" / "tests" / "fixtures" / "rees46.yaml"
            ),
            month_period("2021-01"),
        ),
    }
    if (SHARED_DATA / "ecom_retailer_v3").is_dir():
        example = load_config(ROOT / "config" / "examples" / "ecom_retailer_v3.yaml")
        found["ecom-retailer-v3-2025-07"] = (example, month_period("2025-07"))
    return found


def metrics_text(config: Any, period: Any) -> str:
    from reportgen.report.metrics import compute_metrics

    return json.dumps(compute_metrics(config, period), indent=1, sort_keys=True) + "\n"


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for name, (config, period) in cases(Path(scratch)).items():
            (HERE / f"{name}.json").write_text(metrics_text(config, period))
            print(f"wrote tests/report/golden/{name}.json", file=sys.stderr)


if __name__ == "__main__":
    main()
