"""The cart KPIs equal those of a small Python reading of METRICS.md §3 and §8.

``reference_kpis`` is written from the spec alone, row by row, with none of the SQL:
collapse duplicate carts, merge and validate lines, window by instants, link converted
carts to orders (``auto``, ``cart_id``, ``next_order``), re-engagement with its calendar-day
rule for date-only columns, immature carts and the time-to-order statistics. Random
dirty shops must give the same KPIs from reportgen as from it, for March 2024 and for
February (the previous period).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import example, given, note
from shopgen import (
    Shop,
    cart_configs,
    close,
    compute_sqlite,
    date_only,
    examples,
    ident,
    instant,
    number,
    shops,
)

RANK = {"converted": 3, "abandoned": 2, "open": 1, "other": 0}


@dataclass(frozen=True)
class Cart:
    cart_id: str
    customer_id: str | None
    created: datetime | None
    status: str


def status_class(status: Any, rules: dict[str, Any]) -> str:
    norm = None if status is None else str(status).strip().lower() or None
    for name in ("converted", "abandoned", "open"):
        if norm in rules[f"{name}_statuses"]:
            return name
    return "other"


def collapse(shop, rules, zone) -> list[Cart]:
    """Drop NULL cart ids; keep one row per id: most advanced, earliest, smallest customer."""
    groups: dict[str, list[Cart]] = {}
    for cart_id, customer_id, created_at, status in shop.carts:
        key = ident(cart_id)
        if key is None:
            continue
        row = Cart(key, ident(customer_id), instant(created_at, zone), status_class(status, rules))
        groups.setdefault(key, []).append(row)

    def order(c: Cart):
        return (
            -RANK[c.status],
            c.created is None,
            c.created or datetime.min.replace(tzinfo=UTC),
            c.customer_id is None,
            c.customer_id or "",
        )

    return [min(rows, key=order) for rows in groups.values()]


def cart_values(shop, duplicate_lines: str) -> dict[str | None, float]:
    """Merge lines on (cart_id, product_id), drop invalid ones, sum quantity * unit_price."""
    merged: dict[tuple, list[list[float]]] = {}
    for cart_id, product_id, quantity, unit_price in shop.cart_items:
        key = (ident(cart_id), ident(product_id))
        qs, ps = merged.setdefault(key, [[], []])
        if number(quantity) is not None:
            qs.append(number(quantity))
        if number(unit_price) is not None:
            ps.append(number(unit_price))
    values: dict[str | None, float] = {}
    for (cart_id, _), (qs, ps) in merged.items():
        quantity = (sum(qs) if duplicate_lines == "sum" else max(qs)) if qs else None
        price = max(ps) if ps else None
        if quantity is None or quantity <= 0 or price is None or price < 0:
            continue
        values[cart_id] = values.get(cart_id, 0.0) + quantity * price
    return values


def reference_kpis(shop, config: dict[str, Any], start: datetime, end: datetime) -> dict:
    """The cart KPIs of the period [start, end) (local wall times) read from the spec."""
    rules = {
        "converted_statuses": ["converted", "purchased", "completed", "checked_out", "ordered"],
        "abandoned_statuses": ["abandoned", "emptied"],
        "open_statuses": ["open", "active"],
        "duplicate_lines": "sum",
        "reengagement_days": 7,
        "order_link": "auto",
        **config["rules"],
    }
    zone = ZoneInfo(config["report"]["timezone"])
    lo, hi = start.replace(tzinfo=zone), end.replace(tzinfo=zone)
    by_day = date_only([c[2] for c in shop.carts]) or date_only([o[2] for o in shop.orders])
    days_n = rules["reengagement_days"]

    def day(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    carts = [c for c in collapse(shop, rules, zone) if c.created and lo <= c.created < hi]
    values = cart_values(shop, rules["duplicate_lines"])
    orders = []
    for _, customer_id, order_date, cart_id in shop.orders:
        when = instant(order_date, zone)
        if when is not None:  # unparsed orders take part in nothing (rules.md)
            orders.append((ident(customer_id), when, ident(cart_id)))

    def counted(name: str) -> list[Cart]:
        return [c for c in carts if c.status == name]

    abandoned, converted = counted("abandoned"), counted("converted")
    total = len(carts)

    # Re-engagement.
    abandoners = {c.customer_id for c in abandoned if c.customer_id is not None}

    def reengages(c: Cart) -> bool:
        for customer_id, when, _ in orders:
            if customer_id != c.customer_id:
                continue
            if by_day:
                if day(c.created) <= day(when) <= day(c.created) + timedelta(days=days_n):
                    return True
            elif c.created < when <= c.created + timedelta(days=days_n):
                return True
        return False

    reengaged = {c.customer_id for c in abandoned if c.customer_id in abandoners and reengages(c)}
    if orders:
        newest = max(when for _, when, _ in orders)
        if by_day:
            immature = sum(day(c.created) + timedelta(days=days_n) > day(newest) for c in abandoned)
        else:
            immature = sum(c.created + timedelta(days=days_n) > newest for c in abandoned)
    else:
        immature = 0

    # Time to order.
    def at_or_after(when: datetime, c: Cart) -> bool:
        return day(when) >= day(c.created) if by_day else when >= c.created

    link = rules["order_link"]
    durations, before, unlinked = [], 0, 0
    for c in converted:
        found = None
        carried = [o for o in orders if o[2] == c.cart_id] if link != "next_order" else []
        if carried:
            after = [o for o in carried if at_or_after(o[1], c)]
            if not after:
                before += 1
                continue
            found = min(after, key=lambda o: o[1])
        elif link != "cart_id" and c.customer_id is not None:
            pool = [o for o in orders if link == "next_order" or o[2] is None]
            after = [o for o in pool if o[0] == c.customer_id and at_or_after(o[1], c)]
            found = min(after, key=lambda o: o[1]) if after else None
        if found is None:
            unlinked += 1
            continue
        if by_day:
            durations.append(float((day(found[1]) - day(c.created)).days))
        else:
            durations.append((found[1] - c.created).total_seconds() / 86400)

    def stat(fn):
        return float(fn(durations)) if durations else None

    abandoned_value = sum(values.get(c.cart_id, 0.0) for c in abandoned)
    return {
        "carts.carts_total": total,
        "carts.carts_converted": len(converted),
        "carts.carts_abandoned": len(abandoned),
        "carts.carts_open": len(counted("open")),
        "carts.carts_other": len(counted("other")),
        "carts.abandoned_cart_value": abandoned_value,
        "carts.converted_cart_value": sum(values.get(c.cart_id, 0.0) for c in converted),
        "carts.abandoners": len(abandoners),
        "carts.reengaged": len(reengaged),
        "carts.reengagement_immature_carts": immature,
        "carts.median_time_to_order_days": stat(np.median),
        "carts.p90_time_to_order_days": stat(lambda d: np.percentile(d, 90)),
        "carts.mean_time_to_order_days": stat(np.mean),
        "carts.converted_unlinked": unlinked,
        "order_before_cart": before,
    }


def assert_kpis_match(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    wrong = {
        key: (actual[key], value)
        for key, value in expected.items()
        if key in actual and not close(actual[key], value, tol=1e-9)
    }
    assert not wrong, f"reportgen vs reference: {wrong}"


EDGES = {"rules": {"reengagement_days": 7}, "report": {"timezone": "UTC"}}


@given(shop=shops(), config=cart_configs())
@example(  # Orders exactly on the edges of the windows, with times: (c, c + 7 days].
    shop=Shop(
        carts=[
            ("K1", "C1", "2024-03-05 10:00:00", "abandoned"),  # order at c: not re-engaged
            ("K2", "C2", "2024-03-07 08:00:00", "abandoned"),  # order at c + 7 d: re-engaged
            ("K3", "C3", "2024-03-06 12:00:00", "converted"),  # next order at c: 0 days
            ("K4", "C4", "2024-03-06 12:00:00", "converted"),  # its cart_id order: 7 days
        ],
        orders=[
            ("O1", "C1", "2024-03-05 10:00:00", None),
            ("O2", "C2", "2024-03-14 08:00:00", None),
            ("O3", "C3", "2024-03-06 12:00:00", None),
            ("O4", "C4", "2024-03-13 12:00:00", "K4"),
        ],
    ),
    config=EDGES,
).via("window edges")
@example(  # The same by calendar day: the orders column is date-only.
    shop=Shop(
        carts=[
            ("K1", "C1", "2024-03-05 10:00:00", "abandoned"),  # same day: re-engaged
            ("K2", "C2", "2024-03-07 08:00:00", "abandoned"),  # 8 days later: not
            ("K3", "C3", "2024-03-06 12:00:00", "converted"),  # same day: 0 days
        ],
        orders=[
            ("O1", "C1", "2024-03-05", None),
            ("O2", "C2", "2024-03-15", None),
            ("O3", "C3", "2024-03-06", None),
        ],
    ),
    config=EDGES,
).via("calendar-day edges")
@examples(60)
def test_cart_kpis_match_the_reference_reading(shop, config):
    m = compute_sqlite(shop.tables(), config)
    current = reference_kpis(shop, config, datetime(2024, 3, 1), datetime(2024, 4, 1))
    previous = reference_kpis(shop, config, datetime(2024, 2, 1), datetime(2024, 3, 1))
    note(f"reference: {current}")
    assert_kpis_match(m["kpis"], current)
    assert m["data_quality"]["carts.order_before_cart"] == current["order_before_cart"]
    assert_kpis_match(m["kpis"]["previous"], previous)
    assert math.isfinite(current["carts.abandoned_cart_value"])
