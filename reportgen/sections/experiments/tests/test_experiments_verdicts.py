"""Gates and verdicts from counts per arm (``evaluate``), without a database.

Counts are chosen so that each comparison is plainly significant or plainly not:
2,000 sessions an arm at 10% against 14% (z ≈ 4.0) is a gain, against 6% a loss,
against 10.2% nothing.
"""

from __future__ import annotations

import pytest

from reportgen.sections.experiments.evaluate import Judgement, evaluate
from reportgen.sections.experiments.queries import Arm, PeriodCounts

JUDGEMENT = Judgement(primary="ctr", alpha=0.05, min_sessions=1000, has_revenue=False)


def arm(eid: str, variant: str, sessions: int, clicked: int) -> Arm:
    return Arm(eid, variant, sessions, clicked, 0, 0, 0.0, sessions, "2024-03-01", "2024-03-31")


def judged(*arms: Arm, after_end: dict[str, int] | None = None, details=None):
    counts = PeriodCounts(list(arms), {}, after_end or {}, 0, 0)
    return evaluate(counts, details or {}, JUDGEMENT)


def statuses(evaluation) -> dict[str, str]:
    return {str(g["experiment_id"]): g["status"] for g in evaluation.gates}


def test_ship_stop_and_keep_running():
    found = judged(
        arm("up", "A", 2000, 200), arm("up", "B", 2000, 280),
        arm("down", "A", 2000, 200), arm("down", "B", 2000, 120),
        arm("flat", "A", 2000, 200), arm("flat", "B", 2000, 204),
    )  # fmt: skip
    assert statuses(found) == {"down": "stop", "flat": "keep_running", "up": "ship"}
    flat = next(v for v in found.verdicts if v["experiment_id"] == "flat")
    assert flat["verdict"] == "keep_running"
    assert flat["needed_sessions_per_arm"] > 2000
    assert flat["more_sessions_per_arm"] == flat["needed_sessions_per_arm"] - 2000
    assert found.kpis["experiments.ready_to_ship"] == 1
    assert found.kpis["experiments.to_stop"] == 1
    assert found.kpis["experiments.keep_running"] == 1


def test_an_insignificant_difference_never_ships_however_large_it_looks():
    found = judged(arm("x", "A", 1000, 100), arm("x", "B", 1000, 125))  # +25% lift, p ≈ 0.08
    verdict = found.verdicts[0]
    assert verdict["lift"] == pytest.approx(0.25)
    assert verdict["significant"] is False
    assert verdict["verdict"] == "keep_running"


def test_several_variants_ship_the_largest_gain_and_stop_only_when_all_lose():
    mixed = judged(
        arm("m", "A", 2000, 200), arm("m", "B", 2000, 120), arm("m", "C", 2000, 204),
        arm("w", "A", 2000, 200), arm("w", "B", 2000, 280), arm("w", "C", 2000, 300),
        arm("l", "A", 2000, 200), arm("l", "B", 2000, 120), arm("l", "C", 2000, 110),
    )  # fmt: skip
    assert statuses(mixed) == {"l": "stop", "m": "keep_running", "w": "ship"}
    by = {(v["experiment_id"], v["variant"]): v["verdict"] for v in mixed.verdicts}
    assert by[("m", "B")] == "stop"  # dropped, while C keeps running
    assert by[("w", "B")] == by[("w", "C")] == "ship"


def test_gates_come_first_in_their_order():
    found = judged(
        # Broken split and still running: the split is named.
        arm("srm", "A", 3000, 300), arm("srm", "B", 2000, 300),
        # Still running and too small: still running.
        arm("run", "A", 500, 50), arm("run", "B", 500, 90),
        arm("small", "A", 999, 100), arm("small", "B", 1000, 200),
        arm("one", "A", 5000, 500),
        after_end={"srm": 3, "run": 1},
    )  # fmt: skip
    assert statuses(found) == {
        "one": "no_test",
        "run": "still_running",
        "small": "too_small",
        "srm": "fix_split",
    }
    assert all(v["verdict"] is None for v in found.verdicts)
    assert found.kpis["experiments.srm_flagged"] == 1
    assert found.kpis["experiments.still_running"] == 2  # gate failures, counted each
    assert found.kpis["experiments.too_small"] == 2
    small = next(v for v in found.verdicts if v["experiment_id"] == "small")
    assert small["reason"] == "too_small"
    assert small["significant"] is True  # significant, and still no verdict


def test_control_choice():
    found = judged(
        arm("n", "B", 10, 1), arm("n", "a", 10, 1), arm("n", "A", 10, 1),
        arm("c", "blue", 10, 1), arm("c", "green", 10, 1),
        arm("v", "A", 10, 1), arm("v", "treat", 10, 1), arm("v", "base", 10, 1),
        details={"v": {"control_variant": "base"}, "c": {"control_variant": "Blue"}},
    )  # fmt: skip
    order = [(r["experiment_id"], r["variant"]) for r in found.results]
    assert order == [
        ("c", "blue"), ("c", "green"),  # "Blue" is no variant (case matters): first in order
        ("n", "A"), ("n", "B"), ("n", "a"),  # A, then code-point order (B < a)
        ("v", "base"), ("v", "A"), ("v", "treat"),  # the configured control
    ]  # fmt: skip
