"""Bugs the property tests found, shrunk to the smallest shop that shows each one.

Each test states what METRICS.md (or docs/rules.md) asks; each failed on the code the
property tests ran against and passes since its fix.
"""

from __future__ import annotations


def test_an_order_with_an_unparsed_date_does_not_make_its_cart_order_before_cart(make_db, compute):
    # docs/rules.md unparsed-orders-ignored: an order whose order_date cannot be parsed
    # takes part in no link. §8: order_before_cart counts converted carts whose cart_id
    # orders all precede the cart; an order that cannot be placed in time precedes nothing.
    db = make_db(
        carts=[("K1", "C1", "2024-03-01 00:00:00", "converted")],
        orders=[
            ("O1", "C1", "2024-03-02 00:00:00", None),  # next_order candidate: 1 day later
            ("O2", "C1", None, "K1"),  # carries K1 but cannot be placed in time
        ],
    )
    m = compute(db)
    # No parsed order carries K1, so auto falls back to next_order: O1, one day later.
    assert m["data_quality"]["carts.order_before_cart"] == 0
    assert m["data_quality"]["carts.linked_by_next_order"] == 1
    assert m["kpis"]["carts.median_time_to_order_days"] == 1.0
    assert m["kpis"]["carts.converted_unlinked"] == 0
