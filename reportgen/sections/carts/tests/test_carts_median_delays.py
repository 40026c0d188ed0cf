"""median_delays (the cover's history) gives each period the median time_to_order gives it,
from the middle delays alone: odd and even counts, ties, every kind of link, both units."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from reportgen.config import config_from_dict
from reportgen.sections.carts.prepare import DAY_US, Prepared
from reportgen.sections.carts.time_to_order import median_delays, time_to_order
from reportgen.source.sqlexpr import Expr


def _prepared(date_only: bool, has_order_cart_id: bool = True) -> Prepared:
    return Prepared(
        date_only=date_only,
        has_order_cart_id=has_order_cart_id,
        has_order_total=True,
        has_customers=False,
        has_products=False,
        segments=(),
        missing_segments=(),
    )


def _tables(conn, rng: random.Random, carts_by_period: dict[str, int], unit: int) -> None:
    """Converted carts (with some abandoned ones) and orders that end them every way:
    by their own cart_id, by the customer's next order, before the cart, or not at all."""
    conn.exec_driver_sql(
        "create temp table rg_pc (which text, cart_id text, customer_id text, "
        "status_rank integer, epoch_us integer, day integer)"
    )
    conn.exec_driver_sql(
        "create temp table rg_orders (cart_id text, customer_id text, epoch_us integer, "
        "day integer)"
    )
    conn.exec_driver_sql("create temp table rg_order_carts (cart_id text)")
    for which, count in carts_by_period.items():
        for index in range(count):
            cart, customer = f"{which}-{index}", f"u{which}-{index}"
            start = rng.randrange(0, 40 * unit)
            rank = 1 if rng.random() < 0.9 else 2
            conn.exec_driver_sql(
                "insert into rg_pc values (?, ?, ?, ?, ?, ?)",
                (which, cart, customer, rank, *_instant(start, unit)),
            )
            kind = rng.choice(["cart", "cart", "next", "next", "before", "none"])
            if kind == "none":
                continue
            # Few distinct delays, so that equal middles (ties) occur.
            delay = rng.choice([0, 1, 60, 3_600, 86_400, 90_000]) * unit // 86_400
            when = start - unit if kind == "before" else start + delay
            order_cart = None if kind == "next" else cart
            conn.exec_driver_sql(
                "insert into rg_orders values (?, ?, ?, ?)",
                (order_cart, customer, *_instant(when, unit)),
            )
            if order_cart:
                conn.exec_driver_sql("insert into rg_order_carts values (?)", (cart,))


def _instant(time: int, unit: int) -> tuple[int, int]:
    """Return (epoch_us, day) of a time counted in ``unit`` parts of a day."""
    return time * DAY_US // unit, time // unit


@pytest.mark.parametrize("date_only", [False, True])
@pytest.mark.parametrize("order_link", ["auto", "cart_id", "next_order"])
@pytest.mark.parametrize("seed", range(6))
def test_median_delays_is_time_to_orders_median(date_only, order_link, seed) -> None:
    _check_medians(random.Random(seed), date_only, order_link, _prepared(date_only), "sqlite")


@pytest.mark.parametrize("order_link", ["auto", "cart_id", "next_order"])
def test_without_order_cart_ids_the_medians_agree_too(order_link) -> None:
    """Orders without cart_id: by the next order only, or (cart_id) nothing links."""
    prepared = _prepared(False, has_order_cart_id=False)
    _check_medians(random.Random(7), False, order_link, prepared, "sqlite")


def test_an_engine_that_cannot_rank_the_links_reads_them() -> None:
    """Spark (``Expr.ranks_correlated`` false) takes time_to_order's medians."""
    _check_medians(random.Random(8), False, "auto", _prepared(False), "spark")


def _check_medians(rng, date_only, order_link, prepared, dialect) -> None:
    # Odd and even numbers of carts per period, one period with none linked at all.
    sizes = {"0": rng.randrange(1, 30), "1": rng.randrange(1, 30), "2": 2, "3": 0}
    config = config_from_dict({"rules": {"order_link": order_link}})
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        _tables(conn, rng, sizes, 1 if date_only else 86_400)
        full = time_to_order(conn, config, prepared)
        middle = median_delays(conn, Expr(dialect, "UTC"), config, prepared)
        for which in sizes:
            assert middle[which] == full[which]["median"], which
        assert any(middle[which] is not None for which in sizes) == (
            order_link != "cart_id" or prepared.has_order_cart_id
        )
