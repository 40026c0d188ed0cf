"""No two recommendations of one report pull the same KPI opposite ways, whatever the
numbers (issue 10), and none rests on a change that cannot be read yet."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.plugin import Recommendation
from reportgen.report.build import sound_recommendations
from reportgen.sections import all_sections

GOLDEN = Path(__file__).parent / "golden" / "demo-month-2026-11.json"
BASE = json.loads(GOLDEN.read_text())
NUMERIC_KPIS = sorted(
    key
    for key, value in BASE["kpis"].items()
    if key != "previous" and isinstance(value, int | float) and not isinstance(value, bool)
)

factor = st.one_of(st.just(1.0), st.just(0.0), st.floats(0.3, 3.0))


@st.composite
def metrics(draw: st.DrawFn) -> dict:
    """The demo's metrics.json with every KPI and its previous value scaled at random
    (rates kept within 0 and 1), so rules meet rises, falls, zeros and no change."""
    found = copy.deepcopy(BASE)
    kpis, previous = found["kpis"], found["kpis"]["previous"]
    for key in NUMERIC_KPIS:
        for target in (kpis, previous):
            value = target.get(key)
            if isinstance(value, int | float):
                scaled = value * draw(factor)
                if isinstance(value, int):  # a zero count can become some
                    scaled = int(scaled) + draw(st.integers(0, 500))
                if key.endswith(("_rate", "_share")):
                    scaled = min(scaled, 1.0)
                target[key] = scaled
    return found


def _all_recommendations(found: dict) -> list[Recommendation]:
    return [rec for section in all_sections() for rec in section.recommend(found, "USD")]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(metrics())
def test_no_two_recommendations_pull_one_kpi_opposite_ways(found):
    pulls: dict[str, set[str]] = {}
    for rec in _all_recommendations(found):
        if rec.kpi and rec.pull:
            pulls.setdefault(rec.kpi, set()).add(rec.pull)
    contradictions = {kpi: ways for kpi, ways in pulls.items() if len(ways) > 1}
    assert contradictions == {}


def test_every_rule_that_compares_names_its_kpi():
    """A recommendation resting on a change must say which KPI, or it cannot be withheld."""
    for found in (BASE, *_examples()):
        for rec in _all_recommendations(found):
            if rec.compares:
                assert rec.kpi, rec.headline


def _examples() -> list[dict]:
    worse = copy.deepcopy(BASE)
    worse["kpis"]["previous"] = {
        key: value * 0.5 if isinstance(value, float) else value
        for key, value in worse["kpis"]["previous"].items()
    }
    return [worse]


def test_a_recommendation_on_a_provisional_change_is_withheld():
    found = copy.deepcopy(BASE)
    found["kpis"]["carts.reengagement_immature_carts"] = 12
    sections = all_sections()
    spec = next(s for sec in sections for s in sec.kpis if s.key == "carts.reengagement_rate")
    change = Recommendation("carts", "h", "d", kpi=spec.key, pull="up", compares=True)
    plain = Recommendation("carts", "h2", "d2", kpi=spec.key, pull="up")
    kept = sound_recommendations([change, plain], found, sections)
    if spec.provisional_when is not None and spec.provisional_when(found):
        assert kept == [plain]
    else:
        assert kept == [change, plain]
