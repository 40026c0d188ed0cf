"""Section.history gives, in one pass over the window, exactly what compute gives for
each period (the cover's trends rely on it instead of a compute per two periods)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from reportgen.config import config_from_dict
from reportgen.periods import month_period, week_period
from reportgen.sections.carts import SECTION
from reportgen.source.connection import open_source

HEADLINE = [spec.key for spec in SECTION.kpis if spec.headline]


def oldest_first(period, count):
    found = [period]
    while len(found) < count:
        found.append(found[-1].previous())
    return found[::-1]


def by_compute(config, periods):
    """Each period's headline KPIs as compute gives them (one compute per two periods)."""
    values = {}
    with open_source(config) as source:
        for index in range(len(periods) - 1, -1, -2):
            result = SECTION.compute(source, config, periods[index])
            values[index] = result.kpis
            if index:
                values[index - 1] = result.previous_kpis
    return {key: [values[i][key] for i in range(len(periods))] for key in HEADLINE}


def by_history(config, periods):
    with open_source(config) as source:
        return SECTION.history(source, config, periods)


def check(config, periods):
    want, got = by_compute(config, periods), by_history(config, periods)
    assert set(got) >= set(HEADLINE)
    for key in HEADLINE:
        assert got[key] == want[key], key


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "tests" / "report" / "golden"))
    from cases import DEMO_SEGMENTS, demo_database

    path = demo_database(tmp_path_factory.mktemp("demo"))
    return config_from_dict({"source": {"url": f"sqlite:///{path}"}, "segments": DEMO_SEGMENTS})


def test_demo_months_match_compute(demo_config):
    check(demo_config, oldest_first(month_period("2026-11"), 4))


def test_demo_weeks_match_compute(demo_config):
    check(demo_config, oldest_first(week_period("2026-W47"), 4))


MIXED_CARTS = [
    ("K1", "C1", "2024-01-10 10:00:00", "abandoned"),
    ("K2", "C1", "2024-01-31 23:30:00", "converted"),
    ("K3", "C2", "2024-02-01 00:10:00", "abandoned"),
    ("K3", "C2", "2024-03-20 10:00:00", "converted"),  # duplicate: kept in March (converted)
    ("K4", "C3", "2024-02-15 10:00:00", "open"),
    ("K5", "C3", "2024-02-26 08:00:00", "abandoned"),  # a Monday: its week starts with it
    ("K6", None, "2024-03-03 10:00:00", "abandoned"),
    ("K7", "C4", "2024-03-04 10:00:00", "converted"),
    ("K8", "C1", "2024-03-29 10:00:00", "weird"),
    ("K9", "C2", "2024-03-31 23:59:59", "abandoned"),
    ("K10", "C5", "not a date", "abandoned"),
    ("K11", "C6", "2024-03-10 15:00:00", "abandoned"),  # re-engaged by O7 when date-only
]
MIXED_ITEMS = [
    ("K1", "P1", 2, 5.0),
    ("K2", "P1", 1, 5.0),
    ("K3", "P2", 1, 7.25),
    ("K3", "P2", 1, 7.25),  # merged by sum
    ("K5", "P1", -1, 5.0),  # invalid
    ("K6", "P3", 3, 1.1),
    ("K9", "P1", 1, 0.1),
    ("K9", "P2", 1, 0.2),
]
MIXED_ORDERS = [
    ("O1", "C1", "2024-01-12 10:00:00", None),  # re-engages C1 (K1) and links K2? no, before
    ("O2", "C1", "2024-02-02 10:00:00", "K2"),
    ("O3", "C3", "2024-03-01 09:00:00", None),  # re-engages C3 (K5)
    ("O4", "C2", "2024-03-22 10:00:00", "K3"),
    ("O5", "C4", "2024-03-06 12:00:00", None),  # K7 by next order
    ("O6", "C2", "2024-04-03 10:00:00", None),  # re-engages C2 (K9) after the period
    ("O7", "C6", "2024-03-10 09:00:00", None),  # before K11, but on its day
]


@pytest.mark.parametrize(
    "periods",
    [
        oldest_first(month_period("2024-04"), 4),
        oldest_first(week_period("2024-W13"), 6),
        oldest_first(month_period("2024-03"), 1),
    ],
    ids=["months", "weeks", "one-month"],
)
def test_hand_made_periods_match_compute(make_db, tmp_path, periods):
    db = make_db(carts=MIXED_CARTS, cart_items=MIXED_ITEMS, orders=MIXED_ORDERS)
    check(config_from_dict({"source": {"url": f"sqlite:///{db}"}}, base_dir=tmp_path), periods)


def test_date_only_values_match_compute(make_db, tmp_path):
    carts = [(c[0], c[1], str(c[2])[:10], c[3]) for c in MIXED_CARTS]
    orders = [(o[0], o[1], o[2][:10], o[3]) for o in MIXED_ORDERS]
    db = make_db(carts=carts, cart_items=MIXED_ITEMS, orders=orders)
    config = config_from_dict({"source": {"url": f"sqlite:///{db}"}}, base_dir=tmp_path)
    check(config, oldest_first(week_period("2024-W13"), 6))
    # January K1, K2; February K4, K5 (K3's kept row is March's); March K3, K6 to K9, K11.
    months = by_history(config, oldest_first(month_period("2024-03"), 3))
    assert months["carts.carts_total"] == [2, 2, 6]
