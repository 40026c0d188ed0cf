"""Hand-computed checks of the marketing section against METRICS.md §6, §7 and §8.

One tiny shop, every expected number worked out in the comments (STYLE.md rule 14). The
report period is March 2024 (UTC); the previous period is February, the one before it
January. Customers and their parseable orders:

    A  2023-11-15 (first order, long before the periods), 02-10, 03-05, 03-20 (NULL total)
    B  01-05, 02-14, 03-31 23:59:59 (the period's last second)
    C  02-01 (date-only)           E  01-20            H  02-29 23:59:59 (status emptied)
    D  03-10 (date-only), 04-01 00:00:00 (the period end: outside)
    F  03-15 (status "Abandoned ", campaign CQ that no campaign table knows)
    -  03-12, no customer (campaign CY)
    G  "not a date" (unparsed: in no period, no cohort)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from marketing_shop import MARCH, ORDER_COLUMNS, ORDERS, TABLES, metrics_of, write_sqlite

from reportgen.config import config_from_dict
from reportgen.periods import month_period, week_period
from reportgen.report.metrics import compute_metrics


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_sqlite(tmp_path / "shop.db", TABLES)


@pytest.fixture
def march(shop: Path) -> dict[str, Any]:
    return metrics_of(f"sqlite:///{shop}")


def test_kpis_of_the_period(march):
    # March orders: o3 o4 (A), o7 (B), o9 (D), o12 (F), o13 (no customer) = 6; customers
    # A B D F = 4; A alone has two. February's customers A B C H: A and B came back.
    # Statuses: completed, shipped, abandoned, completed, abandoned, completed: 2 of 6.
    # Revenue 60 + 0 (NULL) + 80 + 20 + 35 + 50 = 245; with a code: o3 60 + o9 20 (o7's
    # code is blank) = 80.
    kpis = march["kpis"]
    assert {k: v for k, v in kpis.items() if k.startswith("marketing.")} == {
        "marketing.orders": 6,
        "marketing.customers": 4,
        "marketing.orders_per_customer": 1.5,
        "marketing.repeat_purchase_rate": 0.25,
        "marketing.retention_rate": 0.5,
        "marketing.order_abandonment_rate": pytest.approx(2 / 6),
        "marketing.discount_revenue_share": pytest.approx(80 / 245),
    }


def test_kpis_of_the_previous_period(march):
    # February: o2 (A), o6 (B), o8 (C), o15 (H): 4 orders of 4 customers, none twice.
    # Its retention is against January (B, E): B came back, 1 of 2. Statuses: o6 NULL and
    # o8 empty have none; o2 completed, o15 emptied (abandoned): 1 of 2. Revenue 145, of
    # which o8's 70 carried a code.
    previous = march["kpis"]["previous"]
    assert {k: v for k, v in previous.items() if k.startswith("marketing.")} == {
        "marketing.orders": 4,
        "marketing.customers": 4,
        "marketing.orders_per_customer": 1.0,
        "marketing.repeat_purchase_rate": 0.0,
        "marketing.retention_rate": 0.5,
        "marketing.order_abandonment_rate": 0.5,
        "marketing.discount_revenue_share": pytest.approx(70 / 145),
    }


def test_campaigns_table(march):
    # Listed: activity in March (CX CY CZ CW) or orders in March (CX CY CZ CQ), by id as
    # text. CX: 150 clicks, 75 cost, 1500 impressions (February and the unparsed row left
    # out), orders o3 o4 worth 60 + 0; CY: zero clicks, so no CPC; CZ: zero cost and zero
    # impressions, so no ROI and no CTR; CW: impressions all NULL sum to 0; CQ: orders only.
    assert march["tables"]["marketing.campaigns"] == [
        {
            "campaign_id": "CQ",
            "name": None,
            "channel": None,
            "clicks": 0,
            "cost": 0.0,
            "impressions": 0,
            "ctr": None,
            "cpc": None,
            "orders": 1,
            "revenue": 35.0,
            "roi": None,
        },
        {
            "campaign_id": "CW",
            "name": None,
            "channel": None,
            "clicks": 5,
            "cost": 2.5,
            "impressions": 0,
            "ctr": None,
            "cpc": 0.5,
            "orders": 0,
            "revenue": 0.0,
            "roi": -1.0,
        },
        {
            "campaign_id": "CX",
            "name": "Spring email",
            "channel": "Email",
            "clicks": 150,
            "cost": 75.0,
            "impressions": 1500,
            "ctr": 0.1,
            "cpc": 0.5,
            "orders": 2,
            "revenue": 60.0,
            "roi": -0.2,
        },
        {
            "campaign_id": "CY",
            "name": "Social push",
            "channel": "Paid Social",
            "clicks": 0,
            "cost": 10.0,
            "impressions": 200,
            "ctr": 0.0,
            "cpc": None,
            "orders": 2,
            "revenue": 130.0,
            "roi": 12.0,
        },
        {
            "campaign_id": "CZ",
            "name": None,
            "channel": "Search",
            "clicks": 20,
            "cost": 0.0,
            "impressions": 0,
            "ctr": None,
            "cpc": 0.0,
            "orders": 1,
            "revenue": 20.0,
            "roi": None,
        },
    ]


def test_cohorts_up_to_the_period_end(march):
    # First orders: A 2023-11; B, E 2024-01; C, H 2024-02; D, F 2024-03 (D's April order
    # and G's unparsed one do not count). A ordered in 2023-11, 2024-02 and 2024-03;
    # B in January, February and on 31 March at 23:59:59. A cell is listed while its
    # month starts before 2024-04-01: 2023-11 runs to months_since 4, 2024-01 to 2.
    cells = [
        (row["cohort"], row["months_since"], row["customers"], row["active"], row["share"])
        for row in march["tables"]["marketing.cohorts"]
    ]
    assert cells == [
        ("2023-11", 0, 1, 1, 1.0),
        ("2023-11", 1, 1, 0, 0.0),
        ("2023-11", 2, 1, 0, 0.0),
        ("2023-11", 3, 1, 1, 1.0),
        ("2023-11", 4, 1, 1, 1.0),
        ("2024-01", 0, 2, 2, 1.0),
        ("2024-01", 1, 2, 1, 0.5),
        ("2024-01", 2, 2, 1, 0.5),
        ("2024-02", 0, 2, 2, 1.0),
        ("2024-02", 1, 2, 0, 0.0),
        ("2024-03", 0, 2, 2, 1.0),
    ]


def test_cohorts_of_a_week_stop_at_its_end(shop):
    # Week 2024-W11 ends on Monday 18 March: March's cells are listed (the month starts
    # before the end) but count only orders before it. A's order of 5 March counts
    # (2023-11, month 4), B's of 31 March does not (2024-01, month 2: 0 of 2).
    metrics = metrics_of(f"sqlite:///{shop}", week_period("2024-W11"))
    cells = {
        (row["cohort"], row["months_since"]): (row["active"], row["share"])
        for row in metrics["tables"]["marketing.cohorts"]
    }
    assert cells[("2023-11", 4)] == (1, 1.0)
    assert cells[("2024-01", 2)] == (0, 0.0)
    assert cells[("2024-03", 0)] == (2, 1.0)  # D (10 March) and F (15 March)
    assert ("2024-03", 1) not in cells


def test_by_month_history(march):
    # The 12 months to March 2024. December: nobody ordered, so its repeat rate is n/a and
    # its retention 0 of November's 1 (A). February: January's B and E, B came back.
    by_month = {row["month"]: row for row in march["tables"]["marketing.by_month"]}
    assert list(by_month) == [f"2023-{m:02d}" for m in range(4, 13)] + [
        "2024-01",
        "2024-02",
        "2024-03",
    ]
    assert by_month["2023-11"] == {
        "month": "2023-11",
        "orders": 1,
        "customers": 1,
        "repeat_purchase_rate": 0.0,
        "retention_rate": None,
        "revenue": 100.0,
        "discount_revenue": 0.0,
        "other_revenue": 100.0,
        "discount_revenue_share": 0.0,
    }
    assert by_month["2023-12"]["repeat_purchase_rate"] is None
    assert by_month["2023-12"]["retention_rate"] == 0.0
    assert by_month["2023-12"]["discount_revenue_share"] is None  # no revenue at all
    assert by_month["2024-02"]["retention_rate"] == 0.5
    assert by_month["2024-03"] == {
        "month": "2024-03",
        "orders": 6,
        "customers": 4,
        "repeat_purchase_rate": 0.25,
        "retention_rate": 0.5,
        "revenue": 245.0,
        "discount_revenue": 80.0,
        "other_revenue": 165.0,
        "discount_revenue_share": pytest.approx(80 / 245),
    }


def test_data_quality(march):
    # o14 is unparsed; o13 has no customer; the newest order is D's at the period end;
    # one activity row has month 13; F's campaign CQ is in neither campaign table.
    assert {k: v for k, v in march["data_quality"].items() if k.startswith("marketing.")} == {
        "marketing.unparsed_order_date": 1,
        "marketing.null_customer_orders": 1,
        "marketing.newest_order": "2024-04-01 00:00:00",
        "marketing.unparsed_activity_date": 1,
        "marketing.unknown_campaign_orders": 1,
    }
    assert [s for s in march["skipped"] if s["section"].startswith("marketing")] == []


def test_retention_is_final_once_the_data_reaches_the_period_end(march, shop):
    from reportgen.sections.marketing.kpis import window_open

    assert window_open(march) is None  # the newest order is at 2024-04-01 00:00
    april = metrics_of(f"sqlite:///{shop}", month_period("2024-04"))
    assert "1 Apr 2024" in window_open(april)
    assert "may still rise" in window_open(april)


def test_abandoned_statuses_rule_is_shared(shop):
    # Only "shipped" abandoned: o4 of 6 March orders with a status.
    metrics = metrics_of(f"sqlite:///{shop}", rules={"abandoned_statuses": [" Shipped"]})
    assert metrics["kpis"]["marketing.order_abandonment_rate"] == pytest.approx(1 / 6)
    assert metrics["rules"]["abandoned_statuses"] == ["shipped"]


def test_an_offset_order_moves_across_the_month_edge_in_another_zone(tmp_path):
    # 23:30 UTC on 31 March 2024 is 00:30 on 1 April in London (summer time began that
    # day): a March order in UTC, an April one in Europe/London. B's naive 23:59:59 stays
    # in March in both zones.
    orders = [*ORDERS, ("o16", "B", "2024-03-31 23:30:00 UTC", 5, "completed", None, None)]
    path = write_sqlite(tmp_path / "zoned.db", {**TABLES, "orders": (ORDER_COLUMNS, orders)})
    in_utc = metrics_of(f"sqlite:///{path}")
    in_london = metrics_of(f"sqlite:///{path}", report={"timezone": "Europe/London"})
    assert in_utc["kpis"]["marketing.orders"] == 7
    assert in_utc["kpis"]["marketing.repeat_purchase_rate"] == 0.5  # A and B twice
    assert in_london["kpis"]["marketing.orders"] == 6
    assert in_london["kpis"]["marketing.repeat_purchase_rate"] == 0.25


def _duckdb(path: Path) -> Path:
    kinds = {"order_total": "double", "clicks": "double", "cost": "double", "impressions": "double"}
    with duckdb.connect(str(path)) as db:
        for name, (columns, rows) in TABLES.items():
            declared = ", ".join(f"{c} {kinds.get(c, 'varchar')}" for c in columns)
            db.execute(f"create table {name} ({declared})")
            db.executemany(f"insert into {name} values ({', '.join('?' for _ in columns)})", rows)
    return path


def _text(metrics: dict[str, Any]) -> str:
    return json.dumps(metrics, sort_keys=True, indent=1)


@pytest.mark.parametrize("period", [MARCH, week_period("2024-W11")], ids=lambda p: p.label)
def test_duckdb_gives_the_same_metrics_json(shop, tmp_path, period):
    expected = _text(metrics_of(f"sqlite:///{shop}", period))
    target = _duckdb(tmp_path / "shop.duckdb")
    assert _text(metrics_of(f"duckdb:///{target}", period)) == expected


def test_postgresql_gives_the_same_metrics_json(shop, postgres_url):
    # A database of its own: the session's server also holds other tests' tables (the
    # demo's carts and events), which would add their sections to this metrics.json.
    expected = _text(metrics_of(f"sqlite:///{shop}"))
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("drop database if exists mk_handmade")
        conn.exec_driver_sql("create database mk_handmade")
    url = postgres_url.rsplit("/", 1)[0] + "/mk_handmade"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name, (columns, rows) in TABLES.items():
                numeric = {"order_total", "clicks", "cost", "impressions"}
                declared = ", ".join(
                    f"{c} {'double precision' if c in numeric else 'text'}" for c in columns
                )
                conn.exec_driver_sql(f'create table "{name}" ({declared})')
                marks = ", ".join(f"%({c})s" for c in columns)
                conn.exec_driver_sql(
                    f'insert into "{name}" values ({marks})',
                    [dict(zip(columns, row, strict=True)) for row in rows],
                )
        engine.dispose()
        assert _text(metrics_of(url)) == expected
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql("drop database if exists mk_handmade")
        admin.dispose()


def test_csv_files_give_the_same_metrics_json(shop, tmp_path):
    import csv

    expected = _text(metrics_of(f"sqlite:///{shop}"))
    files = {}
    for name, (columns, rows) in TABLES.items():
        with (tmp_path / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(["" if v is None else v for v in row] for row in rows)
        files[name] = f"{name}.csv"
    cfg = config_from_dict({"source": {"files": files}}, base_dir=tmp_path)
    # In a CSV, a NULL and an empty text are the same: o8's empty status and o7's blank
    # discount code read as NULL, which the rules treat as no status and no code anyway.
    assert _text(compute_metrics(cfg, MARCH)) == expected
