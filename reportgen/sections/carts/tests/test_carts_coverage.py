"""How far the cart data reaches (data_quality first/last created_at) and what the report
does with it: a comparison period the carts barely cover shows no change (issue 10)."""

from __future__ import annotations

import pytest

from reportgen.periods import custom_period
from reportgen.render.viewparts import card
from reportgen.report.maturity import comparison_gap, section_coverage, sound_comparison
from reportgen.sections.carts import SECTION
from reportgen.sections.carts.kpis import CART_KPIS

ODD_FORMATS = [
    ("K0", "C1", "2024-01-05T08:30", "abandoned"),  # canonical with a T: 08:30:00
    ("K1", "C1", "2024-02-10 12:00:00", "converted"),
    ("K2", "C2", " 2024-03-31 23:59:59.500000 ", "abandoned"),  # padded: parsed slowly
    ("K3", "C3", "2024-04-01 01:30:00+02:00", "abandoned"),  # offset: 2024-03-31 23:30 UTC
    ("K4", "C3", "not a date", "abandoned"),  # unparsed: no bound
    ("K5", "C4", None, "abandoned"),  # NULL: no bound
    ("K6", "C4", "2099-02-30 10:00:00", "abandoned"),  # the largest text, but no real time
    ("K7", "C4", "1999-13-01 10:00:00", "abandoned"),  # the smallest text, no real time
    (None, "C5", "2020-01-01 00:00:00", "abandoned"),  # no cart_id: left out
]


def test_first_and_last_created_at_span_every_format(make_db, compute):
    db = make_db(
        carts=ODD_FORMATS,
        orders=[
            ("O1", "C1", "2024-02-11 10:00:00Z"),  # UTC suffix: canonical in UTC
            ("O2", "C1", "2024-04-02 10:00:00+01:00"),  # 09:00 UTC, the newest
            ("O3", "C2", "garbage"),
        ],
    )
    quality = compute(db)["data_quality"]
    assert quality["carts.first_created_at"] == "2024-01-05 08:30:00"
    # The padded value (23:59:59.5, cut to the second) is later than the offset one (23:30).
    assert quality["carts.last_created_at"] == "2024-03-31 23:59:59"
    assert quality["orders.last_order_date"] == "2024-04-02 09:00:00"


def test_first_and_last_created_at_are_local_time(make_db, compute):
    db = make_db(carts=ODD_FORMATS)
    quality = compute(db, report={"timezone": "Europe/Berlin"})["data_quality"]
    # Naive values are Berlin wall time already; the offset one is 2024-04-01 01:30 in
    # Berlin (UTC+2 from 31 March); the padded one stays 2024-03-31 23:59:59.
    assert quality["carts.first_created_at"] == "2024-01-05 08:30:00"
    assert quality["carts.last_created_at"] == "2024-04-01 01:30:00"


def test_a_table_without_a_readable_created_at_has_no_bounds(make_db, compute):
    db = make_db(carts=[("K1", "C1", "soon", "open")])
    quality = compute(db)["data_quality"]
    assert (quality["carts.first_created_at"], quality["carts.last_created_at"]) == (None, None)
    assert section_coverage(compute(db), SECTION) is None


def test_a_year_against_a_year_the_carts_barely_cover_shows_no_change(make_db, compute):
    """Data from 1 Nov 2025 (like the demo): a report December 2025 to November 2026 has a
    comparison year of which only November 2025 (30 of 365 days) is covered."""
    carts = [("P1", "C1", "2025-11-01 00:03:00", "abandoned")]
    carts += [(f"K{n}", f"C{n}", f"2026-{n:02d}-15 10:00:00", "abandoned") for n in range(1, 12)]
    carts += [("K12", "C12", "2026-11-30 23:58:00", "converted")]
    db = make_db(carts=carts, cart_items=[(c[0], "P1", 1, 10.0) for c in carts])
    found = compute(db, period=custom_period("2025-12-01", "2026-12-01"))
    assert found["kpis"]["previous"]["carts.carts_total"] == 1  # 12 carts against 1: +1,100%
    assert section_coverage(found, SECTION).previous == pytest.approx(30 / 365, abs=1e-3)
    gap = "the comparison period is only 8% covered by the data"
    assert comparison_gap(found, SECTION) == gap
    for spec in CART_KPIS:
        if spec.headline:
            assert card(spec, found, "USD")["comparison"].startswith("change n/a"), spec.key
            assert not sound_comparison(found, spec.key, [SECTION])
