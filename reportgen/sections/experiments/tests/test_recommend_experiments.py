"""Recommendations from the experiment verdicts: each with its numbers, KPI and direction."""

from __future__ import annotations

import pytest

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics
from reportgen.sections.experiments.recommend import recommend

from experiment_data import RULES, write_sqlite  # isort: skip


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    path = write_sqlite(tmp_path_factory.mktemp("rec") / "log.db")
    config = config_from_dict({"source": {"url": f"sqlite:///{path}"}, "rules": RULES})
    return compute_metrics(config, month_period("2024-03"), sections=["experiments"])


def test_one_recommendation_per_decision(metrics):
    found = recommend(metrics, "USD")
    assert [r.headline for r in found] == [
        "Ship B of Checkout to everyone.",
        "Fix the traffic split of Banner before anyone reads it.",
        "Keep the undecided experiment running, or end it if not worth the traffic.",
    ]
    assert all(r.section == "experiments" for r in found)
    assert all(r.kpi and r.kpi.startswith("experiments.") and r.pull for r in found)
    pulls: dict[str, set[str]] = {}
    for rec in found:
        pulls.setdefault(rec.kpi, set()).add(rec.pull)
    assert all(len(ways) == 1 for ways in pulls.values())


def test_ship_carries_its_numbers_and_expected_value(metrics):
    ship = recommend(metrics, "USD")[0]
    # ctr 70.0% against 25.0% (+45.0 pp, +180.0%) over 80 sessions. Wald: SE =
    # sqrt(0.25·0.75/40 + 0.7·0.3/40) = 0.099687; 0.45 ± 1.959964·SE = 0.2546 to 0.6454.
    assert "70.0% against 25.0% for A (+45.0 pp, +180.0%)" in ship.detail
    assert "95% interval of the difference: +25.5 to +64.5 pp." in ship.detail
    # Revenue per session B 1.50 - A 0.00, times the 80 sessions of the period.
    assert ship.expected_value == pytest.approx(120.0)
    assert "about $120" in ship.detail
    assert ship.expected_value_basis
    assert ship.evidence["experiments.verdicts[10, B].p_adjusted"] < 0.05
    assert ship.kpi == "experiments.ready_to_ship"


def test_a_broken_split_names_no_winner(metrics):
    fix = next(r for r in recommend(metrics, "USD") if "split" in r.headline)
    assert "blue 70, green 30 sessions" in fix.detail
    assert "SRM p < 0.001" in fix.detail
    assert "Ship" not in fix.detail
    assert fix.kpi == "experiments.srm_flagged"
    assert fix.pull == "down"


def test_running_longer_says_how_much_longer(metrics):
    longer = recommend(metrics, "USD")[-1]
    assert "Tiny: only 5 sessions in its smallest arm" in longer.detail
    # (1.959964 + 0.841621)² (0.2·0.8 + 0.5·0.5) / 0.3² = 35.8 -> 36 per arm, 31 more.
    assert "about 31 more sessions per arm" in longer.detail
    assert "Search" not in longer.detail  # still running: nothing to do yet


def test_a_stop_verdict(metrics):
    stopped = {
        "rules": metrics["rules"],
        "tables": {
            "experiments.gates": [
                {"experiment_id": "p", "name": "Pop-up", "control_variant": "A", "status": "stop",
                 "sessions": 8000, "period_sessions": 8000}
            ],
            "experiments.verdicts": [
                {"experiment_id": "p", "variant": "B", "verdict": "stop", "rate": 0.08,
                 "control_rate": 0.11, "diff": -0.03, "lift": -0.2727, "p_adjusted": 0.0001}
            ],
            "experiments.results": [
                {"experiment_id": "p", "variant": "A"},
                {"experiment_id": "p", "variant": "B", "ci_low": -0.043, "ci_high": -0.017},
            ],
        },
    }  # fmt: skip
    (rec,) = recommend(stopped, "USD")
    assert rec.headline == "Stop Pop-up and keep A."
    assert "8.0% against 11.0% (-3.0 pp, -27.3%)" in rec.detail
    assert "-4.3 to -1.7 pp" in rec.detail
    assert (rec.kpi, rec.pull) == ("experiments.to_stop", "down")


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"tables": None},
        {"tables": {"experiments.gates": "x"}},
        {"tables": {"experiments.gates": [None, {"status": "ship"}]}},
        {"tables": {"experiments.gates": [{"status": "fix_split"}]}},
    ],
)
def test_missing_or_malformed_metrics_never_raise(broken):
    for rec in recommend(broken, "USD"):
        assert rec.headline
