"""An instant means the same whatever form it is written in (METRICS.md §2, §8).

A naive time is local to ``report.timezone``; ``UTC``, ``Z`` and ``±HH:MM`` suffixes
name the instant outright. So a random shop or log gives the same metrics.json when
every timestamp is rewritten as the same instant in another accepted form: as naive
local time, or with an offset. March 2024 has spring-forward gaps and no fall-back
fold in the zones drawn, so every instant has exactly one local wall time. Date-only
and unparseable values are left as they are.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from shopgen import (
    EVENT_COLUMNS,
    Shop,
    cart_configs,
    compute_sqlite,
    date_only,
    event_configs,
    event_logs,
    examples,
    instant,
    shops,
)

OFFSETS = [timedelta(minutes=m) for m in (-300, -240, 0, 60, 330, 600)]


def rewrite(value, zone: str, form: str, index: int):
    """Write the instant ``value`` names in ``form``: "local" or "offset"."""
    if not isinstance(value, str) or date_only([value]):
        return value
    moment = instant(value, ZoneInfo(zone))  # a naive gap time moves forward, as in §8
    if moment is None:
        return value
    if form == "local":
        return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S.%f}"
    offset = OFFSETS[index % len(OFFSETS)]
    moved = moment.astimezone(timezone(offset))
    text = f"{moved:%Y-%m-%dT%H:%M:%S.%f}"
    if offset == timedelta(0):
        return text + (" UTC" if index % 2 else "Z")
    return text + f"{moved:%z}"[:3] + ":" + f"{moved:%z}"[3:]


def rewrite_column(rows: list[tuple], column: int, zone: str, form: str) -> list[tuple]:
    return [
        (*row[:column], rewrite(row[column], zone, form, i), *row[column + 1 :])
        for i, row in enumerate(rows)
    ]


@given(shop=shops(max_carts=15), config=cart_configs())
@examples(15)
def test_a_shop_means_the_same_in_every_time_form(shop, config):
    zone = config["report"]["timezone"]
    expected = compute_sqlite(shop.tables(), config)
    for form in ("local", "offset"):
        rewritten = Shop(
            carts=rewrite_column(shop.carts, 2, zone, form),
            cart_items=shop.cart_items,
            orders=rewrite_column(shop.orders, 2, zone, form),
            customers=shop.customers,
            products=shop.products,
        )
        assert compute_sqlite(rewritten.tables(), config) == expected, form


@given(log=event_logs(max_rows=30), config=event_configs())
@examples(15)
def test_an_event_log_means_the_same_in_every_time_form(log, config):
    zone = config["report"]["timezone"]
    expected = compute_sqlite({"events": (EVENT_COLUMNS, log)}, config)
    for form in ("local", "offset"):
        rewritten = rewrite_column(log, 0, zone, form)
        assert compute_sqlite({"events": (EVENT_COLUMNS, rewritten)}, config) == expected, form
