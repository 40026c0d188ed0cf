"""Maturity and coverage: a figure whose window has not closed is provisional, and a
comparison period the data barely covers is no comparison (issue 10)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from reportgen.plugin import KpiSpec, Section
from reportgen.render.summary import coverage_line, largest_moves
from reportgen.render.viewparts import card
from reportgen.report.maturity import (
    caveat,
    comparison_gap,
    covered_share,
    section_coverage,
    sound_comparison,
)

TOTAL = KpiSpec("shop.orders", "Orders", "number", "up", headline=True)
RATE = KpiSpec(
    "shop.win_back_rate",
    "Win-back rate",
    "rate",
    "up",
    headline=True,
    provisional_when=lambda m: (
        "12 carts are still inside their window"
        if (m.get("data_quality") or {}).get("shop.open_windows")
        else None
    ),
)
SHOP = Section(
    name="shop",
    title="Shop",
    requires=("orders",),
    compute=lambda *a: None,
    charts=lambda *a: {},
    recommend=lambda *a: [],
    template="sections/_shop.html",
    kpis=(TOTAL, RATE),
    coverage=("shop.first_order", "shop.last_order"),
)


@pytest.fixture(autouse=True)
def only_the_shop(monkeypatch):
    """KPI cards find a KPI's section in the registry: register just the shop."""
    import reportgen.sections

    monkeypatch.setattr(reportgen.sections, "all_sections", lambda: [SHOP])


def metrics(first: str, last: str, kind: str = "custom", **quality) -> dict:
    """A 12-month window, December 2025 to November 2026, compared with the year before."""
    return {
        "period": {"kind": kind, "start": "2025-12-01T00:00:00", "end": "2026-12-01T00:00:00"},
        "previous_period": {
            "kind": kind,
            "start": "2024-12-01T00:00:00",
            "end": "2025-12-01T00:00:00",
        },
        "kpis": {
            "shop.orders": 9300,
            "shop.win_back_rate": 0.25,
            "previous": {"shop.orders": 1000, "shop.win_back_rate": 0.20},
        },
        "tables": {},
        "data_quality": {"shop.first_order": first, "shop.last_order": last, **quality},
    }


def test_covered_share_is_the_overlap_of_the_window_and_the_data():
    day = datetime
    assert covered_share(day(2026, 1, 1), day(2026, 2, 1), day(2026, 1, 1), day(2026, 3, 1)) == 1
    half = covered_share(day(2026, 1, 1), day(2026, 1, 3), day(2026, 1, 2), day(2026, 3, 1))
    assert half == pytest.approx(0.5)
    assert covered_share(day(2026, 1, 1), day(2026, 2, 1), day(2026, 5, 1), day(2026, 6, 1)) == 0


def test_a_year_compared_with_a_year_the_data_barely_covers_is_no_comparison():
    """The demo's data starts 1 Nov 2025: the comparison year is 30 of 365 days covered."""
    found = metrics("2025-11-01 00:03:00", "2026-11-30 23:58:00")
    coverage = section_coverage(found, SHOP)
    assert coverage.current == pytest.approx(1.0, abs=1e-4)
    assert coverage.previous == pytest.approx(30 / 365, abs=1e-3)
    assert comparison_gap(found, SHOP) == "the comparison period is only 8% covered by the data"
    assert not sound_comparison(found, "shop.orders", [SHOP])
    shown = card(TOTAL, found, "USD")
    assert shown["comparison"] == "change n/a: the comparison period is only 8% covered by the data"
    assert shown["tone"] == "neutral"
    assert "830" not in shown["comparison"]
    assert largest_moves(found, [SHOP], None, "USD") == []  # no move from a non-comparison
    assert "only 8% covered" in coverage_line(found, [SHOP])


def test_a_fully_covered_comparison_is_a_comparison():
    found = metrics("2024-06-01 00:00:00", "2026-11-30 23:58:00")
    assert comparison_gap(found, SHOP) is None
    assert sound_comparison(found, "shop.orders", [SHOP])
    assert card(TOTAL, found, "USD")["comparison"] == "+8,300 (+830.0%) vs 1,000"
    (move,) = [m for m in largest_moves(found, [SHOP], None, "USD") if m["key"] == "shop.orders"]
    assert move["sentence"].startswith("Orders rose to 9,300")


def test_a_provisional_kpi_shows_no_change_and_says_why():
    found = metrics("2024-06-01 00:00:00", "2026-11-30 23:58:00", **{"shop.open_windows": 12})
    unfinished, gap = caveat(found, RATE, [SHOP])
    assert (unfinished, gap) == ("12 carts are still inside their window", None)
    shown = card(RATE, found, "USD")
    assert shown["provisional"] == "12 carts are still inside their window"
    assert shown["comparison"] == "provisional: 12 carts are still inside their window"
    assert shown["arrow"] == ""
    assert not sound_comparison(found, "shop.win_back_rate", [SHOP])
    assert [m["key"] for m in largest_moves(found, [SHOP], None, "USD")] == ["shop.orders"]


def test_a_section_without_coverage_keys_is_not_judged():
    found = metrics("2025-11-01 00:03:00", "2026-11-30 23:58:00")
    blind = dataclasses.replace(SHOP, coverage=None)
    assert comparison_gap(found, blind) is None
    del found["data_quality"]["shop.first_order"]
    assert section_coverage(found, SHOP) is None
