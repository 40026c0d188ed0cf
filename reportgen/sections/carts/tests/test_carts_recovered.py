"""Recovered revenue: the orders that re-engage abandoners, each counted once (METRICS.md
§3 Re-engagement, rule recovered-revenue). March 2024, the default 7-day window."""

from __future__ import annotations

import pytest

from reportgen.render.viewparts import card
from reportgen.sections.carts.kpis import CART_KPIS

ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "cart_id", "order_total")

CARTS = [
    ("A1", "C1", "2024-03-05 10:00:00", "abandoned"),  # window to 03-12 10:00
    ("A2", "C1", "2024-03-07 10:00:00", "abandoned"),  # window to 03-14 10:00
    ("A3", "C2", "2024-03-10 10:00:00", "abandoned"),  # window to 03-17 10:00
    ("A4", "C3", "2024-03-30 12:00:00", "abandoned"),  # window to 04-06 12:00: still open
    ("A5", None, "2024-03-11 10:00:00", "abandoned"),  # no customer: never an abandoner
    ("K6", "C4", "2024-03-12 10:00:00", "converted"),
    ("P1", "C5", "2024-02-20 10:00:00", "abandoned"),  # previous period
]
ORDERS = [
    ("O1", "C1", "2024-03-08 09:00:00", None, 50.0),  # in A1's and A2's windows: once
    ("O1", "C1", "2024-03-08 09:00:00", None, 50.0),  # the same order twice: still once
    ("O2", "C1", "2024-03-13 10:00:00", None, 30.0),  # in A2's window only
    ("O3", "C1", "2024-03-14 10:00:01", None, 99.0),  # a second past A2's window: no
    ("O4", "C2", "2024-03-10 10:00:00", None, 99.0),  # at created_at: not after it, no
    ("O5", "C2", "2024-03-17 10:00:00", None, "12.5"),  # exactly 7 days on: yes, 12.50
    ("O6", "C3", "2024-04-02 08:00:00", None, None),  # after the period end: counts, adds 0
    ("O7", "C4", "2024-03-13 10:00:00", None, 99.0),  # not an abandoner's order
    ("O8", "C5", "2024-02-25 10:00:00", None, 20.0),  # re-engages the previous period's C5
]


@pytest.fixture
def recovered(make_db, compute):
    db = make_db(carts=CARTS, orders=ORDERS, columns={"orders": ORDER_COLUMNS})
    return compute(db)


def test_recovered_revenue_sums_each_window_order_once(recovered):
    kpis = recovered["kpis"]
    assert kpis["carts.reengaged"] == 3  # C1, C2, C3
    # O1, O2, O5, O6: 50 + 30 + 12.50 + 0 = 92.50
    assert kpis["carts.recovered_orders"] == 4
    assert kpis["carts.recovered_revenue"] == pytest.approx(92.5, abs=0.005)
    # February: O8 alone.
    assert kpis["previous"]["carts.recovered_orders"] == 1
    assert kpis["previous"]["carts.recovered_revenue"] == pytest.approx(20.0, abs=0.005)


def test_recovered_revenue_is_provisional_while_a_window_is_open(recovered):
    # A4's window ends 04-06 12:00, after the newest order (O6, 04-02 08:00).
    assert recovered["kpis"]["carts.reengagement_immature_carts"] == 1
    specs = {spec.key: spec for spec in CART_KPIS}
    for key in ("carts.recovered_revenue", "carts.recovered_orders"):
        reason = specs[key].provisional_when(recovered)
        assert reason.startswith("1 of 5 abandoned carts are still inside their 7-day window")
        assert card(specs[key], recovered, "USD")["comparison"].startswith("provisional: 1 of 5")


def test_closed_windows_make_recovered_revenue_final(make_db, compute):
    late = ("O9", "C9", "2024-04-30 00:00:00", None, 1.0)  # the newest order: all closed
    early = ("E0", "C9", "2024-02-01 00:00:00", "open")  # the data covers February
    db = make_db(carts=[*CARTS, early], orders=[*ORDERS, late], columns={"orders": ORDER_COLUMNS})
    found = compute(db)
    spec = next(s for s in CART_KPIS if s.key == "carts.recovered_revenue")
    assert spec.provisional_when(found) is None
    assert card(spec, found, "USD")["comparison"].startswith("+")


def test_without_order_total_the_orders_are_counted_but_not_valued(make_db, compute):
    db = make_db(carts=CARTS, orders=[row[:4] for row in ORDERS])
    kpis = compute(db)["kpis"]
    assert kpis["carts.recovered_orders"] == 4
    assert kpis["carts.recovered_revenue"] is None


def test_date_only_windows_count_by_calendar_day(make_db, compute):
    db = make_db(
        carts=[("A1", "C1", "2024-03-05", "abandoned")],
        orders=[
            ("O1", "C1", "2024-03-05", None, 5.0),  # the same day counts (by calendar day)
            ("O2", "C1", "2024-03-12", None, 7.0),  # day + 7: counts
            ("O3", "C1", "2024-03-13", None, 9.0),  # day + 8: no
        ],
        columns={"orders": ORDER_COLUMNS},
    )
    kpis = compute(db)["kpis"]
    assert (kpis["carts.recovered_orders"], kpis["carts.recovered_revenue"]) == (2, 12.0)
