"""An instant means the same whatever form it is written in (METRICS.md §2, §8).

A naive time is local to ``report.timezone``; ``UTC``, ``Z`` and ``±HH:MM`` suffixes
name the instant outright. So a random shop or log gives the same metrics.json when
every timestamp is rewritten as the same instant in another accepted form: as naive
local time, or with an offset. March 2024 has spring-forward gaps and no fall-back
fold in the zones drawn, so every instant has exactly one local wall time. Date-only
and unparseable values are left as they are.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from shopgen import (
    EVENT_COLUMNS,
    Shop,
    cart_configs,
    compute_sqlite,
    event_configs,
    event_logs,
    examples,
    shops,
)

_STAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)( UTC|Z|[+-]\d{2}:\d{2})?$"
)
OFFSETS = [timedelta(minutes=m) for m in (-300, -240, 0, 60, 330, 600)]


def instant_of(text: str, zone: str) -> datetime | None:
    """Read a timestamp with a time part as §8 does (None for anything else)."""
    match = _STAMP.match(text)
    if not match:
        return None
    day, clock, suffix = match.groups()
    try:
        naive = datetime.fromisoformat(f"{day} {clock}")
    except ValueError:  # 2024-02-30 and the like
        return None
    if suffix in (" UTC", "Z"):
        return naive.replace(tzinfo=UTC)
    if suffix:
        return datetime.fromisoformat(f"{day} {clock}{suffix}")
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)  # a gap time moves forward


def rewrite(value, zone: str, form: str, index: int):
    """Write the instant ``value`` names in ``form``: "local" or "offset"."""
    if not isinstance(value, str):
        return value
    instant = instant_of(value, zone)
    if instant is None:
        return value
    if form == "local":
        return f"{instant.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M:%S.%f}"
    offset = OFFSETS[index % len(OFFSETS)]
    moved = instant.astimezone(timezone(offset))
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
