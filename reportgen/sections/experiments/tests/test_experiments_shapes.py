"""Another shape of experiment data: a one-row-per-event log mapped by ``source.views``.

``fixtures/ab_events.csv`` is read through ``config/examples/ab_sessions.yaml`` (the
shipped example), so the example is known to work. The counts, by hand from the CSV:

* checkout-v2, A: sessions a1-a6 (x1 crossed over, n1 has no impression); clicks a1, a2;
  add to cart a2. B: b1-b6; clicks b1, b2, b3 ("Click" is lower-cased), b4; add to cart
  b1, b3; purchase b1 (30.00).
* banner: control c1, c2 (click c1); treat t1, t2 (click t2); t3 on 2 April: still running.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.config import load_config
from reportgen.periods import month_period
from reportgen.report.build import build_report

EXAMPLE = Path(__file__).resolve().parents[4] / "config" / "examples" / "ab_sessions.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    config = load_config(EXAMPLE)
    out = tmp_path_factory.mktemp("shapes")
    return build_report(config, month_period("2024-03"), output=out, pdf=False)


def test_the_event_log_becomes_sessions(built):
    results = {
        (r["experiment_id"], r["variant"]): r
        for r in built.metrics["tables"]["experiments.results"]
    }
    assert list(results) == [
        ("banner", "control"),  # no A: the first variant in sort order
        ("banner", "treat"),
        ("checkout-v2", "A"),
        ("checkout-v2", "B"),
    ]
    a, b = results[("checkout-v2", "A")], results[("checkout-v2", "B")]
    assert (a["sessions"], a["ctr"], a["add_to_cart_rate"], a["purchase_rate"]) == (
        6,
        2 / 6,
        1 / 6,
        0,
    )
    assert (b["sessions"], b["ctr"], b["add_to_cart_rate"], b["purchase_rate"]) == (
        6,
        4 / 6,
        2 / 6,
        1 / 6,
    )
    assert b["revenue_per_session"] == pytest.approx(5.0)
    assert b["lift"] == pytest.approx(1.0)
    assert b["purchase_rate_lift"] is None  # A never purchased


def test_crossovers_unreadable_starts_and_running_experiments(built):
    metrics = built.metrics
    assert metrics["data_quality"]["experiments.crossover_sessions"] == 1  # x1
    assert metrics["data_quality"]["experiments.unparsed_started_at"] == 1  # n1
    gates = {g["experiment_id"]: g for g in metrics["tables"]["experiments.gates"]}
    assert gates["banner"]["status"] == "still_running"
    assert gates["banner"]["sessions_after_end"] == 1
    assert gates["checkout-v2"]["status"] == "keep_running"  # 6 a side: not significant


def test_the_report_is_written(built):
    html = (built.folder / "report.html").read_text()
    assert "Experiments: gates and verdicts" in html
    assert "checkout-v2" in html
