"""Which groups explain a headline cart KPI's change: the ``carts.contributions`` table.

A sum KPI (abandoned cart value, split by category) changes by the sum of its groups'
changes. A rate KPI r = Σ w_g r_g (w_g the group's share of the denominator) changes by
Σ (w_g' r_g' - w_g r_g); each group's term splits exactly into a rate effect w̄_g (r_g' - r_g)
and a size effect r̄_g (w_g' - w_g), bars the averages of the two periods. Everything comes
from group-level counts the database aggregates; no row reaches pandas or Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.source.query import rows
from reportgen.source.values import money

COLUMNS = (
    "kpi",
    "dimension",
    "group",
    "previous",
    "current",
    "change",
    "size_effect",
    "rate_effect",
    "contribution",
    "share_of_change",
)

RATES = (
    # (KPI, numerator, denominator, scratch table the counts come from)
    ("carts.abandonment_rate", "abandoned", "carts", "rg_pc"),
    ("carts.cart_conversion_rate", "converted", "carts", "rg_pc"),
    ("carts.reengagement_rate", "reengaged", "abandoners", "rg_abandoners"),
)

Counts = dict[str, dict[str, dict[str, float]]]
"""which ('cur' / 'prev') → group → count name → count."""


def contributions(
    conn, segments: Sequence[str], kpis: Mapping[str, Any], previous: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Return the contribution rows of every headline KPI that has a split."""
    found = _sum_rows(
        "carts.abandoned_cart_value", "category", _category_values(conn), kpis, previous
    )
    for name in segments:
        carts, people = _segment_counts(conn, name)
        for kpi, top, bottom, table in RATES:
            counts = carts if table == "rg_pc" else people
            found += _rate_rows(kpi, name, counts, top, bottom, kpis, previous)
    return found


def _category_values(conn) -> Counts:
    """Abandoned value per category, both periods (as the category table counts it)."""
    found: Counts = {"cur": {}, "prev": {}}
    for row in rows(
        conn,
        """
        select p.which, coalesce(pr.category, 'Unknown') as grp, sum(l.value) as value
        from rg_lines l
        join rg_pc p on p.cart_id = l.cart_id
        left join rg_products pr on pr.product_id = l.product_id
        where p.status_rank = 2 and l.valid = 1
        group by p.which, coalesce(pr.category, 'Unknown')
    """,
    ):
        found[row["which"]][str(row["grp"])] = {"value": money(row["value"])}
    return found


def _segment_counts(conn, name: str) -> tuple[Counts, Counts]:
    """Carts, abandoned, converted and abandoners, re-engaged per segment and period."""
    column = f"seg_{name}"
    carts: Counts = {"cur": {}, "prev": {}}
    for row in rows(
        conn,
        f"""
        select which, {column} as grp, count(*) as carts,
               sum(case when status_rank = 2 then 1 else 0 end) as abandoned,
               sum(case when status_rank = 1 then 1 else 0 end) as converted
        from rg_pc group by which, {column}
    """,
    ):
        carts[row["which"]][str(row["grp"])] = row
    people: Counts = {"cur": {}, "prev": {}}
    for row in rows(
        conn,
        f"""
        select which, {column} as grp, count(*) as abandoners,
               coalesce(sum(reengaged), 0) as reengaged
        from rg_abandoners group by which, {column}
    """,
    ):
        people[row["which"]][str(row["grp"])] = row
    return carts, people


def _sum_rows(
    kpi: str,
    dimension: str,
    counts: Counts,
    kpis: Mapping[str, Any],
    previous: Mapping[str, Any],
) -> list[dict[str, Any]]:
    total = _change(kpis.get(kpi), previous.get(kpi))
    found = []
    for group in _groups(counts):
        before = counts["prev"].get(group, {}).get("value", 0.0)
        after = counts["cur"].get(group, {}).get("value", 0.0)
        change = money(after - before)
        found.append(_row(kpi, dimension, group, before, after, change, None, None, change, total))
    return _ordered(found)


def _rate_rows(
    kpi: str,
    dimension: str,
    counts: Counts,
    top: str,
    bottom: str,
    kpis: Mapping[str, Any],
    previous: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Split a rate KPI's change by group; none when either period has no denominator."""
    total = _change(kpis.get(kpi), previous.get(kpi))
    sizes = {which: sum(g[bottom] for g in counts[which].values()) for which in counts}
    if total is None or not sizes["cur"] or not sizes["prev"]:
        return []
    found = []
    for group in _groups(counts):
        was, now = counts["prev"].get(group), counts["cur"].get(group)
        w0 = was[bottom] / sizes["prev"] if was else 0.0
        w1 = now[bottom] / sizes["cur"] if now else 0.0
        r0 = was[top] / was[bottom] if was else None
        r1 = now[top] / now[bottom] if now else None
        # A group of one period only keeps its one rate: all of its term is size.
        a, b = (r1, r1) if r0 is None else (r0, r0 if r1 is None else r1)
        rate_effect = (w0 + w1) / 2 * (b - a)
        size_effect = (a + b) / 2 * (w1 - w0)
        change = None if r0 is None or r1 is None else r1 - r0
        contribution = w1 * b - w0 * a
        found.append(
            _row(
                kpi, dimension, group, r0, r1, change, size_effect, rate_effect, contribution, total
            )
        )
    return _ordered(found)


def _row(
    kpi: str,
    dimension: str,
    group: str,
    previous: float | None,
    current: float | None,
    change: float | None,
    size_effect: float | None,
    rate_effect: float | None,
    contribution: float,
    total: float | None,
) -> dict[str, Any]:
    return {
        "kpi": kpi,
        "dimension": dimension,
        "group": group,
        "previous": previous,
        "current": current,
        "change": change,
        "size_effect": size_effect,
        "rate_effect": rate_effect,
        "contribution": contribution,
        "share_of_change": contribution / total if total else None,
    }


def _change(now: Any, then: Any) -> float | None:
    if not isinstance(now, int | float) or not isinstance(then, int | float):
        return None
    return now - then


def _groups(counts: Counts) -> list[str]:
    return sorted(set(counts["prev"]) | set(counts["cur"]))


def _ordered(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Largest contribution (either way) first, then the group's name."""
    return sorted(found, key=lambda row: (-abs(row["contribution"]), row["group"]))
