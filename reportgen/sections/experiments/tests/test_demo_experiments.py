"""The demo shop's experiments: its customers' sessions, inside its window, each design
showing what it was made to show."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date

import pytest

from reportgen.config import config_from_dict
from reportgen.demo.experiments import report_month
from reportgen.demo.shop import generate_demo
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics

END = date(2026, 3, 1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "shop.db"
    return generate_demo(path, seed=7, scale=0.02, end=END)


def one(path, sql: str):
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchone()[0]


def test_sessions_are_the_customers_inside_the_window(demo):
    assert one(demo.path, "select min(started_at) from experiment_sessions") >= str(demo.start)
    assert one(demo.path, "select max(started_at) from experiment_sessions") < str(demo.end)
    strangers = """
        select count(*) from experiment_sessions s
        where user_id is not null
          and not exists (select 1 from customers c where c.customer_id = s.user_id)
    """
    assert one(demo.path, strangers) == 0
    before_signup = """
        select count(*) from experiment_sessions s join customers c on c.customer_id = s.user_id
        where substr(s.started_at, 1, 10) < c.signup_date
    """
    assert one(demo.path, before_signup) == 0
    anonymous = "select avg(user_id is null) from experiment_sessions"
    assert 0.05 < one(demo.path, anonymous) < 0.3
    assert one(demo.path, "select count(*) from experiments") == 7


def test_the_default_month_shows_every_status(demo):
    start, _ = report_month(END)
    assert start == date(2026, 1, 1)  # the last complete month before 28 Feb 2026
    config = config_from_dict({"source": {"url": f"sqlite:///{demo.path}"}})
    metrics = compute_metrics(config, month_period("2026-01"), sections=["experiments"])
    statuses = {g["experiment_id"]: g["status"] for g in metrics["tables"]["experiments.gates"]}
    assert statuses == {
        "EXP-101": "ship",
        "EXP-102": "keep_running",
        "EXP-103": "fix_split",
        "EXP-104": "still_running",
        "EXP-105": "too_small",
        "EXP-106": "stop",
    }  # EXP-099 ended in November: not in January's report
    assert metrics["data_quality"]["experiments.crossover_sessions"] == 40
    gates = {g["experiment_id"]: g for g in metrics["tables"]["experiments.gates"]}
    assert gates["EXP-104"]["control_variant"] == "control"  # named by the experiments table
    assert gates["EXP-104"]["variants"] == 3
    # One-page checkout gains most for Bronze and Silver customers (the persona story).
    tiers = {
        r["segment"]: r["lift"]
        for r in metrics["tables"]["experiments.segments"]
        if r["experiment_id"] == "EXP-101" and r["dimension"] == "loyalty_tier"
    }
    assert min(tiers["Bronze"], tiers["Silver"]) > max(tiers["Gold"], tiers["Platinum"])


def test_the_same_seed_gives_the_same_sessions(tmp_path):
    first = generate_demo(tmp_path / "a.db", seed=3, scale=0.02, end=END)
    second = generate_demo(tmp_path / "b.db", seed=3, scale=0.02, end=END)
    dump = "select * from experiment_sessions order by rowid"
    with closing(sqlite3.connect(first.path)) as a, closing(sqlite3.connect(second.path)) as b:
        assert a.execute(dump).fetchall() == b.execute(dump).fetchall()
