"""The cover's event history in one pass equals ``compute`` period by period.

``Section.history`` reads the log once for a window of periods; each headline KPI it
gives must be exactly the value ``compute`` gives for that period alone, on the
REES46-like sample (CSV through DuckDB) and on the demo shop (SQLite), by month and by
week, including periods the data does not reach.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reportgen.config import config_from_dict, load_config
from reportgen.periods import Period, month_period, week_period
from reportgen.sections.events import SECTION
from reportgen.sections.events.compute import HEADLINE_KPIS, compute, history
from reportgen.source.connection import open_source

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def window(newest: Period, count: int) -> list[Period]:
    """Return ``count`` contiguous periods ending with ``newest``, oldest first."""
    periods = [newest]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods[::-1]


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    """The demo shop, small: August to November 2026."""
    from reportgen.demo.shop import generate_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    generate_demo(path, seed=7, scale=0.05, end=date(2026, 12, 1), months=3)
    return config_from_dict({"source": {"url": f"sqlite:///{path}"}})


def rees46_config():
    return load_config(FIXTURES / "rees46.yaml")


def assert_history_is_compute(config, periods: list[Period]) -> dict[str, list]:
    with open_source(config) as source:
        found = history(source, config, periods)
        one_by_one = [compute(source, config, period).kpis for period in periods]
    assert set(found) == set(HEADLINE_KPIS)
    for key in HEADLINE_KPIS:
        assert found[key] == [kpis[key] for kpis in one_by_one], key
    return found


@pytest.mark.parametrize(
    ("newest", "count"),
    [(month_period("2021-02"), 5), (week_period("2021-W02"), 7)],
    ids=["month", "week"],
)
def test_rees46_history_equals_compute(newest, count):
    found = assert_history_is_compute(rees46_config(), window(newest, count))
    assert any(found["events.users"]), "the sample's periods hold events"
    assert 0 in found["events.users"], "and the window reaches before the sample starts"


@pytest.mark.parametrize(
    "newest",
    [month_period("2026-11"), week_period("2026-W47")],
    ids=["month", "week"],
)
def test_demo_history_equals_compute(demo_config, newest):
    found = assert_history_is_compute(demo_config, window(newest, 6))
    assert all(found["events.users"][-3:]), found
    assert found["events.revenue"][-1] > 0


def test_a_single_period_for_the_year_ago_card():
    config = rees46_config()
    period = month_period("2021-01")
    with open_source(config) as source:
        found = history(source, config, [period])
        kpis = compute(source, config, period).kpis
    assert found == {key: [kpis[key]] for key in HEADLINE_KPIS}


def test_event_kpis_get_their_sparklines():
    assert SECTION.history is history
    assert SECTION.history_note is None


COPIED = [
    # Two users in March and one in April; exact copies of views, carts and purchases,
    # a purchase spelled the other configured way, a copied purchase at price 0, and a
    # purchase that differs from another only in its session.
    ("2024-03-01 10:00:00", "view", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:00:00", "view", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:00:00", "view", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:01:00", "cart", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:01:00", "cart", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:02:00", "purchase", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:02:00", "purchase", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:02:00", "purchase_cart", "p1", "5.0", "u1", "s1"),
    ("2024-03-01 10:02:00", "purchase", "p1", "5.0", "u1", "s2"),
    ("2024-03-02 11:00:00", "view", "p2", "7.5", "u2", "s3"),
    ("2024-03-02 11:00:00", "purchase", "p2", "0", "u2", "s3"),
    ("2024-03-02 11:00:00", "purchase", "p2", "0", "u2", "s3"),
    ("2024-04-03 09:00:00", "view", "p2", "7.5", "u3", "s4"),
    ("2024-04-03 09:05:00", "purchase", "p2", "7.5", "u3", "s4"),
    ("2024-04-03 09:05:00", "purchase", "p2", "7.5", "u3", "s4"),
]
"""Events with exact duplicates of every kind (METRICS.md §8: copies are collapsed)."""


def copied_sources(folder: Path) -> dict[str, dict]:
    """The rows above as a CSV (DuckDB) and as a SQLite table."""
    import sqlite3

    header = ("event_time", "event_type", "product_id", "price", "user_id", "session_id")
    csv = folder / "events.csv"
    csv.write_text("\n".join(",".join(row) for row in [header, *COPIED]) + "\n")
    db = folder / "events.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute(f"create table events ({', '.join(header)})")
        conn.executemany("insert into events values (?, ?, ?, ?, ?, ?)", COPIED)
    return {"duckdb": {"files": {"events": str(csv)}}, "sqlite": {"url": f"sqlite:///{db}"}}


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_copies_of_every_kind_leave_the_history_equal_to_compute(tmp_path, engine):
    config = config_from_dict({"source": copied_sources(tmp_path)[engine]})
    found = assert_history_is_compute(config, window(month_period("2024-04"), 3))
    # Collapsed: one $5 purchase per (event_type, session) in March, one $7.50 in April.
    assert found["events.revenue"] == [0.0, 15.0, 7.5]
    assert found["events.users"] == [0, 2, 1]
    with open_source(config) as source:
        march = compute(source, config, month_period("2024-03"))
    assert march.data_quality["events.duplicates_removed"] == 5
