"""The experiment section on the hand-made log of ``experiment_data`` (METRICS.md §5, §8).

Every expected number comes from the counts written in ``experiment_data.ARMS`` and the
textbook formulas below (scipy for the normal and chi-square tails), never from the code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats as sp

from reportgen.config import config_from_dict
from reportgen.errors import ConfigError, SourceError
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics
from reportgen.sections.experiments.declaration import results_columns

from experiment_data import (  # isort: skip
    ARMS,
    REVENUE,
    RULES,
    SESSION_COLUMNS,
    statements,
    write_duckdb,
    write_sqlite,
)

MARCH = month_period("2024-03")
RATES = ("ctr", "add_to_cart_rate", "purchase_rate")


def run(url: str, period=MARCH, **rules) -> dict:
    config = config_from_dict({"source": {"url": url}, "rules": {**RULES, **rules}})
    return compute_metrics(config, period, sections=["experiments"])


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory) -> Path:
    return write_sqlite(tmp_path_factory.mktemp("exp") / "log.db")


@pytest.fixture(scope="module")
def metrics(sqlite_db) -> dict:
    return run(f"sqlite:///{sqlite_db}")


def rows(metrics: dict, table: str) -> list[dict]:
    return metrics["tables"][table]


def expected(control: tuple[int, ...], variant: tuple[int, ...], index: int) -> dict:
    """diff, lift, pooled z-test p and Wald interval for rate ``index`` (1 = clicks)."""
    nc, hc, nt, ht = control[0], control[index], variant[0], variant[index]
    pc, pt = hc / nc, ht / nt
    pooled = (hc + ht) / (nc + nt)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nt))
    se = math.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    return {
        "diff": pt - pc,
        "lift": None if pc == 0 else (pt - pc) / pc,
        "p_value": None if se0 == 0 else 2 * sp.norm.sf(abs(pt - pc) / se0),
        "ci_low": pt - pc - 1.959964 * se,
        "ci_high": pt - pc + 1.959964 * se,
    }


def holm_by_hand(p_values: list[float]) -> list[float]:
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    out, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1, (len(p_values) - rank) * p_values[i]))
        out[i] = running
    return out


# (experiment, variant, control) of every comparison, in report order.
COMPARISONS = [
    ("3", "B", "A"),
    ("7", "A", "Z"),
    ("7", "B", "Z"),
    ("10", "B", "A"),
    ("12", "green", "blue"),
]


def test_rows_are_ordered_by_numeric_id_control_first(metrics):
    found = [(r["experiment_id"], r["variant"]) for r in rows(metrics, "experiments.results")]
    assert found == [
        (3, "A"), (3, "B"),
        (7, "Z"), (7, "A"), (7, "B"),  # control_variant Z from the experiments table
        (10, "A"), (10, "B"),  # no control_variant: A
        (12, "blue"), (12, "green"),  # control_variant Q is no variant, no A: first in order
    ]  # fmt: skip
    assert list(rows(metrics, "experiments.results")[0]) == list(results_columns("ctr"))


def test_arm_rates_count_sessions_once_and_read_every_boolean_spelling(metrics):
    for row in rows(metrics, "experiments.results"):
        n, clicked, carted, bought = ARMS[(str(row["experiment_id"]), row["variant"])]
        assert row["sessions"] == n
        assert row["ctr"] == pytest.approx(clicked / n)
        assert row["add_to_cart_rate"] == pytest.approx(carted / n)
        assert row["purchase_rate"] == pytest.approx(bought / n)
        revenue = REVENUE.get((str(row["experiment_id"]), row["variant"]), 0.0)
        assert row["revenue_per_session"] == pytest.approx(revenue / n)


def test_comparisons_p_values_intervals_and_holm(metrics):
    by_key = {
        (str(r["experiment_id"]), r["variant"]): r for r in rows(metrics, "experiments.results")
    }
    primary_p = []
    for eid, variant, control in COMPARISONS:
        row = by_key[(eid, variant)]
        for index, rate in enumerate(RATES, start=1):
            want = expected(ARMS[(eid, control)], ARMS[(eid, variant)], index)
            prefix = "" if rate == "ctr" else f"{rate}_"
            for key, value in want.items():
                got = row[f"{prefix}{key}"]
                assert got == (None if value is None else pytest.approx(value)), (
                    eid,
                    variant,
                    rate,
                    key,
                )
        primary_p.append(row["p_value"])
    adjusted = holm_by_hand(primary_p)
    for (eid, variant, _), want in zip(COMPARISONS, adjusted, strict=True):
        row = by_key[(eid, variant)]
        assert row["p_adjusted"] == pytest.approx(want)
        assert row["significant"] is (want < 0.05)
    # 10's p (2e-5) passes 0.05 / 5, which lets 12 (0.0124 x 4 = 0.0497) and 7 B
    # (0.0149 x 3 = 0.0446) pass too; 3 B and 7 A do not. Only 10 gets a verdict (below).
    assert [k for k, r in by_key.items() if r["significant"]] == [
        ("7", "B"),
        ("10", "B"),
        ("12", "green"),
    ]


def test_control_rows_carry_nulls_in_every_comparison_column(metrics):
    comparison = ["diff", "lift", "p_value", "p_adjusted", "ci_low", "ci_high", "significant"]
    comparison += [
        f"{rate}_{part}"
        for rate in ("add_to_cart_rate", "purchase_rate")
        for part in ("diff", "lift", "p_value", "ci_low", "ci_high")
    ]
    for row in rows(metrics, "experiments.results"):
        if (str(row["experiment_id"]), row["variant"]) in {
            ("3", "A"),
            ("7", "Z"),
            ("10", "A"),
            ("12", "blue"),
        }:
            assert all(row[c] is None for c in comparison), row


def test_zero_control_rate_and_zero_pooled_se(metrics):
    by_key = {
        (str(r["experiment_id"]), r["variant"]): r for r in rows(metrics, "experiments.results")
    }
    checkout = by_key[("10", "B")]
    assert checkout["purchase_rate_lift"] is None  # control never purchased
    assert checkout["purchase_rate_p_value"] is not None
    search = by_key[("7", "B")]
    assert search["add_to_cart_rate_p_value"] is None  # nobody added to cart: SE 0
    assert search["add_to_cart_rate_lift"] is None
    assert by_key[("7", "A")]["p_value"] == pytest.approx(1.0)  # equal to control


def test_srm_flags_a_broken_split_on_every_row(metrics):
    for row in rows(metrics, "experiments.results"):
        counts = [ARMS[k][0] for k in ARMS if k[0] == str(row["experiment_id"])]
        assert row["srm_p_value"] == pytest.approx(sp.chisquare(counts).pvalue)
        assert row["srm_flag"] is (row["experiment_id"] == 12)  # 70/30: p = 6.3e-5


def test_gates_and_statuses(metrics):
    gates = {g["experiment_id"]: g for g in rows(metrics, "experiments.gates")}
    assert {k: g["status"] for k, g in gates.items()} == {
        3: "too_small",  # 5 and 6 sessions, below 20
        7: "still_running",  # a session on 2 April
        10: "ship",
        12: "fix_split",
    }
    assert gates[7]["sessions_after_end"] == 1
    assert (gates[7]["finished"], gates[7]["sample_ok"], gates[7]["split_ok"]) == (
        False,
        True,
        True,
    )
    assert gates[12]["name"] == "Banner"  # the duplicate experiments row kept the name
    assert gates[12]["control_variant"] == "blue"
    assert gates[10]["smallest_arm_sessions"] == 40
    assert (gates[10]["first_started"], gates[10]["last_started"]) == ("2024-03-01", "2024-03-28")
    verdicts = {
        (v["experiment_id"], v["variant"]): v for v in rows(metrics, "experiments.verdicts")
    }
    assert verdicts[(10, "B")]["verdict"] == "ship"
    assert verdicts[(10, "B")]["reason"] == "gates_passed"
    # A failed gate: no verdict, whatever the numbers say.
    assert verdicts[(12, "green")]["verdict"] is None
    assert verdicts[(12, "green")]["reason"] == "fix_split"
    assert verdicts[(7, "B")]["verdict"] is None
    # Sessions to detect the tiny experiment's difference (0.2 → 0.5) at 80% power.
    z = sp.norm.ppf(0.975) + sp.norm.ppf(0.8)
    needed = math.ceil(z**2 * (0.2 * 0.8 + 0.5 * 0.5) / 0.3**2)
    assert verdicts[(3, "B")]["needed_sessions_per_arm"] == needed
    assert verdicts[(3, "B")]["more_sessions_per_arm"] == needed - 5
    assert verdicts[(7, "A")]["needed_sessions_per_arm"] is None  # no difference
    assert verdicts[(10, "B")]["revenue_per_session_diff"] == pytest.approx(1.5)


def test_kpis_of_both_periods(metrics):
    kpis = metrics["kpis"]
    assert {k: v for k, v in kpis.items() if k != "previous"} == {
        "experiments.experiments": 4,
        "experiments.sessions": sum(n for (n, *_) in ARMS.values()),
        "experiments.significant": 3,  # 7, 10 and 12, gates not applied
        "experiments.ready_to_ship": 1,
        "experiments.to_stop": 0,
        "experiments.keep_running": 0,
        "experiments.srm_flagged": 1,
        "experiments.still_running": 1,
        "experiments.too_small": 1,
    }
    # February: only experiment 20 (10 + 10 sessions; its crossover dropped); too small.
    assert kpis["previous"]["experiments.experiments"] == 1
    assert kpis["previous"]["experiments.sessions"] == 20
    assert kpis["previous"]["experiments.too_small"] == 1


def test_data_quality(metrics):
    assert metrics["data_quality"] == {
        "experiments.crossover_sessions": 1,  # 10-x; February's 20-x is not in the report
        "experiments.duplicate_session_rows": 1,  # 10-A-10 twice
        "experiments.null_session_ids": 0,
        "experiments.unassigned_rows": 2,  # no variant; no experiment_id
        "experiments.unparsed_started_at": 2,  # "garbage" and NULL
    }


def test_personas_strip_values_and_mark_small_ones(metrics):
    personas = [r for r in rows(metrics, "experiments.segments") if r["experiment_id"] == 10]

    # Users cycle u1..u6, None over sessions 0..39; u1, u2 Gold; u3, " Silver " (u4) Silver;
    # u5 (tier NULL), u6 (no customer row) and no user: Unknown. Clicks: sessions < 10 (A,
    # with 9 -> 10 moved by the duplicate) and < 28 (B).
    def cell(variant_clicks: set[int], users: set[str | None]) -> tuple[int, int]:
        cycle = ("u1", "u2", "u3", "u4", "u5", "u6", None)
        members = [i for i in range(40) if cycle[i % 7] in users]
        return len(members), sum(1 for i in members if i in variant_clicks)

    a_clicks, b_clicks = set(range(9)) | {10}, set(range(28))
    groups = {"Gold": {"u1", "u2"}, "Silver": {"u3", "u4"}, "Unknown": {"u5", "u6", None}}
    assert [r["segment"] for r in personas] == ["Unknown", "Gold", "Silver"]  # sessions desc
    for row in personas:
        (na, ha), (nb, hb) = (
            cell(a_clicks, groups[row["segment"]]),
            cell(b_clicks, groups[row["segment"]]),
        )
        assert (row["control_sessions"], row["sessions"]) == (na, nb)
        assert row["control_rate"] == pytest.approx(ha / na)
        assert row["rate"] == pytest.approx(hb / nb)
        assert row["readable"] is True
        assert row["dimension"] == "loyalty_tier"
    tiny = [r for r in rows(metrics, "experiments.segments") if r["experiment_id"] == 3]
    assert tiny
    assert not any(r["readable"] for r in tiny)


def test_the_primary_metric_rule_moves_the_unprefixed_columns(sqlite_db):
    found = run(f"sqlite:///{sqlite_db}", experiment_primary_metric="add_to_cart_rate")
    row = next(
        r
        for r in rows(found, "experiments.results")
        if r["experiment_id"] == 10 and r["variant"] == "B"
    )
    assert list(row) == list(results_columns("add_to_cart_rate"))
    assert "ctr_diff" in row
    assert "add_to_cart_rate_diff" not in row
    assert row["diff"] == pytest.approx(0.0)  # 4/40 in both arms
    assert row["ctr_diff"] == pytest.approx(0.7 - 0.25)
    assert found["rules"]["experiment_primary_metric"] == "add_to_cart_rate"


def test_an_empty_period_reports_zeros_and_empty_tables(sqlite_db):
    found = run(f"sqlite:///{sqlite_db}", period=month_period("2024-06"))
    assert all(v == 0 for k, v in found["kpis"].items() if k != "previous")
    for table in (
        "experiments.results",
        "experiments.gates",
        "experiments.verdicts",
        "experiments.segments",
    ):
        assert found["tables"][table] == []
    assert found["data_quality"]["experiments.crossover_sessions"] == 0


def test_sqlite_and_duckdb_give_the_same_metrics(tmp_path, metrics):
    duck = write_duckdb(tmp_path / "log.duckdb")
    assert json.dumps(run(f"duckdb:///{duck}"), sort_keys=True) == json.dumps(
        metrics, sort_keys=True
    )


def test_postgres_gives_the_same_metrics(postgres_url, metrics):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        for table in ("experiment_sessions", "experiments", "customers"):
            conn.exec_driver_sql(f'drop table if exists "{table}"')
        for sql, table_rows in statements(None, {}, "text"):
            if table_rows is None:
                conn.exec_driver_sql(sql)
            elif table_rows:
                text = [tuple(None if v is None else str(v) for v in row) for row in table_rows]
                conn.exec_driver_sql(sql.replace("?", "%s"), text)
    engine.dispose()
    try:
        found = run(postgres_url)
    finally:
        engine = sa.create_engine(postgres_url)
        with engine.begin() as conn:
            for table in ("experiment_sessions", "experiments", "customers"):
                conn.exec_driver_sql(f'drop table if exists "{table}"')
        engine.dispose()
    assert json.dumps(found, sort_keys=True) == json.dumps(metrics, sort_keys=True)


def test_without_user_id_and_revenue_the_parts_are_skipped(tmp_path):
    path = write_sqlite(tmp_path / "bare.db", columns=SESSION_COLUMNS[:7])
    found = run(f"sqlite:///{path}")
    assert {
        "section": "experiments.revenue_per_session",
        "reason": "no column revenue in experiment_sessions",
    } in found["skipped"]
    assert {
        "section": "experiments.segments",
        "reason": "no column user_id in experiment_sessions",
    } in found["skipped"]
    assert "experiments.segments" not in found["tables"]
    assert all(r["revenue_per_session"] is None for r in rows(found, "experiments.results"))


def test_without_experiments_or_customers_tables(tmp_path):
    path = write_sqlite(tmp_path / "alone.db", experiments=False, customers=False)
    found = run(f"sqlite:///{path}")
    gates = {g["experiment_id"]: g for g in rows(found, "experiments.gates")}
    assert gates[7]["control_variant"] == "A"  # no control_variant to read: the A rule
    assert gates[12]["name"] is None
    assert {"section": "experiments.segments", "reason": "no table customers"} in found["skipped"]


def test_a_missing_column_is_named(tmp_path):
    path = write_sqlite(
        tmp_path / "broken.db",
        columns=("experiment_id", "variant", "session_id", "started_at", "clicked"),
    )
    with pytest.raises(
        SourceError, match=r"column 'added_to_cart' missing from table 'experiment_sessions'"
    ):
        run(f"sqlite:///{path}")
    path = write_sqlite(tmp_path / "broken2.db", experiments=[])
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("drop table experiments")
        db.execute("create table experiments (id, name)")
    with pytest.raises(
        SourceError, match=r"column 'experiment_id' missing from table 'experiments'"
    ):
        run(f"sqlite:///{path}")


def test_bad_rules_are_config_errors():
    with pytest.raises(ConfigError, match=r"rules\.experiment_segments: .*unknown segment 'tier'"):
        config_from_dict({"rules": {"experiment_segments": ["tier"]}})
    with pytest.raises(ConfigError, match=r"rules\.experiment_primary_metric"):
        config_from_dict({"rules": {"experiment_primary_metric": "revenue"}})
    with pytest.raises(ConfigError, match=r"rules\.alpha"):
        config_from_dict({"rules": {"experiments": {"alpha": 1.5}}})
