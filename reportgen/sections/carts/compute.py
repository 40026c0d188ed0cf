"""Cart KPIs and tables from the prepared scratch tables (METRICS.md §3)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.plugin import SectionResult
from reportgen.sections.carts.contributions import contributions
from reportgen.sections.carts.counts import (
    NO_ABANDONERS,
    NO_CARTS,
    abandoner_counts,
    cart_counts,
)
from reportgen.sections.carts.prepare import DAY_US, Prepared, prepare, report_window
from reportgen.sections.carts.time_to_order import time_to_order
from reportgen.sections.carts.whole_table import (
    WholeTable,
    checks_on_own_connection,
    date_only,
    whole_table_checks,
)
from reportgen.source.beside import OwnProcess, beside
from reportgen.source.connection import Source
from reportgen.source.query import one, rows, scalar
from reportgen.source.sqlexpr import Expr
from reportgen.source.values import id_sort_key, ids_are_integers, money, ratio, whole

CHECKS_OWN_PROCESS_MIN_CARTS = 200_000
"""From this many carts a large SQLite file's whole-table checks get a process of their
own (they take about 0.6 s per 200k carts; a worker starts in about a second)."""


def compute(source: Source, config: Config, period: Period) -> SectionResult:
    """Compute every cart KPI, table and data-quality count for ``period``."""
    expr = Expr(source.dialect, config.report.timezone)
    # The whole-table checks share no scratch table with the rest: on a second connection
    # they run beside it (the database releases the GIL), hiding seconds on large tables;
    # a large SQLite file's in a process of their own (reportgen.source.beside).
    with beside(source, "carts", CHECKS_OWN_PROCESS_MIN_CARTS) as pool:
        if isinstance(pool, OwnProcess):  # its arguments must pickle: no Source
            future = pool.submit(checks_on_own_connection, source.config, source.now)
        else:
            future = pool.submit(whole_table_checks, source)
        # The date-only verdict, needed midway, is asked on its own (its scans stop at the
        # first example) rather than waited for: the checks finish beside all the rest.
        verdict = lambda: date_only(source, expr)  # noqa: E731
        prepared = prepare(source, expr, config, report_window(period), verdict)
        checks = future.result()
    conn = source.connection
    delays = time_to_order(conn, config, prepared)
    carts, abandoners = cart_counts(conn), abandoner_counts(conn)
    kpis = _kpis(conn, config, prepared, "cur", delays["cur"], carts, abandoners)
    previous = _kpis(conn, config, prepared, "prev", delays["prev"], carts, abandoners)
    links = delays["cur"]
    top_n = config.rules.top_n
    tables: dict[str, list[dict[str, Any]]] = {
        "carts.funnel_trend": _funnel_trend(conn, period),
        "carts.top_abandoned_skus": _top_skus(conn, kpis["carts.abandoned_cart_value"], top_n),
        "carts.top_abandoned_categories": _top_categories(
            conn, kpis["carts.abandoned_cart_value"], top_n
        ),
    }
    # A segment whose column is missing is dropped (and named in skipped); its column in
    # the savable customers keeps its place as null (METRICS.md §8, Output).
    for name in prepared.segments:
        if name in prepared.missing_segments:
            continue
        tables[f"carts.segment.{name}"] = _segment_table(conn, name)
    tables["carts.savable_customers"] = _savable(conn, prepared.segments)
    tables["carts.time_to_order_hist"] = links["hist"]
    present = [name for name in prepared.segments if name not in prepared.missing_segments]
    tables["carts.contributions"] = contributions(conn, present, kpis, previous)
    quality = _quality(conn, prepared, checks, links)
    skipped = [
        {"section": f"carts.segment.{name}", "reason": _missing_reason(prepared, name)}
        for name in prepared.missing_segments
    ]
    if not prepared.has_products:
        skipped.append(
            {
                "section": "carts.products",
                "reason": "no table products: SKU names are null, categories Unknown",
            }
        )
    return SectionResult(kpis, previous, tables, quality, skipped)


def _missing_reason(prepared: Prepared, name: str) -> str:
    if not prepared.has_customers:
        return "no table customers: no segment table; savable customers show it as null"
    column = "age" if name == "age_band" else name
    return (
        f"column {column} missing from customers: no segment table; "
        "savable customers show it as null"
    )


def _kpis(
    conn,
    config: Config,
    prepared: Prepared,
    which: str,
    links: dict[str, Any],
    carts: dict[str, dict[str, Any]],
    abandoners: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    counts = carts.get(which, NO_CARTS)
    total = counts["total"] or 0
    converted, abandoned = counts["converted"] or 0, counts["abandoned"] or 0
    abandoned_value = money(counts["abandoned_value"])
    reengagement = abandoners.get(which, NO_ABANDONERS)
    recovered = _recovered(conn, config, prepared, which)
    return {
        "carts.carts_total": total,
        "carts.carts_converted": converted,
        "carts.carts_abandoned": abandoned,
        "carts.carts_open": counts["open"] or 0,
        "carts.carts_other": counts["other"] or 0,
        "carts.cart_conversion_rate": ratio(converted, total),
        "carts.abandonment_rate": ratio(abandoned, total),
        "carts.abandoned_cart_value": abandoned_value,
        "carts.avg_abandoned_cart_value": ratio(abandoned_value, abandoned),
        "carts.converted_cart_value": money(counts["converted_value"]),
        "carts.abandoners": reengagement["abandoners"],
        "carts.reengaged": reengagement["reengaged"],
        "carts.reengagement_rate": ratio(reengagement["reengaged"], reengagement["abandoners"]),
        "carts.reengagement_immature_carts": _immature(conn, config, prepared, which),
        "carts.recovered_orders": recovered["orders"],
        "carts.recovered_revenue": (
            money(recovered["revenue"]) if prepared.has_order_total else None
        ),
        "carts.median_time_to_order_days": links["median"],
        "carts.p90_time_to_order_days": links["p90"],
        "carts.mean_time_to_order_days": links["mean"],
        "carts.converted_unlinked": links["unlinked"],
    }


def _recovered(conn, config: Config, prepared: Prepared, which: str) -> dict[str, Any]:
    """Count and value the orders that re-engage the period's abandoners (rule
    ``recovered-revenue``): each order once, however many abandoned carts it follows."""
    days = config.rules.reengagement_days
    window = (
        "o.day >= p.day and o.day <= p.day + :n"
        if prepared.date_only
        else "o.epoch_us > p.epoch_us and o.epoch_us <= p.epoch_us + :n_us"
    )
    return one(
        conn,
        f"""
        select count(*) as orders, sum(order_total) as revenue
        from (
            select o.order_id, max(o.order_total) as order_total
            from rg_pc p
            join rg_orders o on o.customer_id = p.customer_id and {window}
            where p.which = :which and p.status_rank = 2 and p.customer_id is not null
            group by o.order_id
        ) recovered
    """,
        which=which,
        n=days,
        n_us=days * DAY_US,
    )


def _immature(conn, config: Config, prepared: Prepared, which: str) -> int:
    """Count abandoned carts whose re-engagement window ends after the newest order."""
    days = config.rules.reengagement_days
    if prepared.date_only:
        condition = "day + :n > (select day from rg_newest_order)"
    else:
        condition = "epoch_us + :n_us > (select epoch_us from rg_newest_order)"
    return (
        scalar(
            conn,
            f"""
        select count(*) from rg_pc
        where which = :which and status_rank = 2 and {condition}
    """,
            which=which,
            n=days,
            n_us=days * DAY_US,
        )
        or 0
    )


def _funnel_trend(conn, period: Period) -> list[dict[str, Any]]:
    """Return the trend table: SQL counts per local day, bucketed here."""
    per_day = rows(
        conn,
        """
        select substr(local, 1, 10) as day, count(*) as total,
               sum(case when status_rank = 1 then 1 else 0 end) as converted,
               sum(case when status_rank = 2 then 1 else 0 end) as abandoned,
               sum(case when status_rank = 3 then 1 else 0 end) as open,
               sum(case when status_rank = 4 then 1 else 0 end) as other
        from rg_pc where which = 'cur' group by substr(local, 1, 10)
    """,
    )
    starts = period.buckets()
    table = {
        start: {
            "bucket_start": start.isoformat(),
            "carts_total": 0,
            "converted": 0,
            "abandoned": 0,
            "open": 0,
            "other": 0,
        }
        for start in starts
    }
    for row in per_day:
        start = _bucket_of(date.fromisoformat(row["day"]), period)
        bucket = table[start]
        bucket["carts_total"] += row["total"]
        for name in ("converted", "abandoned", "open", "other"):
            bucket[name] += row[name] or 0
    for bucket in table.values():
        bucket["conversion_rate"] = ratio(bucket["converted"], bucket["carts_total"])
    return [table[start] for start in starts]


def _bucket_of(day: date, period: Period) -> date:
    unit = period.bucket_unit
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _abandoned_by(conn, keys: str, group_by: str, where: str = "") -> list[dict[str, Any]]:
    """Return carts, units and value of the current period's abandoned carts per key."""
    found = rows(
        conn,
        f"""
        select {keys}, count(distinct l.cart_id) as carts, sum(l.qty) as units,
               sum(l.value) as abandoned_value
        from rg_lines l
        join rg_pc p on p.cart_id = l.cart_id
        left join rg_products pr on pr.product_id = l.product_id
        where p.which = 'cur' and p.status_rank = 2 and l.valid = 1 {where}
        group by {group_by}
    """,
    )
    for row in found:
        row["abandoned_value"] = money(row["abandoned_value"])
        row["units"] = whole(row["units"])
    return found


def _top_skus(conn, abandoned_value: float, top_n: int) -> list[dict[str, Any]]:
    found = _abandoned_by(
        conn,
        "l.product_id, pr.name, coalesce(pr.category, 'Unknown') as category",
        "l.product_id, pr.name, pr.category",
        "and l.product_id is not null",
    )
    numeric = ids_are_integers([r["product_id"] for r in found])
    key = id_sort_key(numeric)
    found.sort(key=lambda r: (-r["abandoned_value"], key(r["product_id"])))
    columns = ("product_id", "name", "category", "carts", "units", "abandoned_value", "share")
    out = []
    for row in found[:top_n]:
        row["product_id"] = int(row["product_id"]) if numeric else row["product_id"]
        row["share"] = ratio(row["abandoned_value"], abandoned_value)
        out.append({k: row[k] for k in columns})
    return out


def _top_categories(conn, abandoned_value: float, top_n: int) -> list[dict[str, Any]]:
    found = _abandoned_by(
        conn, "coalesce(pr.category, 'Unknown') as category", "coalesce(pr.category, 'Unknown')"
    )
    found.sort(key=lambda r: (-r["abandoned_value"], r["category"]))
    for row in found:
        row["share"] = ratio(row["abandoned_value"], abandoned_value)
    return found[:top_n]


def _segment_table(conn, name: str) -> list[dict[str, Any]]:
    column = f"seg_{name}"
    carts = rows(
        conn,
        f"""
        select {column} as segment, count(*) as carts_total,
               sum(case when status_rank = 1 then 1 else 0 end) as converted,
               sum(case when status_rank = 2 then 1 else 0 end) as abandoned,
               sum(case when status_rank = 2 then value else 0 end) as abandoned_value
        from rg_pc where which = 'cur' group by {column}
    """,
    )
    people = {
        r["segment"]: r
        for r in rows(
            conn,
            f"""
            select {column} as segment, count(*) as abandoners, sum(reengaged) as reengaged
            from rg_abandoners where which = 'cur' group by {column}
        """,
        )
    }
    table = []
    for row in carts:
        seen = people.get(row["segment"], {})
        abandoners, reengaged = seen.get("abandoners", 0), seen.get("reengaged", 0) or 0
        table.append(
            {
                "segment": str(row["segment"]),
                "carts_total": row["carts_total"],
                "cart_conversion_rate": ratio(row["converted"], row["carts_total"]),
                "abandonment_rate": ratio(row["abandoned"], row["carts_total"]),
                "abandoned_value": money(row["abandoned_value"]),
                "abandoners": abandoners,
                "reengaged": reengaged,
                "reengagement_rate": ratio(reengaged, abandoners),
            }
        )
    table.sort(key=lambda r: (-r["carts_total"], r["segment"]))
    return table


def _savable(conn, segments: tuple[str, ...]) -> list[dict[str, Any]]:
    columns = "".join(f", seg_{name} as {name}" for name in segments)
    found = rows(
        conn,
        f"""
        select customer_id{columns}, abandoned_carts, abandoned_value
        from rg_abandoners where which = 'cur' and reengaged = 0
    """,
    )
    numeric = ids_are_integers([r["customer_id"] for r in found])
    key = id_sort_key(numeric)
    found.sort(key=lambda r: (-money(r["abandoned_value"]), key(r["customer_id"])))
    for row in found:
        row["abandoned_value"] = money(row["abandoned_value"])
        if numeric:
            row["customer_id"] = int(row["customer_id"])
    return found


def _quality(conn, prepared: Prepared, checks: WholeTable, links: dict[str, Any]) -> dict[str, Any]:
    period_carts = one(
        conn,
        """
        select sum(case when n_rows > 1 then 1 else 0 end) as duplicate_ids,
               sum(n_rows - 1) as duplicate_rows,
               sum(case when valid_lines = 0 then 1 else 0 end) as without_lines,
               sum(case when customer_id is null then 1 else 0 end) as null_customer,
               sum(case when customer_id is not null and known_customer = 0 then 1 else 0 end)
                   as unknown_customer
        from rg_pc where which = 'cur'
    """,
    )
    lines = one(
        conn,
        """
        select sum(case when l.n_rows > 1 then 1 else 0 end) as duplicate_lines,
               sum(case when l.valid = 0 then 1 else 0 end) as invalid_lines,
               count(*) as lines
        from rg_lines l join rg_pc p on p.cart_id = l.cart_id where p.which = 'cur'
    """,
    )
    other = rows(
        conn,
        """
        select coalesce(status_norm, 'NULL') as status, count(*) as carts
        from rg_pc where which = 'cur' and status_rank = 4
        group by coalesce(status_norm, 'NULL') order by 2 desc, 1
    """,
    )
    return {
        "carts.null_cart_ids": checks.null_cart_ids,
        "carts.duplicate_cart_ids": period_carts["duplicate_ids"] or 0,
        "carts.duplicate_cart_rows": period_carts["duplicate_rows"] or 0,
        "carts.other_statuses": {r["status"]: r["carts"] for r in other},
        "carts.duplicate_lines": lines["duplicate_lines"] or 0,
        "carts.invalid_lines": lines["invalid_lines"] or 0,
        "carts.orphan_lines": checks.orphan_lines,
        "carts.carts_without_lines": period_carts["without_lines"] or 0,
        "carts.null_customer_carts": period_carts["null_customer"] or 0,
        "carts.unknown_customer_carts": period_carts["unknown_customer"] or 0,
        "carts.order_before_cart": links["before"],
        "carts.linked_by_cart_id": links["by_cart"],
        "carts.linked_by_next_order": links["by_next"],
        "carts.duplicate_customer_ids": checks.duplicate_customer_ids,
        "carts.duplicate_product_ids": checks.duplicate_product_ids,
        "carts.unparsed_created_at": checks.unparsed_created_at,
        # Beyond METRICS.md §8 (docs/metrics-carts.md): denominators of the counts above
        # and what the build's clock says, for the data alerts (rule bad-row-share).
        "carts.table_rows": checks.cart_rows,
        "carts.period_lines": lines["lines"] or 0,
        "carts.future_created_at": checks.future_created_at,
        "cart_items.table_rows": checks.line_rows,
        "orders.table_rows": checks.order_rows,
        "orders.unparsed_order_date": checks.unparsed_order_date,
        "orders.future_order_date": checks.future_order_date,
        "carts.first_created_at": checks.first_created_at,
        "carts.last_created_at": checks.last_created_at,
        "orders.last_order_date": checks.last_order_date,
    }
