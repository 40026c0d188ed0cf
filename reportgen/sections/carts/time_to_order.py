"""Time to order: converted carts linked to their orders (METRICS.md §3 Time to order)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from reportgen.config import Config
from reportgen.sections.carts.prepare import DAY_US, Prepared
from reportgen.source.query import rows
from reportgen.source.sqlexpr import Expr

HIST_BUCKETS = (
    ("<1d", 0, 1),
    ("1d", 1, 2),
    ("2-3d", 2, 4),
    ("4-7d", 4, 8),
    ("8-14d", 8, 15),
    ("15d+", 15, float("inf")),
)


def time_to_order(conn, config: Config, prepared: Prepared) -> dict[str, dict[str, Any]]:
    """Link every period's converted carts to orders (rules.order_link) and summarise the
    delays of each: ``which`` → {median, p90, mean, unlinked, before, by_cart, by_next,
    hist} (every period of the window has an entry)."""
    found = rows(conn, _links(config, prepared))
    by_period: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        by_period.setdefault(row["which"], []).append(row)
    return defaultdict(
        lambda: _summary([], prepared.date_only),
        {which: _summary(links, prepared.date_only) for which, links in by_period.items()},
    )


def median_delays(conn, expr: Expr, config: Config, prepared: Prepared) -> dict[str, float | None]:
    """Return each period's median delay, as ``time_to_order`` gives it (``which`` → days,
    None without a linked cart), with only the middle delays leaving the engine.

    The delays are ranked as integers (microseconds or days): dividing by a positive
    constant keeps their order, so the middle ones are those of the sorted floats, and
    numpy's percentile of the one or two of them is the percentile of all (the same
    interpolation between the same two values). The cover's history needs no more, and
    fetching every converted cart cost it a quarter of its time at 1M carts. Where the
    engine cannot rank them (``Expr.ranks_correlated``), the links are read as the
    report reads them.
    """
    if not expr.ranks_correlated():
        found = time_to_order(conn, config, prepared)
        return defaultdict(lambda: None, {which: got["median"] for which, got in found.items()})
    found = rows(
        conn,
        f"""
        select which, delay from (
            select which, delay,
                   row_number() over (partition by which order by delay) as k,
                   count(*) over (partition by which) as n
            from ({_links(config, prepared)}) links
            where delay is not null
        ) ranked
        where 2 * k between n and n + 2
    """,
    )
    middles: dict[str, list[float]] = {}
    for row in found:
        middles.setdefault(row["which"], []).append(_days(row["delay"], prepared.date_only))
    return defaultdict(
        lambda: None, {which: float(np.percentile(v, 50)) for which, v in middles.items()}
    )


def _links(config: Config, prepared: Prepared) -> str:
    """Return the select of each converted cart's link (rules.order_link): ``which``,
    ``has_cart_orders`` and ``delay``, from its start to the order that ends it.

    A cart with orders of its own (``has_cart_orders``) is ended by its first one at or
    after it; any other by its customer's next order; ``delay`` is null when none does.
    The rule lives here alone, read by both ``time_to_order`` and ``median_delays``."""
    mode = config.rules.order_link
    unit, key = ("day", "day") if prepared.date_only else ("epoch_us", "epoch_us")
    use_cart_id = prepared.has_order_cart_id and mode in ("auto", "cart_id")
    use_next = mode in ("auto", "next_order")
    cart_part = (
        f"""(select min(o.{key}) from rg_orders o
              where o.cart_id = p.cart_id and o.{key} >= p.{key}) as by_cart,
            case when exists (select 1 from rg_order_carts oc where oc.cart_id = p.cart_id)
                 then 1 else 0 end as has_cart_orders"""
        if use_cart_id
        else "cast(null as bigint) as by_cart, 0 as has_cart_orders"
    )
    pool = "o.cart_id is null and " if mode == "auto" and prepared.has_order_cart_id else ""
    next_part = (
        f"""(select min(o.{key}) from rg_orders o
              where {pool}o.customer_id = p.customer_id and o.{key} >= p.{key}) as by_next"""
        if use_next
        else "cast(null as bigint) as by_next"
    )
    return f"""
        select which, has_cart_orders,
               case when has_cart_orders = 1 then by_cart else by_next end - start as delay
        from (
            select p.which, p.{unit} as start, {cart_part}, {next_part}
            from rg_pc p where p.status_rank = 1
        ) ends
    """


def _days(delay: int, date_only: bool) -> float:
    """Return a delay (days, or microseconds) in days, as ``_summary`` computes it."""
    return float(delay) if date_only else delay / DAY_US


def _summary(found: list[dict[str, Any]], date_only: bool) -> dict[str, Any]:
    """Summarise one period's links: counts by kind and the delays' statistics."""
    durations: list[float] = []
    by_cart = by_next = before = unlinked = 0
    for row in found:
        delay = row["delay"]
        if row["has_cart_orders"]:
            if delay is None:
                before += 1
                continue
            by_cart += 1
        elif delay is not None:
            by_next += 1
        else:
            unlinked += 1
            continue
        durations.append(_days(delay, date_only))
    values = np.sort(np.array(durations, dtype=float))  # row order differs by engine
    hist = [
        {"bucket": label, "carts": int(((values >= low) & (values < high)).sum())}
        for label, low, high in HIST_BUCKETS
    ]
    return {
        "median": float(np.percentile(values, 50)) if len(values) else None,
        "p90": float(np.percentile(values, 90)) if len(values) else None,
        "mean": float(values.mean()) if len(values) else None,
        "unlinked": unlinked,
        "before": before,
        "by_cart": by_cart,
        "by_next": by_next,
        "hist": hist,
    }
