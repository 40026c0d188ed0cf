"""The carts.contributions table: which group explains a headline KPI's change (rule
kpi-contributions). February 2024 against March 2024, segments by signup channel."""

from __future__ import annotations

from collections import defaultdict

import pytest

from reportgen.render.summary import _why
from reportgen.sections.carts import SECTION
from reportgen.sections.carts.kpis import CART_KPIS

CARTS = [
    ("F1", "C1", "2024-02-10 10:00:00", "abandoned"),  # email
    ("F2", "C1", "2024-02-11 10:00:00", "converted"),  # email
    ("F3", "C2", "2024-02-12 10:00:00", "abandoned"),  # ads
    ("F4", "C2", "2024-02-13 10:00:00", "open"),  # ads
    ("M1", "C1", "2024-03-05 10:00:00", "abandoned"),  # email
    ("M2", "C1", "2024-03-06 10:00:00", "abandoned"),  # email
    ("M3", "C1", "2024-03-07 10:00:00", "converted"),  # email
    ("M4", "C2", "2024-03-08 10:00:00", "converted"),  # ads
    ("M5", "C3", "2024-03-09 10:00:00", "abandoned"),  # C3 has no customer row: Unknown
]
ITEMS = [
    ("F1", "P1", 1, 10.0),  # Toys 10
    ("F3", "P2", 1, 4.0),  # P2 has no product row: Unknown 4
    ("M1", "P1", 2, 10.0),  # Toys 20
    ("M2", "P2", 1, 4.0),  # Unknown 4
    ("M2", "P1", 1, 10.0),  # Toys 10
    ("M5", "P2", 3, 4.0),  # Unknown 12
]
ORDERS = [
    ("O1", "C1", "2024-02-12 09:00:00"),  # re-engages C1 in February
    ("O2", "C3", "2024-03-10 09:00:00"),  # re-engages C3 in March
]


@pytest.fixture
def found(make_db, compute):
    db = make_db(
        carts=CARTS,
        cart_items=ITEMS,
        orders=ORDERS,
        customers=[("C1", "email"), ("C2", "ads")],
        products=[("P1", "Bear", "Toys")],
    )
    return compute(db, segments=["signup_channel"])


def rows_of(metrics, kpi):
    return {
        row["group"]: row for row in metrics["tables"]["carts.contributions"] if row["kpi"] == kpi
    }


def test_contributions_add_up_to_each_kpi_change(found):
    kpis, previous = found["kpis"], found["kpis"]["previous"]
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for row in found["tables"]["carts.contributions"]:
        sums[row["kpi"], row["dimension"]] += row["contribution"]
        if row["size_effect"] is not None:
            assert row["size_effect"] + row["rate_effect"] == pytest.approx(row["contribution"])
    assert set(sums) == {
        ("carts.abandoned_cart_value", "category"),
        ("carts.abandonment_rate", "signup_channel"),
        ("carts.cart_conversion_rate", "signup_channel"),
        ("carts.reengagement_rate", "signup_channel"),
    }
    for (kpi, _), total in sums.items():
        assert total == pytest.approx(kpis[kpi] - previous[kpi], abs=1e-12), kpi


def test_a_rate_contribution_worked_by_hand(found):
    # Abandonment: February 2 of 4 carts (0.5), March 3 of 5 (0.6): +0.1.
    rows = rows_of(found, "carts.abandonment_rate")
    email = rows["email"]
    # email: w 2/4 = 0.5, r 1/2 -> w' 3/5 = 0.6, r' 2/3: 0.6 * 2/3 - 0.5 * 0.5 = 0.15
    assert email["previous"] == pytest.approx(0.5)
    assert email["current"] == pytest.approx(2 / 3)
    assert email["change"] == pytest.approx(2 / 3 - 0.5)
    assert email["contribution"] == pytest.approx(0.15)
    assert email["rate_effect"] == pytest.approx(0.55 * (2 / 3 - 0.5))  # mean w x change of r
    assert email["size_effect"] == pytest.approx((0.5 + 2 / 3) / 2 * 0.1)  # mean r x change of w
    assert email["share_of_change"] == pytest.approx(1.5)
    # ads: 0.5 * 0.5 -> 0.2 * 0: -0.25; Unknown is new: 0.2 * 1, all of it size.
    assert rows["ads"]["contribution"] == pytest.approx(-0.25)
    unknown = rows["Unknown"]
    assert (unknown["previous"], unknown["change"]) == (None, None)
    assert unknown["contribution"] == pytest.approx(0.2)
    assert (unknown["size_effect"], unknown["rate_effect"]) == (pytest.approx(0.2), 0)
    in_order = [
        row["group"]
        for row in found["tables"]["carts.contributions"]
        if row["kpi"] == "carts.abandonment_rate"
    ]
    assert in_order == ["ads", "Unknown", "email"]  # largest contribution either way first


def test_a_sum_contribution_is_the_groups_change(found):
    # Abandoned value: February Toys 10 + Unknown 4 = 14, March Toys 30 + Unknown 16 = 46.
    rows = rows_of(found, "carts.abandoned_cart_value")
    toys = rows["Toys"]
    assert (toys["previous"], toys["current"], toys["contribution"]) == (10.0, 30.0, 20.0)
    assert (toys["size_effect"], toys["rate_effect"]) == (None, None)
    assert toys["share_of_change"] == pytest.approx(20 / 32)
    assert rows["Unknown"]["contribution"] == 12.0
    spec = next(s for s in CART_KPIS if s.key == "carts.abandoned_cart_value")
    assert _why(found, SECTION, spec, "USD") == "Toys (category) accounts for +$20 of it (62%)."


def test_an_unchanged_rate_has_no_share_of_change(found):
    # Re-engagement: C1 of C1, C2 in February; C3 of C1, C3 in March: 0.5 both times.
    rows = rows_of(found, "carts.reengagement_rate")
    assert {group: row["contribution"] for group, row in rows.items()} == {
        "email": pytest.approx(-0.5),
        "ads": 0,
        "Unknown": pytest.approx(0.5),
    }
    assert all(row["share_of_change"] is None for row in rows.values())


def test_no_split_without_a_previous_denominator(make_db, compute):
    db = make_db(carts=CARTS[4:], cart_items=ITEMS[2:], customers=[("C1", "email")])
    rows = compute(db, segments=["signup_channel"])["tables"]["carts.contributions"]
    assert {row["kpi"] for row in rows} == {"carts.abandoned_cart_value"}


def test_why_names_the_group_that_moved_the_rate_its_way_even_past_the_whole_change(found):
    # Abandonment +10 pp: ads -25 pp, email +15 pp, Unknown +20 pp. The group moved furthest
    # either way (ads) went against the change; Unknown pushed it furthest its way, by more
    # than the whole change ("200% of it" would read as a typo).
    spec = next(s for s in CART_KPIS if s.key == "carts.abandonment_rate")
    kpis = found["kpis"]
    assert kpis[spec.key] - kpis["previous"][spec.key] == pytest.approx(0.1)
    assert _why(found, SECTION, spec, "USD") == (
        "Unknown (signup channel) moved it +20.0 pp, more than the whole change (+10.0 pp): "
        "+0.0 pp from its own rate and +20.0 pp from its share of the total; the other "
        "groups together: -10.0 pp."
    )
