"""Time to order: converted carts linked to their orders (METRICS.md §3 Time to order)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from reportgen.config import Config
from reportgen.sections.carts.prepare import DAY_US, Prepared
from reportgen.source.query import rows

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
        else "null as by_cart, 0 as has_cart_orders"
    )
    pool = "o.cart_id is null and " if mode == "auto" and prepared.has_order_cart_id else ""
    next_part = (
        f"""(select min(o.{key}) from rg_orders o
              where {pool}o.customer_id = p.customer_id and o.{key} >= p.{key}) as by_next"""
        if use_next
        else "null as by_next"
    )
    found = rows(
        conn,
        f"""
        select p.which, p.{unit} as start, {cart_part}, {next_part}
        from rg_pc p where p.status_rank = 1
    """,
    )
    by_period: dict[str, list[dict[str, Any]]] = {}
    for row in found:
        by_period.setdefault(row["which"], []).append(row)
    return defaultdict(
        lambda: _summary([], prepared.date_only),
        {which: _summary(links, prepared.date_only) for which, links in by_period.items()},
    )


def _summary(found: list[dict[str, Any]], date_only: bool) -> dict[str, Any]:
    """Summarise one period's links: counts by kind and the delays' statistics."""
    durations: list[float] = []
    by_cart = by_next = before = unlinked = 0
    for row in found:
        if row["has_cart_orders"]:
            if row["by_cart"] is None:
                before += 1
                continue
            end, by_cart = row["by_cart"], by_cart + 1
        elif row["by_next"] is not None:
            end, by_next = row["by_next"], by_next + 1
        else:
            unlinked += 1
            continue
        if date_only:
            durations.append(float(end - row["start"]))
        else:
            durations.append((end - row["start"]) / DAY_US)
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
