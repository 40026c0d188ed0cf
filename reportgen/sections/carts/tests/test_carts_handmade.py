"""Hand-computed checks of the cart section against METRICS.md §2, §3, §7 and §8.

Every dataset is tiny and every expected number is worked out in the comment beside it
(STYLE.md rule 14). The report period is March 2024 (UTC) unless a test says otherwise:
2024-03-01 is a Friday, so its ISO weeks start on 02-26, 03-04, 03-11, 03-18 and 03-25,
and February 2024 (the previous period) has 29 days.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reportgen.periods import month_period, week_period

HIST_BUCKETS = ["<1d", "1d", "2-3d", "4-7d", "8-14d", "15d+"]

CART_KPI_KEYS = [
    "carts.carts_total",
    "carts.carts_converted",
    "carts.carts_abandoned",
    "carts.carts_open",
    "carts.carts_other",
    "carts.cart_conversion_rate",
    "carts.abandonment_rate",
    "carts.abandoned_cart_value",
    "carts.avg_abandoned_cart_value",
    "carts.converted_cart_value",
    "carts.abandoners",
    "carts.reengaged",
    "carts.reengagement_rate",
    "carts.reengagement_immature_carts",
    "carts.median_time_to_order_days",
    "carts.p90_time_to_order_days",
    "carts.mean_time_to_order_days",
    "carts.converted_unlinked",
]

MISSING = "<missing>"


def money(value: float) -> Any:
    """Money is compared to the cent."""
    return pytest.approx(value, abs=0.005)


def num(value: float) -> Any:
    """Rates, shares and day counts are compared as floats."""
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def pick(mapping: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """Return the entries of ``mapping`` named in ``expected`` (absent ones as MISSING)."""
    return {key: mapping.get(key, MISSING) for key in expected}


def check_kpis(kpis: dict[str, Any], expected: dict[str, Any]) -> None:
    assert pick(kpis, expected) == expected


def check_quality(metrics: dict[str, Any], expected: dict[str, Any]) -> None:
    assert pick(metrics["data_quality"], expected) == expected


def table(metrics: dict[str, Any], name: str) -> list[dict[str, Any]]:
    assert name in metrics["tables"], f"no table {name}; have {sorted(metrics['tables'])}"
    return metrics["tables"][name]


def hist(metrics: dict[str, Any]) -> list[tuple[str, int]]:
    return [(row["bucket"], row["carts"]) for row in table(metrics, "carts.time_to_order_hist")]


def trend(metrics: dict[str, Any]) -> list[tuple]:
    return [
        (
            row["bucket_start"],
            row["carts_total"],
            row["converted"],
            row["abandoned"],
            row["open"],
            row["other"],
            row["conversion_rate"],
        )
        for row in table(metrics, "carts.funnel_trend")
    ]


def ids(rows: list[dict[str, Any]], key: str) -> list[str | None]:
    """Ids may come back as numbers or strings: compare them as text (§8 Output)."""
    return [None if row[key] is None else str(row[key]) for row in rows]


# --------------------------------------------------------------------------- statuses, KPIs


def test_status_normalisation_and_cart_kpis(make_db, compute):
    db = make_db(
        carts=[
            ("K1", "C1", "2024-03-01 00:00:00", " Converted"),  # converted (period start is in)
            ("K2", "C2", "2024-03-03 10:00:00", "ABANDONED "),  # abandoned
            ("K3", "C3", "2024-03-04 10:00:00", "emptied"),  # abandoned (emptied)
            ("K4", "C1", "2024-03-05 10:00:00", "Active"),  # open
            ("K5", "C2", "2024-03-06 10:00:00", "weird"),  # other: weird
            ("K6", "C3", "2024-03-07 10:00:00", None),  # other: "NULL"
            ("K7", "C4", "2024-03-08 10:00:00", "Weird "),  # other: weird
            ("K8", "C4", "2024-03-31 23:59:59", "checked_out"),  # converted
            ("K9", "C5", "2024-04-01 00:00:00", "abandoned"),  # April: period end is out
            ("K10", "C5", "2024-02-29 23:59:59", "abandoned"),  # February: previous period
        ],
        cart_items=[
            ("K1", "P1", 2, 10.00),  # K1 = 20.00
            ("K2", "P1", 1, 10.00),  # K2 = 10.00
            ("K2", "P2", 3, 2.50),  #    +  7.50 = 17.50
            ("K3", "P3", 1, 5.25),  # K3 = 5.25
            ("K4", "P2", 1, 2.50),  # open: not in any value KPI
            ("K5", "P1", 1, 10.00),  # other: not in any value KPI
            ("K8", "P3", 2, 5.25),  # K8 = 10.50
            ("K9", "P1", 5, 10.00),  # April
            ("K10", "P1", 4, 10.00),  # February: 40.00
        ],
        products=[("P1", "Mug", "Kitchen"), ("P2", "Tea", "Food"), ("P3", "Pan", "Kitchen")],
    )
    m = compute(db)

    check_kpis(
        m["kpis"],
        {
            "carts.carts_total": 8,  # K1..K8
            "carts.carts_converted": 2,  # K1, K8
            "carts.carts_abandoned": 2,  # K2, K3
            "carts.carts_open": 1,  # K4
            "carts.carts_other": 3,  # K5, K6, K7
            "carts.cart_conversion_rate": num(0.25),  # 2 / 8
            "carts.abandonment_rate": num(0.25),  # 2 / 8
            "carts.abandoned_cart_value": money(22.75),  # 17.50 + 5.25
            "carts.avg_abandoned_cart_value": money(11.375),  # 22.75 / 2
            "carts.converted_cart_value": money(30.50),  # 20.00 + 10.50
        },
    )
    # status_norm = lower(trim(status)); NULL is listed as "NULL" (§8 data_quality).
    assert m["data_quality"]["carts.other_statuses"] == {"weird": 2, "NULL": 1}
    # February holds only K10: 1 abandoned cart worth 4 * 10.00.
    check_kpis(
        m["kpis"]["previous"],
        {
            "carts.carts_total": 1,
            "carts.carts_abandoned": 1,
            "carts.abandonment_rate": num(1.0),
            "carts.abandoned_cart_value": money(40.00),
        },
    )
    assert m["period"] == {
        "kind": "month",
        "label": "2024-03",
        "start": "2024-03-01T00:00:00",
        "end": "2024-04-01T00:00:00",
        "timezone": "UTC",
    }
    assert m["previous_period"]["label"] == "2024-02"


# --------------------------------------------------------------------------- duplicate carts


def test_duplicate_cart_ids_collapse_over_whole_table_to_most_advanced_status(make_db, compute):
    db = make_db(
        carts=[
            # D1: converted beats abandoned -> converted, kept row dated 03-12.
            ("D1", "C1", "2024-03-10 10:00:00", "abandoned"),
            ("D1", "C1", "2024-03-12 10:00:00", "converted"),
            # D2: abandoned beats open -> the March row is kept: a March abandoned cart.
            ("D2", "C2", "2024-02-28 10:00:00", "open"),
            ("D2", "C2", "2024-03-02 10:00:00", "abandoned"),
            # D3: same status, earliest created_at wins -> a February cart, not a March one.
            ("D3", "C3", "2024-03-20 10:00:00", "abandoned"),
            ("D3", "C3", "2024-02-20 10:00:00", " Abandoned"),
            # D4: three identical open rows -> one open cart, 2 extra rows.
            ("D4", "C4", "2024-03-05 10:00:00", "open"),
            ("D4", "C4", "2024-03-05 10:00:00", "open"),
            ("D4", "C4", "2024-03-05 10:00:00", "open"),
            ("D5", "C5", "2024-03-06 10:00:00", "abandoned"),
            # D7: same status; an unparsed created_at sorts last -> the 03-09 row is kept.
            ("D7", "C7", "garbage", "abandoned"),
            ("D7", "C7", "2024-03-09 10:00:00", "abandoned"),
            # NULL cart ids are dropped first; counted over the whole table (3).
            (None, "C6", "2024-03-07 10:00:00", "abandoned"),
            (None, "C6", "2024-03-07 10:00:00", "abandoned"),
            (None, "C6", "2024-04-07 10:00:00", "abandoned"),
        ],
        cart_items=[("D2", "P1", 1, 4.00)],  # D2 = 4.00, counted once although D2 has 2 rows
    )
    m = compute(db)

    check_kpis(
        m["kpis"],
        {
            "carts.carts_total": 5,  # D1, D2, D4, D5, D7
            "carts.carts_converted": 1,  # D1
            "carts.carts_abandoned": 3,  # D2, D5, D7
            "carts.carts_open": 1,  # D4
            "carts.carts_other": 0,
            "carts.abandoned_cart_value": money(4.00),  # D2 only
        },
    )
    check_quality(
        m,
        {
            "carts.null_cart_ids": 3,  # table-wide
            "carts.duplicate_cart_ids": 4,  # D1, D2, D4, D7 (D3 is a February cart)
            "carts.duplicate_cart_rows": 5,  # D1 1 + D2 1 + D4 2 + D7 1
        },
    )
    # February: D3 only (D2's February row was collapsed into its March row).
    check_kpis(m["kpis"]["previous"], {"carts.carts_total": 1, "carts.carts_abandoned": 1})


def test_duplicate_cart_tie_keeps_smallest_customer_id_as_text_null_last(make_db, compute):
    db = make_db(
        carts=[
            # Same status and created_at: smallest customer_id as text, "C10" < "C9".
            ("E1", "C9", "2024-03-08 10:00:00", "abandoned"),
            ("E1", "C10", "2024-03-08 10:00:00", "abandoned"),
            # A NULL customer_id sorts last: C5 is kept.
            ("E2", None, "2024-03-09 10:00:00", "abandoned"),
            ("E2", "C5", "2024-03-09 10:00:00", "abandoned"),
        ],
    )
    m = compute(db, segments=["loyalty_tier"])

    check_kpis(m["kpis"], {"carts.carts_total": 2, "carts.abandoners": 2})  # C10, C5
    check_quality(m, {"carts.null_customer_carts": 0})
    # No orders: both savable, value 0 each -> by customer_id as text: "C10" < "C5".
    assert ids(table(m, "carts.savable_customers"), "customer_id") == ["C10", "C5"]


# --------------------------------------------------------------------------- cart lines


@pytest.mark.parametrize(
    ("mode", "l1_value"),
    [
        ("sum", 12.00),  # (L1, P1): quantity 2 + 1 = 3, unit_price max(3.00, 4.00) = 4.00
        ("max", 8.00),  # (L1, P1): quantity max(2, 1) = 2, unit_price 4.00
    ],
)
def test_duplicate_lines_merge_and_invalid_lines_dropped(make_db, compute, mode, l1_value):
    db = make_db(
        carts=[
            ("L1", "C1", "2024-03-02 10:00:00", "abandoned"),
            ("L2", "C2", "2024-03-03 10:00:00", "abandoned"),
            ("L3", "C3", "2024-03-04 10:00:00", "abandoned"),  # only invalid lines
            ("L4", "C4", "2024-03-05 10:00:00", "abandoned"),  # no lines at all
        ],
        cart_items=[
            ("L1", "P1", 2, 3.00),
            ("L1", "P1", 1, 4.00),
            ("L1", "P2", 1, 0.00),  # unit_price 0 is valid: value 0
            ("L2", "P1", 0, 5.00),  # invalid: quantity 0
            ("L2", "P2", None, 5.00),  # invalid: NULL quantity
            ("L2", "P3", 1, 2.00),  # L2 = 2.00
            ("L3", "P1", 1, -1.00),  # invalid: negative price
            ("L3", "P2", 1, None),  # invalid: NULL price
            ("ZZ", "P1", 1, 1.00),  # orphan: no cart ZZ
            ("ZZ", "P2", 1, 1.00),  # orphan
        ],
    )
    m = compute(db, rules={"duplicate_lines": mode})

    total = l1_value + 2.00  # L1 + L2; L3 and L4 are worth 0
    check_kpis(
        m["kpis"],
        {
            "carts.carts_abandoned": 4,
            "carts.abandoned_cart_value": money(total),  # sum: 14.00, max: 10.00
            "carts.avg_abandoned_cart_value": money(total / 4),  # sum: 3.50, max: 2.50
        },
    )
    check_quality(
        m,
        {
            "carts.duplicate_lines": 1,  # (L1, P1)
            "carts.invalid_lines": 4,  # (L2, P1), (L2, P2), (L3, P1), (L3, P2)
            "carts.carts_without_lines": 2,  # L3, L4
            "carts.orphan_lines": 2,  # (ZZ, P1), (ZZ, P2)
        },
    )
    assert m["rules"]["duplicate_lines"] == mode


@pytest.mark.parametrize(
    ("mode", "expected_value"),
    [
        ("sum", 4.00),  # P1: qty -1 + 2 = 1 -> 1 * 3.00; P2: 1 * 1.00; P3 dropped -> 4.00
        ("max", 7.00),  # P1: qty max(-1, 2) = 2 -> 6.00; P2: 1.00; P3 dropped -> 7.00
    ],
)
def test_lines_are_merged_before_invalid_ones_are_dropped(make_db, compute, mode, expected_value):
    db = make_db(
        carts=[("M1", "C1", "2024-03-02 10:00:00", "abandoned")],
        cart_items=[
            ("M1", "P1", -1, 3.00),
            ("M1", "P1", 2, 3.00),
            ("M1", "P2", None, 1.00),  # sum/max ignore NULL: quantity 1, unit_price 1.00
            ("M1", "P2", 1, None),
            ("M1", "P3", None, 2.00),  # all quantities NULL -> NULL -> invalid
            ("M1", "P3", None, 2.00),
        ],
    )
    m = compute(db, rules={"duplicate_lines": mode})

    check_kpis(m["kpis"], {"carts.abandoned_cart_value": money(expected_value)})
    check_quality(
        m,
        {
            "carts.duplicate_lines": 3,  # (M1, P1), (M1, P2), (M1, P3) each had 2 rows
            "carts.invalid_lines": 1,  # (M1, P3), one merged line
            "carts.carts_without_lines": 0,
        },
    )


# --------------------------------------------------------------------------- top SKUs, categories


def _top_tables_db(make_db):
    return make_db(
        carts=[
            ("A1", "C1", "2024-03-02 10:00:00", "abandoned"),
            ("A2", "C2", "2024-03-03 10:00:00", "abandoned"),
            ("A3", "C3", "2024-03-04 10:00:00", "emptied"),
            ("V1", "C4", "2024-03-05 10:00:00", "converted"),  # not abandoned: ignored
            ("X1", "C5", "2024-03-06 10:00:00", "open"),  # not abandoned: ignored
        ],
        cart_items=[
            ("A1", "P1", 2, 5.00),  # 10.00
            ("A1", "P2", 1, 3.00),  #  3.00
            ("A1", "P9", 1, 4.00),  #  4.00  P9 is not in products     A1 = 17.00
            ("A2", "P1", 1, 5.00),  #  5.00
            ("A2", "P3", 1, 12.00),  # 12.00
            ("A2", None, 1, 2.00),  #  2.00  NULL product_id           A2 = 19.00
            ("A3", "P2", 1, 3.00),  #  3.00
            ("A3", "P4", 2, 2.00),  #  4.00  P4 has a NULL category    A3 =  7.00
            ("V1", "P3", 10, 12.00),
            ("X1", "P2", 5, 3.00),
        ],
        products=[
            ("P1", "Mug", "Kitchen"),
            ("P2", "Tea", "Food"),
            ("P3", "Pan", "Kitchen"),
            ("P4", "Jam", None),
        ],
    )


# abandoned_cart_value = 17 + 19 + 7 = 43.00; share = value / 43.


def test_top_abandoned_skus_order_ties_unknown_product_and_null_product(make_db, compute):
    m = compute(_top_tables_db(make_db))

    check_kpis(m["kpis"], {"carts.abandoned_cart_value": money(43.00)})
    rows = table(m, "carts.top_abandoned_skus")
    assert ids(rows, "product_id") == ["P1", "P3", "P2", "P4", "P9"]  # NULL product: no row
    # P4 and P9 tie at 4.00: product_id decides, "P4" < "P9".
    expected = [
        # P1: A1 10.00 + A2 5.00; 2 carts; units 2 + 1
        {"name": "Mug", "category": "Kitchen", "carts": 2, "units": 3, "value": 15.00},
        {"name": "Pan", "category": "Kitchen", "carts": 1, "units": 1, "value": 12.00},
        # P2: A1 3.00 + A3 3.00
        {"name": "Tea", "category": "Food", "carts": 2, "units": 2, "value": 6.00},
        {"name": "Jam", "category": None, "carts": 1, "units": 2, "value": 4.00},
        # P9 is missing from products: category Unknown, name NULL (§8 Carts).
        {"name": None, "category": "Unknown", "carts": 1, "units": 1, "value": 4.00},
    ]
    for row, want in zip(rows, expected, strict=True):
        assert row["name"] == want["name"]
        if want["category"] is not None:
            assert row["category"] == want["category"]
        else:
            # A known product with a NULL category: the spec names only the category table's
            # Unknown; accept either reading here.
            assert row["category"] in (None, "Unknown")
        assert (row["carts"], row["units"]) == (want["carts"], want["units"])
        assert row["abandoned_value"] == money(want["value"])
        assert row["share"] == num(want["value"] / 43.00)


def test_top_abandoned_categories_unknown_collects_missing_and_null(make_db, compute):
    m = compute(_top_tables_db(make_db))

    assert table(m, "carts.top_abandoned_categories") == [
        # Kitchen: P1 (A1 10 + A2 5) + P3 (A2 12) = 27.00; carts A1, A2; units 2 + 1 + 1
        {
            "category": "Kitchen",
            "carts": 2,
            "units": 4,
            "abandoned_value": money(27.00),
            "share": num(27 / 43),
        },
        # Unknown: P9 (A1 4) + NULL product (A2 2) + P4 (A3 4) = 10.00; carts A1, A2, A3;
        # units 1 + 1 + 2
        {
            "category": "Unknown",
            "carts": 3,
            "units": 4,
            "abandoned_value": money(10.00),
            "share": num(10 / 43),
        },
        # Food: P2 (A1 3 + A3 3) = 6.00; carts A1, A3; units 1 + 1
        {
            "category": "Food",
            "carts": 2,
            "units": 2,
            "abandoned_value": money(6.00),
            "share": num(6 / 43),
        },
    ]


def test_top_tables_cut_to_top_n_keep_share_of_all_abandoned_value(make_db, compute):
    m = compute(_top_tables_db(make_db), rules={"top_n": 2})

    skus = table(m, "carts.top_abandoned_skus")
    assert ids(skus, "product_id") == ["P1", "P3"]
    assert [row["share"] for row in skus] == [num(15 / 43), num(12 / 43)]
    categories = table(m, "carts.top_abandoned_categories")
    assert [row["category"] for row in categories] == ["Kitchen", "Unknown"]
    assert [row["share"] for row in categories] == [num(27 / 43), num(10 / 43)]


def test_top_skus_tie_on_integer_ids_sorts_numerically(make_db, compute):
    db = make_db(
        carts=[("G1", "C1", "2024-03-02 10:00:00", "abandoned")],
        # Three products worth 5.00 each: an all-integer id column sorts 9, 10, 100
        # (as text it would be "10", "100", "9").
        cart_items=[("G1", 10, 1, 5.00), ("G1", 100, 1, 5.00), ("G1", 9, 1, 5.00)],
        products=[(9, "Nine", "N"), (10, "Ten", "N"), (100, "Hundred", "N")],
    )
    m = compute(db)

    assert ids(table(m, "carts.top_abandoned_skus"), "product_id") == ["9", "10", "100"]


# --------------------------------------------------------------------------- segments


def _segments_db(make_db):
    return make_db(
        carts=[
            ("S1", "C1", "2024-03-01 10:00:00", "abandoned"),  # 10.00
            ("S2", "C1", "2024-03-02 10:00:00", "converted"),
            ("S3", "C2", "2024-03-03 10:00:00", "abandoned"),  # 20.00
            ("S4", "C3", "2024-03-04 10:00:00", "abandoned"),  #  4.00
            ("S5", "C4", "2024-03-05 10:00:00", "converted"),
            ("S6", "C5", "2024-03-06 10:00:00", "abandoned"),  #  6.00, C5 has no customer row
            ("S7", None, "2024-03-07 10:00:00", "abandoned"),  #  1.00, no customer
            ("S8", "C6", "2024-03-08 10:00:00", "open"),
        ],
        cart_items=[
            ("S1", "P1", 1, 10.00),
            ("S3", "P1", 2, 10.00),
            ("S4", "P1", 1, 4.00),
            ("S6", "P1", 1, 6.00),
            ("S7", "P1", 1, 1.00),
        ],
        customers=[
            # customer_id, signup_channel, loyalty_tier, clv_bucket, age
            ("C1", " Web ", "Gold", "high", 30.9),  # Web,     Gold,    25-34
            ("C2", "web", "gold", None, 24.99),  # web,     gold,    <25
            ("C3", "", "  ", "low", 25),  # Unknown, Unknown, 25-34
            ("C4", "Web", "Gold", "high", -1),  # Web,     Gold,    Unknown
            ("C6", "App", None, "low", 121),  # App,     Unknown, Unknown
        ],
        orders=[
            ("O1", "C1", "2024-03-02 09:00:00"),  # within 7 days of S1: C1 re-engaged
            ("O2", "C5", "2024-03-16 10:00:00"),  # S6 + 7d = 03-13 10:00: too late
            ("O3", "C3", "2024-03-05 10:00:00"),  # within 7 days of S4: C3 re-engaged
        ],
    )


# Abandoners: C1, C2, C3, C5 (S7 has no customer); re-engaged: C1, C3.


def _segment_row(segment, carts, conversion, abandonment, value, abandoners, reengaged, rate):
    return {
        "segment": segment,
        "carts_total": carts,
        "cart_conversion_rate": num(conversion),
        "abandonment_rate": num(abandonment),
        "abandoned_value": money(value),
        "abandoners": abandoners,
        "reengaged": reengaged,
        "reengagement_rate": None if rate is None else num(rate),
    }


def test_segment_tables_trim_unknown_case_sensitive_and_order(make_db, compute):
    m = compute(_segments_db(make_db), segments=["signup_channel", "loyalty_tier", "age_band"])

    check_kpis(m["kpis"], {"carts.abandoners": 4, "carts.reengaged": 2})
    # Unknown: C3 '' (S4), C5 no row (S6), NULL customer (S7): 3 carts, all abandoned,
    #   4 + 6 + 1 = 11.00, abandoners C3, C5, re-engaged C3.
    # Web: C1 ' Web ' (S1, S2) + C4 (S5): 3 carts, 2 converted, 1 abandoned (10.00), C1.
    # Ties on 3 carts and on 1 cart are broken by segment text: "Unknown" < "Web", "App" < "web".
    assert table(m, "carts.segment.signup_channel") == [
        _segment_row("Unknown", 3, 0 / 3, 3 / 3, 11.00, 2, 1, 1 / 2),
        _segment_row("Web", 3, 2 / 3, 1 / 3, 10.00, 1, 1, 1 / 1),
        _segment_row("App", 1, 0 / 1, 0 / 1, 0.00, 0, 0, None),  # no abandoners: null rate
        _segment_row("web", 1, 0 / 1, 1 / 1, 20.00, 1, 0, 0 / 1),
    ]
    # Gold != gold. Unknown: C3 '  ' (S4), C5 (S6), NULL (S7), C6 NULL tier (S8).
    assert table(m, "carts.segment.loyalty_tier") == [
        _segment_row("Unknown", 4, 0 / 4, 3 / 4, 11.00, 2, 1, 1 / 2),
        _segment_row("Gold", 3, 2 / 3, 1 / 3, 10.00, 1, 1, 1 / 1),
        _segment_row("gold", 1, 0 / 1, 1 / 1, 20.00, 1, 0, 0 / 1),
    ]
    # 25-34: C1 30.9 (S1, S2), C3 25 (S4): S2 converted, S1 + S4 = 14.00 abandoned, both back.
    # Unknown: C4 -1 (S5 conv.), C5 no row (S6), NULL (S7), C6 121 (S8): 6 + 1 = 7.00, C5.
    # <25: C2 24.99 (S3).
    assert table(m, "carts.segment.age_band") == [
        _segment_row("Unknown", 4, 1 / 4, 2 / 4, 7.00, 1, 0, 0 / 1),
        _segment_row("25-34", 3, 1 / 3, 2 / 3, 14.00, 2, 2, 2 / 2),
        _segment_row("<25", 1, 0 / 1, 1 / 1, 20.00, 1, 0, 0 / 1),
    ]
    assert "carts.segment.clv_bucket" not in m["tables"]  # not configured
    check_quality(
        m,
        {
            "carts.null_customer_carts": 1,  # S7
            "carts.unknown_customer_carts": 1,  # S6 (C5 has no customer row)
        },
    )


def test_age_band_floors_and_bounds(make_db, compute):
    ages = [24.99, 25, 34.99, 35, 44, 45, 55, 64.5, 65, 120, -1, 121, None, "abc"]
    db = make_db(
        carts=[(f"B{i}", f"C{i:02d}", "2024-03-10 10:00:00", "open") for i in range(len(ages))],
        customers=[(f"C{i:02d}", None, None, None, age) for i, age in enumerate(ages)],
    )
    m = compute(db, segments=["age_band"])

    # floor: 24.99 -> <25; 25, 34.99 -> 25-34; 35, 44 -> 35-44; 45 -> 45-54;
    # 55, 64.5 -> 55-64; 65, 120 -> 65+; -1, 121, NULL, 'abc' -> Unknown.
    # Order: carts desc, then code point ("2" < "3" < "5" < "6"; "4" < "<").
    rows = table(m, "carts.segment.age_band")
    assert [(row["segment"], row["carts_total"]) for row in rows] == [
        ("Unknown", 4),
        ("25-34", 2),
        ("35-44", 2),
        ("55-64", 2),
        ("65+", 2),
        ("45-54", 1),
        ("<25", 1),
    ]


# --------------------------------------------------------------------------- re-engagement


def test_reengagement_window_bounds_immature_and_savable_customers(make_db, compute):
    db = make_db(
        carts=[
            ("K-R1", "R1", "2024-03-10 10:00:00", "abandoned"),
            ("K-R2", "R2", "2024-03-10 10:00:00", "abandoned"),  # 30.00
            ("K-R3", "R3", "2024-03-10 10:00:00", "abandoned"),  # 50.00
            ("K-R4", "R4", "2024-03-30 12:00:00", "abandoned"),
            ("K-R5a", "R5", "2024-03-05 10:00:00", "abandoned"),  # 25.00
            ("K-R5b", "R5", "2024-03-25 10:00:00", "abandoned"),  #  5.00
            ("K-R6a", "R6", "2024-03-01 10:00:00", "abandoned"),
            ("K-R6b", "R6", "2024-03-20 10:00:00", "abandoned"),
            ("K-R9", "R9", "2024-03-26 09:00:00", "abandoned"),
            ("K-N", None, "2024-03-15 10:00:00", "abandoned"),  # 99.00, never an abandoner
            ("K-R8", "R8", "2024-02-28 10:00:00", "abandoned"),  # February
        ],
        cart_items=[
            ("K-R2", "P1", 1, 30.00),
            ("K-R3", "P1", 1, 50.00),
            ("K-R5a", "P1", 1, 25.00),
            ("K-R5b", "P1", 1, 5.00),
            ("K-N", "P1", 1, 99.00),
        ],
        orders=[
            ("O1", "R1", "2024-03-17 10:00:00"),  # exactly cart + 7 days: counts
            ("O2", "R2", "2024-03-17 10:00:01"),  # cart + 7 days + 1 s: does not
            ("O3", "R3", "2024-03-10 10:00:00"),  # same instant as the cart: strict <, no
            ("O4", "R4", "2024-04-02 09:00:00"),  # after the period end: counts
            ("O5", "R5", "2024-03-05 09:00:00"),  # before K-R5a: no
            ("O6", "R5", "2024-03-12 10:00:00.000001"),  # K-R5a + 7 days + 1 microsecond: no
            ("O7", "R6", "2024-03-21 08:00:00"),  # within K-R6b's window: counts
            ("O8", "R8", "2024-03-01 10:00:00"),  # February cart + 2 days
        ],
        customers=[
            ("R2", None, " Silver "),
            ("R3", None, "Gold"),
            ("R9", None, None),  # R5 has no customer row
        ],
    )
    m = compute(db, segments=["loyalty_tier"])

    check_kpis(
        m["kpis"],
        {
            "carts.carts_abandoned": 10,  # every March cart above, K-N included
            "carts.abandoned_cart_value": money(209.00),  # 30 + 50 + 25 + 5 + 99
            "carts.abandoners": 7,  # R1, R2, R3, R4, R5, R6, R9
            "carts.reengaged": 3,  # R1, R4, R6
            "carts.reengagement_rate": num(3 / 7),
            # Newest order_date: 2024-04-02 09:00 (O4). Only K-R4 (03-30 12:00 + 7 d) is later;
            # K-R9 + 7 d = 04-02 09:00 exactly is not strictly later.
            "carts.reengagement_immature_carts": 1,
        },
    )
    check_kpis(
        m["kpis"]["previous"],
        {"carts.abandoners": 1, "carts.reengaged": 1, "carts.reengagement_rate": num(1.0)},
    )
    # Not re-engaged: R2 30.00, R3 50.00, R5 25 + 5 = 30.00 (2 carts), R9 0.00.
    # By value desc, then customer_id: R3, R2, R5 (tie with R2), R9.
    assert table(m, "carts.savable_customers") == [
        {
            "customer_id": "R3",
            "loyalty_tier": "Gold",
            "abandoned_carts": 1,
            "abandoned_value": money(50.00),
        },
        {
            "customer_id": "R2",
            "loyalty_tier": "Silver",
            "abandoned_carts": 1,
            "abandoned_value": money(30.00),
        },
        {
            "customer_id": "R5",
            "loyalty_tier": "Unknown",
            "abandoned_carts": 2,
            "abandoned_value": money(30.00),
        },
        {
            "customer_id": "R9",
            "loyalty_tier": "Unknown",
            "abandoned_carts": 1,
            "abandoned_value": money(0.00),
        },
    ]


def test_reengagement_with_date_only_orders_compares_calendar_days(make_db, compute):
    db = make_db(
        carts=[
            ("K1", "D1", "2024-03-10 18:00:00", "abandoned"),
            ("K2", "D2", "2024-03-10 18:00:00", "abandoned"),
            ("K3", "D3", "2024-03-10 18:00:00", "abandoned"),
            ("K4", "D4", "2024-03-10 18:00:00", "abandoned"),
            ("K5", "D5", "2024-03-12 00:30:00", "abandoned"),
            ("K6", "D6", "2024-03-11 23:59:00", "abandoned"),
        ],
        orders=[
            # Every order_date is a bare date: the column is date-only, so
            # date(c) <= date(o) <= date(c) + 7 days.
            ("O1", "D1", "2024-03-10"),  # the same day: counts
            ("O2", "D2", "2024-03-17"),  # day + 7: counts
            ("O3", "D3", "2024-03-18"),  # day + 8: does not
            ("O4", "D4", "2024-03-09"),  # the day before: does not
        ],
    )
    m = compute(db)

    check_kpis(
        m["kpis"],
        {
            "carts.abandoners": 6,  # D1..D6
            "carts.reengaged": 2,  # D1, D2
            "carts.reengagement_rate": num(2 / 6),
            # Newest order date 2024-03-18. By calendar day: K5 03-12 + 7 = 03-19 > 03-18,
            # K6 03-11 + 7 = 03-18 is not later (as instants 03-18 23:59 would be), K1..K4 03-17.
            "carts.reengagement_immature_carts": 1,
        },
    )


# --------------------------------------------------------------------------- time to order


def _time_to_order_db(make_db):
    return make_db(
        carts=[
            ("T1", "U1", "2024-03-01 00:00:00", "converted"),
            ("T2", "U2", "2024-03-02 00:00:00", "converted"),
            ("T3", "U3", "2024-03-03 00:00:00", "converted"),
            ("T4", "U4", "2024-03-04 00:00:00", "converted"),  # no orders at all
            ("T5", "U5", "2024-03-05 00:00:00", "converted"),
            ("T6", "U6", "2024-03-06 00:00:00", "converted"),
            ("T7", "U7", "2024-03-28 00:00:00", "converted"),
            ("T8", "U8", "2024-03-08 00:00:00", "converted"),
            ("T9", "U9", "2024-03-09 00:00:00", "abandoned"),  # not converted: ignored
        ],
        orders=[
            # order_id, customer_id, order_date, cart_id
            ("O1", "U1", "2024-03-01 12:00:00", "T1"),
            ("O2", "U1", "2024-03-03 00:00:00", "T1"),
            ("O1n", "U1", "2024-03-01 06:00:00", None),
            ("O3", "U2", "2024-03-01 00:00:00", "T2"),  # before T2
            ("O3n", "U2", "2024-03-02 01:00:00", None),
            ("O4", "U3", "2024-03-02 00:00:00", None),  # before T3
            ("O5", "U3", "2024-03-04 00:00:00", "X9"),  # another cart's order
            ("O6", "U3", "2024-03-05 00:00:00", None),
            ("O7", "U3", "2024-03-20 00:00:00", None),
            ("O8", "U5", "2024-03-05 00:00:00", None),  # the same instant as T5
            ("O9", "U6", "2024-03-26 00:00:00", "T6"),
            ("O10", "U7", "2024-04-02 00:00:00", "T7"),  # after the period: counts
            ("O11", "U8", "2024-03-09 06:00:00", "T8"),
            ("O12", "U9", "2024-03-10 00:00:00", "T9"),
        ],
    )


def test_time_to_order_auto_link(make_db, compute):
    m = compute(_time_to_order_db(make_db))

    # T1: cart_id orders O1, O2 -> earliest at/after = O1: 0.5 d (O1n is not used).
    # T2: its only cart_id order precedes it -> order_before_cart, left out, not unlinked.
    # T3: no cart_id order -> next order among NULL cart_id orders (not O5): O6: 2.0 d.
    # T4: unlinked. T5: O8 at the same instant (>=): 0.0 d. T6: O9: 20.0 d.
    # T7: O10: 5.0 d. T8: O11: 1.25 d.
    # Sorted: 0, 0.5, 1.25, 2, 5, 20 -> median (1.25 + 2) / 2 = 1.625;
    # p90: index 0.9 * 5 = 4.5 -> 5 + 0.5 * (20 - 5) = 12.5; mean 28.75 / 6.
    check_kpis(
        m["kpis"],
        {
            "carts.median_time_to_order_days": num(1.625),
            "carts.p90_time_to_order_days": num(12.5),
            "carts.mean_time_to_order_days": num(28.75 / 6),
            "carts.converted_unlinked": 1,  # T4
        },
    )
    check_quality(
        m,
        {
            "carts.order_before_cart": 1,  # T2
            "carts.linked_by_cart_id": 4,  # T1, T6, T7, T8
            "carts.linked_by_next_order": 2,  # T3, T5
        },
    )
    assert hist(m) == [
        ("<1d", 2),  # 0, 0.5
        ("1d", 1),  # 1.25
        ("2-3d", 1),  # 2.0
        ("4-7d", 1),  # 5.0
        ("8-14d", 0),
        ("15d+", 1),  # 20.0
    ]


def test_time_to_order_cart_id_link_only(make_db, compute):
    m = compute(_time_to_order_db(make_db), rules={"order_link": "cart_id"})

    # T1 0.5, T6 20, T7 5, T8 1.25; T2 order_before_cart; T3, T4, T5 unlinked.
    # Sorted 0.5, 1.25, 5, 20: median (1.25 + 5) / 2 = 3.125;
    # p90: index 0.9 * 3 = 2.7 -> 5 + 0.7 * 15 = 15.5; mean 26.75 / 4 = 6.6875.
    check_kpis(
        m["kpis"],
        {
            "carts.median_time_to_order_days": num(3.125),
            "carts.p90_time_to_order_days": num(15.5),
            "carts.mean_time_to_order_days": num(6.6875),
            "carts.converted_unlinked": 3,
        },
    )
    check_quality(
        m,
        {
            "carts.order_before_cart": 1,
            "carts.linked_by_cart_id": 4,
            "carts.linked_by_next_order": 0,
        },
    )
    assert hist(m) == [("<1d", 1), ("1d", 1), ("2-3d", 0), ("4-7d", 1), ("8-14d", 0), ("15d+", 1)]


def test_time_to_order_next_order_link_only(make_db, compute):
    m = compute(_time_to_order_db(make_db), rules={"order_link": "next_order"})

    # Over all orders, the customer's first order at/after the cart:
    # T1: O1n 06:00 -> 0.25; T2: O3n 01:00 -> 1/24; T3: O5 (cart X9 counts now) -> 1.0;
    # T4 unlinked; T5 0.0; T6 20.0; T7 5.0; T8 1.25.
    # Sorted 0, 1/24, 0.25, 1, 1.25, 5, 20: median 1.0;
    # p90: index 0.9 * 6 = 5.4 -> 5 + 0.4 * 15 = 11.0; mean (27.5 + 1/24) / 7.
    check_kpis(
        m["kpis"],
        {
            "carts.median_time_to_order_days": num(1.0),
            "carts.p90_time_to_order_days": num(11.0),
            "carts.mean_time_to_order_days": num((27.5 + 1 / 24) / 7),
            "carts.converted_unlinked": 1,
        },
    )
    check_quality(
        m,
        {
            "carts.order_before_cart": 0,
            "carts.linked_by_cart_id": 0,
            "carts.linked_by_next_order": 7,
        },
    )
    assert hist(m) == [("<1d", 3), ("1d", 2), ("2-3d", 0), ("4-7d", 1), ("8-14d", 0), ("15d+", 1)]


def test_time_to_order_auto_without_orders_cart_id_column_uses_next_order(make_db, compute):
    db = make_db(
        columns={"orders": ("order_id", "customer_id", "order_date")},
        carts=[
            ("W1", "U1", "2024-03-01 00:00:00", "converted"),
            ("W3", "U1", "2024-03-01 06:00:00", "converted"),
            ("W2", "U2", "2024-03-02 00:00:00", "converted"),
        ],
        orders=[
            ("O1", "U1", "2024-03-01 12:00:00"),  # serves W1 (0.5 d) and W3 (0.25 d)
            ("O2", "U1", "2024-03-04 00:00:00"),
            ("O3", "U2", "2024-03-01 00:00:00"),  # before W2: W2 unlinked
        ],
    )
    m = compute(db)

    # 0.25, 0.5: median 0.375, p90 0.25 + 0.9 * 0.25 = 0.475, mean 0.375.
    check_kpis(
        m["kpis"],
        {
            "carts.median_time_to_order_days": num(0.375),
            "carts.p90_time_to_order_days": num(0.475),
            "carts.mean_time_to_order_days": num(0.375),
            "carts.converted_unlinked": 1,
        },
    )
    check_quality(m, {"carts.linked_by_next_order": 2, "carts.linked_by_cart_id": 0})


def test_time_to_order_date_only_orders_count_whole_days(make_db, compute):
    db = make_db(
        carts=[
            ("K7", "D7", "2024-03-10 18:00:00", "converted"),
            ("K8", "D8", "2024-03-10 18:00:00", "converted"),
        ],
        orders=[
            ("O7", "D7", "2024-03-12"),  # whole days between the dates: 2
            ("O8", "D8", "2024-03-10"),  # same calendar day: >= by day, 0 days
        ],
    )
    m = compute(db)

    # 0, 2: median 1.0, p90 0 + 0.9 * 2 = 1.8, mean 1.0.
    check_kpis(
        m["kpis"],
        {
            "carts.median_time_to_order_days": num(1.0),
            "carts.p90_time_to_order_days": num(1.8),
            "carts.mean_time_to_order_days": num(1.0),
            "carts.converted_unlinked": 0,
        },
    )
    assert hist(m) == [("<1d", 1), ("1d", 0), ("2-3d", 1), ("4-7d", 0), ("8-14d", 0), ("15d+", 0)]


# --------------------------------------------------------------------------- empty period


def test_empty_period_gives_null_rates_zero_sums_and_previous_kpis(make_db, compute):
    db = make_db(
        carts=[
            ("F1", "C1", "2024-02-05 10:00:00", "converted"),  # 10.00
            ("F2", "C2", "2024-02-10 10:00:00", "abandoned"),  # 15.00
            ("F3", "C3", "2024-02-20 10:00:00", "abandoned"),  #  5.00
            ("F4", "C4", "2024-02-29 23:59:59", "open"),
            ("F5", "C5", "2024-04-01 00:00:00", "abandoned"),  # April
        ],
        cart_items=[
            ("F1", "P1", 1, 10.00),
            ("F2", "P1", 2, 7.50),
            ("F3", "P1", 1, 5.00),
        ],
        orders=[
            ("O1", "C1", "2024-02-06 10:00:00", "F1"),  # F1: 1.0 day
            ("O2", "C2", "2024-02-12 10:00:00", None),  # C2 re-engaged (F2 + 2 days)
        ],
    )
    m = compute(db)

    check_kpis(
        m["kpis"],
        {
            "carts.carts_total": 0,
            "carts.carts_converted": 0,
            "carts.carts_abandoned": 0,
            "carts.carts_open": 0,
            "carts.carts_other": 0,
            "carts.cart_conversion_rate": None,
            "carts.abandonment_rate": None,
            "carts.abandoned_cart_value": 0,
            "carts.avg_abandoned_cart_value": None,
            "carts.converted_cart_value": 0,
            "carts.abandoners": 0,
            "carts.reengaged": 0,
            "carts.reengagement_rate": None,
            "carts.reengagement_immature_carts": 0,
            "carts.median_time_to_order_days": None,
            "carts.p90_time_to_order_days": None,
            "carts.mean_time_to_order_days": None,
            "carts.converted_unlinked": 0,
        },
    )
    # February: F1 converted, F2 + F3 abandoned, F4 open.
    check_kpis(
        m["kpis"]["previous"],
        {
            "carts.carts_total": 4,
            "carts.carts_converted": 1,
            "carts.carts_abandoned": 2,
            "carts.carts_open": 1,
            "carts.carts_other": 0,
            "carts.cart_conversion_rate": num(1 / 4),
            "carts.abandonment_rate": num(2 / 4),
            "carts.abandoned_cart_value": money(20.00),  # 15 + 5
            "carts.avg_abandoned_cart_value": money(10.00),  # 20 / 2
            "carts.converted_cart_value": money(10.00),
            "carts.abandoners": 2,  # C2, C3
            "carts.reengaged": 1,  # C2
            "carts.reengagement_rate": num(1 / 2),
            # Newest order_date in the table 02-12 10:00: F2 + 7 d and F3 + 7 d are later.
            "carts.reengagement_immature_carts": 2,
            "carts.median_time_to_order_days": num(1.0),
            "carts.p90_time_to_order_days": num(1.0),
            "carts.mean_time_to_order_days": num(1.0),
            "carts.converted_unlinked": 0,
        },
    )
    assert set(CART_KPI_KEYS) <= set(m["kpis"]["previous"])
    assert m["previous_period"] == {
        "kind": "month",
        "label": "2024-02",
        "start": "2024-02-01T00:00:00",
        "end": "2024-03-01T00:00:00",
        "timezone": "UTC",
    }
    assert hist(m) == [(bucket, 0) for bucket in HIST_BUCKETS]
    # Every ISO week overlapping March; F4 (02-29) is in the first week but not in March.
    assert trend(m) == [
        (day, 0, 0, 0, 0, 0, None)
        for day in ["2024-02-26", "2024-03-04", "2024-03-11", "2024-03-18", "2024-03-25"]
    ]
    assert table(m, "carts.top_abandoned_skus") == []
    assert table(m, "carts.top_abandoned_categories") == []
    assert table(m, "carts.savable_customers") == []
    json.dumps(m, allow_nan=False)  # metrics.json never holds NaN


# --------------------------------------------------------------------------- trend buckets


def test_funnel_trend_monthly_iso_weeks_count_only_rows_inside_month(make_db, compute):
    db = make_db(
        carts=[
            ("W0", "C1", "2024-02-29 12:00:00", "converted"),  # February: not in 02-26
            ("W1", "C1", "2024-03-01 00:00:00", "converted"),  # week 02-26
            ("W2", "C2", "2024-03-03 23:59:59", "abandoned"),  # week 02-26 (a Sunday)
            ("W3", "C3", "2024-03-04 00:00:00", "open"),  # week 03-04
            ("W4", "C4", "2024-03-18 08:00:00", "weird"),  # week 03-18
            ("W5", "C5", "2024-03-20 08:00:00", "converted"),  # week 03-18
            ("W6", "C6", "2024-03-31 23:59:59", "abandoned"),  # week 03-25
            ("W7", "C7", "2024-04-01 00:00:00", "converted"),  # April
        ],
    )
    m = compute(db)

    # (bucket_start, total, converted, abandoned, open, other, conversion_rate)
    assert trend(m) == [
        ("2024-02-26", 2, 1, 1, 0, 0, num(1 / 2)),
        ("2024-03-04", 1, 0, 0, 1, 0, num(0.0)),
        ("2024-03-11", 0, 0, 0, 0, 0, None),  # empty week: zeros, null rate
        ("2024-03-18", 2, 1, 0, 0, 1, num(1 / 2)),
        ("2024-03-25", 1, 0, 1, 0, 0, num(0.0)),
    ]


def test_funnel_trend_weekly_lists_seven_days(make_db, compute):
    db = make_db(
        carts=[
            ("Y0", "C1", "2024-03-10 23:59:59", "abandoned"),  # previous week (W10)
            ("Y1", "C1", "2024-03-11 09:00:00", "converted"),
            ("Y2", "C2", "2024-03-11 10:00:00", "abandoned"),
            ("Y3", "C3", "2024-03-13 12:00:00", "open"),
            ("Y4", "C4", "2024-03-17 23:59:59", "converted"),
            ("Y5", "C5", "2024-03-18 00:00:00", "converted"),  # next week
        ],
    )
    m = compute(db, period=week_period("2024-W11"))

    assert m["period"]["label"] == "2024-W11"
    assert m["previous_period"]["label"] == "2024-W10"
    assert trend(m) == [
        ("2024-03-11", 2, 1, 1, 0, 0, num(1 / 2)),
        ("2024-03-12", 0, 0, 0, 0, 0, None),
        ("2024-03-13", 1, 0, 0, 1, 0, num(0.0)),
        ("2024-03-14", 0, 0, 0, 0, 0, None),
        ("2024-03-15", 0, 0, 0, 0, 0, None),
        ("2024-03-16", 0, 0, 0, 0, 0, None),
        ("2024-03-17", 1, 1, 0, 0, 0, num(1.0)),
    ]
    check_kpis(m["kpis"], {"carts.carts_total": 4})  # Y1..Y4
    check_kpis(m["kpis"]["previous"], {"carts.carts_total": 1, "carts.carts_abandoned": 1})


# --------------------------------------------------------------------------- timestamps


def test_timestamp_formats_parse_and_garbage_is_unparsed(make_db, compute):
    db = make_db(
        carts=[
            ("P01", "C1", "2024-03-05T10:00:00", "open"),
            ("P02", "C1", "2024-03-05 10:00", "open"),
            ("P03", "C1", "2024-03-05 10:00:00.123456", "open"),
            ("P04", "C1", "2024-03-05 10:00:00 UTC", "open"),
            ("P05", "C1", "2024-03-05T10:00:00Z", "open"),
            ("P06", "C1", "2024-03-05 10:00:00+02:00", "open"),  # 08:00 UTC
            ("P07", "C1", "2024-03-05", "open"),  # a bare date: 00:00
            ("P08", "C1", "garbage", "open"),  # unparsed
            ("P09", "C1", None, "open"),  # unparsed
            ("P10", "C1", "2024-03-31 23:30:00-02:00", "open"),  # 04-01 01:30 UTC: April
            ("P11", "C1", "2024-04-01 01:00:00+02:00", "open"),  # 03-31 23:00 UTC: March
        ],
    )
    m = compute(db)

    check_kpis(m["kpis"], {"carts.carts_total": 8, "carts.carts_open": 8})  # P01..P07, P11
    check_quality(m, {"carts.unparsed_created_at": 2})  # P08, P09
    assert [(row[0], row[1]) for row in trend(m)] == [
        ("2024-02-26", 0),
        ("2024-03-04", 7),  # P01..P07 on Tuesday 03-05
        ("2024-03-11", 0),
        ("2024-03-18", 0),
        ("2024-03-25", 1),  # P11
    ]


def _london_db(make_db):
    # Europe/London is UTC+0 until 2024-03-31 01:00 UTC, then UTC+1 (BST).
    return make_db(
        carts=[
            ("Z1", "C1", "2024-03-31T22:30:00Z", "open"),  # 23:30 BST 03-31: March
            ("Z2", "C1", "2024-03-31T23:30:00Z", "open"),  # 00:30 BST 04-01: April
            ("Z3", "C1", "2024-03-31 23:30:00", "open"),  # naive = London time: March
            ("Z4", "C1", "2024-03-31 23:59:59 UTC", "open"),  # 00:59:59 BST 04-01: April
            ("Z5", "C1", "2024-03-01 00:30:00+01:00", "open"),  # 02-29 23:30 GMT: February
            ("Z6", "C1", "2024-03-01T00:00:00Z", "open"),  # 03-01 00:00 GMT: March
        ],
    )


def test_timezone_moves_utc_values_into_the_local_month(make_db, compute):
    london = "Europe/London"
    m = compute(
        _london_db(make_db),
        period=month_period("2024-03", timezone=london),
        report={"timezone": london},
    )

    assert m["period"]["timezone"] == london
    check_kpis(m["kpis"], {"carts.carts_total": 3})  # Z1, Z3, Z6
    check_kpis(m["kpis"]["previous"], {"carts.carts_total": 1})  # Z5
    assert [(row[0], row[1]) for row in trend(m)] == [
        ("2024-02-26", 1),  # Z6
        ("2024-03-04", 0),
        ("2024-03-11", 0),
        ("2024-03-18", 0),
        ("2024-03-25", 2),  # Z1, Z3
    ]


def test_timezone_puts_utc_values_on_the_local_day(make_db, compute):
    london = "Europe/London"
    m = compute(
        _london_db(make_db),
        period=week_period("2024-W13", timezone=london),  # Monday 03-25 to Monday 04-01
        report={"timezone": london},
    )

    days = [(row[0], row[1]) for row in trend(m)]
    assert days == [
        ("2024-03-25", 0),
        ("2024-03-26", 0),
        ("2024-03-27", 0),
        ("2024-03-28", 0),
        ("2024-03-29", 0),
        ("2024-03-30", 0),
        ("2024-03-31", 2),  # Z1, Z3; Z2 and Z4 are on Monday 04-01 local time
    ]


# --------------------------------------------------------------------------- renames


def test_source_tables_and_columns_rename(make_db, compute):
    db = make_db(
        # Decoys under the canonical names: read only if the renames are ignored.
        carts=[(f"X{i}", "C9", "2024-03-02 10:00:00", "abandoned") for i in range(5)],
        cart_items=[("X0", "P1", 100, 1.00)],
        customers=[("C1", None, None), ("C2", None, None)],
        extra={
            "basket": (
                ("cart_id", "customer_id", "opened_at", "state"),
                [
                    ("B1", "C1", "2024-03-02 10:00:00", "abandoned"),
                    ("B2", "C2", "2024-03-03 10:00:00", "converted"),
                ],
            ),
            "basket_lines": (
                ("cart_id", "product_id", "qty", "unit_price"),
                [("B1", "P1", 2, 3.00), ("B2", "P1", 1, 3.00)],  # B1 = 6.00, B2 = 3.00
            ),
            "clients": (
                ("customer_id", "tier"),
                [("C1", "Gold"), ("C2", "Gold")],
            ),
        },
    )
    m = compute(
        db,
        segments=["loyalty_tier"],
        source={
            "tables": {"carts": "basket", "cart_items": "basket_lines", "customers": "clients"},
            "columns": {
                "carts": {"created_at": "opened_at", "status": "state"},
                "cart_items": {"quantity": "qty"},
                "customers": {"loyalty_tier": "tier"},
            },
        },
    )

    check_kpis(
        m["kpis"],
        {
            "carts.carts_total": 2,  # B1, B2
            "carts.carts_abandoned": 1,
            "carts.abandoned_cart_value": money(6.00),  # 2 * 3.00
            "carts.converted_cart_value": money(3.00),
        },
    )
    assert table(m, "carts.segment.loyalty_tier") == [
        # Gold: B1 (abandoned, 6.00, C1 not re-engaged), B2 (converted)
        _segment_row("Gold", 2, 1 / 2, 1 / 2, 6.00, 1, 0, 0 / 1),
    ]
