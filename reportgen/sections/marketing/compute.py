"""Marketing KPIs and tables from the prepared scratch tables (METRICS.md §6 and §8).

A handful of grouped queries, each returning a small result: order counts per window
(this period, the one before, the one before that), customers per window and how many of
them ordered in the window before, customers per local month (cohorts and the monthly
history), and campaign activity and orders per campaign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.plugin import SectionResult
from reportgen.sections.marketing.declaration import TABLE_COLUMNS
from reportgen.sections.marketing.kpis import KPI_KEYS
from reportgen.sections.marketing.prepare import Prepared, prepare
from reportgen.source.connection import Source
from reportgen.source.query import rows, scalar
from reportgen.source.scratch import create_scratch, index_scratch
from reportgen.source.sqlexpr import Expr
from reportgen.source.values import id_sort_key, ids_are_integers, money, ratio, whole

COHORT_MONTHS = 6
"""Cohort cells run from months_since 0 to this (METRICS.md §8)."""
HISTORY_MONTHS = 12
"""Months in ``marketing.by_month`` when the period spans fewer."""


def compute(source: Source, config: Config, period: Period) -> SectionResult:
    """Compute every marketing KPI, table and data-quality count for ``period``."""
    expr = Expr(source.dialect, config.report.timezone)
    prepared = prepare(source, expr)
    conn = source.connection
    previous = period.previous()
    windows = (period, previous, previous.previous())
    orders = _window_orders(conn, windows, config.rules.abandoned_statuses)
    customers = _window_customers(conn, windows)
    kpis = _kpis(orders, customers, 0, prepared)
    previous_kpis = _kpis(orders, customers, 1, prepared)

    tables: dict[str, list[dict[str, Any]]] = {}
    if prepared.has_campaign_tables:
        tables["marketing.campaigns"] = _campaigns(conn, period, prepared)
    _customer_months(conn, period)
    tables["marketing.cohorts"] = _cohorts(conn, period)
    tables["marketing.by_month"] = _by_month(conn, period, prepared)
    quality = _quality(conn, period, prepared, orders.get(0, {}))
    return SectionResult(kpis, previous_kpis, tables, quality, _skipped(prepared))


def _between(prefix: str, windows: Sequence[Period]) -> tuple[str, dict[str, str]]:
    """Return a CASE giving each row's window index (NULL outside) and its bind values."""
    branches, params = [], {}
    for index, window in enumerate(windows):
        branches.append(
            f"when local >= :{prefix}s{index} and local < :{prefix}e{index} then {index}"
        )
        params[f"{prefix}s{index}"] = window.start_text
        params[f"{prefix}e{index}"] = window.end_text
    return f"case {' '.join(branches)} end", params


def _window_orders(
    conn, windows: Sequence[Period], abandoned: list[str]
) -> dict[int, dict[str, Any]]:
    """Return order counts and revenue per window index."""
    which, params = _between("w", windows)
    found = rows(
        conn,
        f"""
        select w, count(*) as orders,
               sum(case when customer_id is null then 1 else 0 end) as null_customer,
               sum(case when status_norm in :abandoned then 1 else 0 end) as abandoned,
               count(status_norm) as with_status,
               sum(coalesce(total, 0)) as revenue,
               sum(case when discounted = 1 then coalesce(total, 0) else 0 end)
                   as discount_revenue
        from (select {which} as w, customer_id, status_norm, total, discounted
              from mk_orders) windowed
        where w is not null
        group by w
    """,
        abandoned=abandoned or ["\x00"],
        **params,
    )
    return {row["w"]: row for row in found}


def _window_customers(conn, windows: Sequence[Period]) -> dict[int, dict[str, int]]:
    """Return per window: ordering customers, those with two or more orders, and those who
    also ordered in the window before it (``retained``)."""
    which, params = _between("w", windows)
    create_scratch(
        conn,
        "mk_wc",
        f"""
        select w, customer_id, count(*) as n
        from (select {which} as w, customer_id from mk_orders
              where customer_id is not null) windowed
        where w is not null
        group by w, customer_id
    """,
        **params,
    )
    index_scratch(conn, "mk_wc_customer", "mk_wc", "customer_id, w")
    found: dict[int, dict[str, int]] = {
        row["w"]: {"customers": row["customers"], "repeaters": row["repeaters"] or 0}
        for row in rows(
            conn,
            """
            select w, count(*) as customers, sum(case when n >= 2 then 1 else 0 end) as repeaters
            from mk_wc group by w
        """,
        )
    }
    for row in rows(
        conn,
        """
        select a.w as w, count(*) as retained
        from mk_wc a join mk_wc b on b.customer_id = a.customer_id and b.w = a.w + 1
        group by a.w
    """,
    ):
        found.setdefault(row["w"], {"customers": 0, "repeaters": 0})["retained"] = row["retained"]
    return found


def _kpis(
    orders: Mapping[int, Mapping[str, Any]],
    customers: Mapping[int, Mapping[str, int]],
    index: int,
    prepared: Prepared,
) -> dict[str, Any]:
    """Return the §6 KPIs of one window (0 = the period, 1 = the one before)."""
    counts = orders.get(index, {})
    people = customers.get(index, {})
    total_orders = counts.get("orders", 0)
    ordering = people.get("customers", 0)
    before = customers.get(index + 1, {}).get("customers", 0)
    columns = prepared.order_columns
    revenue = money(counts.get("revenue"))
    discounted = money(counts.get("discount_revenue"))
    has_share = {"order_total", "discount_code"} <= columns
    found = {
        "marketing.orders": total_orders,
        "marketing.customers": ordering,
        "marketing.orders_per_customer": ratio(total_orders, ordering),
        "marketing.repeat_purchase_rate": ratio(people.get("repeaters", 0), ordering),
        "marketing.retention_rate": ratio(people.get("retained", 0), before),
        "marketing.order_abandonment_rate": ratio(
            counts.get("abandoned", 0), counts.get("with_status", 0)
        )
        if "status" in columns
        else None,
        "marketing.discount_revenue_share": ratio(discounted, revenue) if has_share else None,
    }
    return {key: found[key] for key in KPI_KEYS}


def _campaigns(conn, period: Period, prepared: Prepared) -> list[dict[str, Any]]:
    """Return every campaign with activity or orders in the period, by campaign_id."""
    window = {"s": period.start_text, "e": period.end_text}
    activity: dict[str, dict[str, Any]] = {}
    if prepared.has_activity:
        activity = {
            row["campaign_id"]: row
            for row in rows(
                conn,
                """
                select campaign_id, sum(clicks) as clicks, sum(cost) as cost,
                       sum(impressions) as impressions
                from mk_activity
                where local >= :s and local < :e and campaign_id is not null
                group by campaign_id
            """,
                **window,
            )
        }
    attributed: dict[str, dict[str, Any]] = {}
    if "campaign_id" in prepared.order_columns:
        attributed = {
            row["campaign_id"]: row
            for row in rows(
                conn,
                """
                select campaign_id, count(*) as orders, sum(coalesce(total, 0)) as revenue
                from mk_orders
                where local >= :s and local < :e and campaign_id is not null
                group by campaign_id
            """,
                **window,
            )
        }
    ids = sorted(set(activity) | set(attributed))
    names: dict[str, dict[str, Any]] = {}
    if prepared.has_campaigns and ids:
        names = {
            row["campaign_id"]: row
            for row in rows(
                conn,
                "select campaign_id, name, channel from mk_campaigns where campaign_id in :ids",
                ids=ids,
            )
        }
    numeric = ids_are_integers(ids)
    table = []
    for campaign_id in sorted(ids, key=id_sort_key(numeric)):
        table.append(
            _campaign_row(
                campaign_id,
                numeric,
                names.get(campaign_id, {}),
                activity.get(campaign_id),
                attributed.get(campaign_id),
                prepared,
            )
        )
    return table


def _count(value: float | None) -> int | float:
    """Return a summed count (clicks, impressions) free of engine float noise; 0 for none."""
    return whole(round(float(value or 0), 6)) or 0


def _campaign_row(
    campaign_id: str,
    numeric: bool,
    names: Mapping[str, Any],
    activity: Mapping[str, Any] | None,
    attributed: Mapping[str, Any] | None,
    prepared: Prepared,
) -> dict[str, Any]:
    clicks = cost = impressions = None
    if prepared.has_activity:
        # A campaign with orders but no activity row in the period: sums over no rows are 0.
        found = activity or {}
        clicks, cost = _count(found.get("clicks")), money(found.get("cost"))
        if prepared.has_impressions:
            impressions = _count(found.get("impressions"))
    orders = revenue = None
    if "campaign_id" in prepared.order_columns:
        orders = (attributed or {}).get("orders", 0)
        if "order_total" in prepared.order_columns:
            revenue = money((attributed or {}).get("revenue"))
    roi = None
    if revenue is not None and cost:
        roi = (revenue - cost) / cost
    return {
        "campaign_id": int(campaign_id) if numeric else campaign_id,
        "name": names.get("name"),
        "channel": names.get("channel"),
        "clicks": clicks,
        "cost": cost,
        "impressions": impressions,
        "ctr": ratio(clicks, impressions),
        "cpc": ratio(cost, clicks),
        "orders": orders,
        "revenue": revenue,
        "roi": roi,
    }


def _customer_months(conn, period: Period) -> None:
    """Build ``mk_cm`` (orders per customer and local month, before the period end) and
    ``mk_first`` (each customer's first month): the cohorts' and the history's base."""
    create_scratch(
        conn,
        "mk_cm",
        """
        select customer_id, mi, count(*) as n from mk_orders
        where customer_id is not null and local < :end
        group by customer_id, mi
    """,
        end=period.end_text,
    )
    index_scratch(conn, "mk_cm_customer", "mk_cm", "customer_id, mi")
    create_scratch(
        conn,
        "mk_first",
        """
        select customer_id, min(mi) as first_mi from mk_cm group by customer_id
    """,
    )


def month_start(index: int) -> date:
    """Return the first day of the month with index year * 12 + month - 1."""
    return date(index // 12, index % 12 + 1, 1)


def month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _index_of(day: date) -> int:
    return day.year * 12 + day.month - 1


def _cohorts(conn, period: Period) -> list[dict[str, Any]]:
    """Return the cohort cells: first-order month x months since, while the cell's month
    starts before the period end (METRICS.md §8)."""
    sizes = {
        row["first_mi"]: row["customers"]
        for row in rows(
            conn, "select first_mi, count(*) as customers from mk_first group by first_mi"
        )
    }
    active = {
        (row["first_mi"], row["k"]): row["active"]
        for row in rows(
            conn,
            """
            select f.first_mi as first_mi, c.mi - f.first_mi as k, count(*) as active
            from mk_first f join mk_cm c on c.customer_id = f.customer_id
            where c.mi - f.first_mi <= :months
            group by f.first_mi, c.mi - f.first_mi
        """,
            months=COHORT_MONTHS,
        )
    }
    table = []
    for cohort in sorted(sizes):
        for k in range(COHORT_MONTHS + 1):
            if month_start(cohort + k) >= period.end:
                break
            count = active.get((cohort, k), 0)
            table.append(
                {
                    "cohort": month_label(cohort),
                    "months_since": k,
                    "customers": sizes[cohort],
                    "active": count,
                    "share": ratio(count, sizes[cohort]),
                }
            )
    return table


def history_months(period: Period) -> list[int]:
    """Return the month indexes of ``marketing.by_month``: the 12 months up to the one
    holding the period's last day, or every month of the period when it spans more."""
    last = _index_of(period.end - timedelta(days=1))
    first = min(_index_of(period.start), last - HISTORY_MONTHS + 1)
    return list(range(first, last + 1))


def _by_month(conn, period: Period, prepared: Prepared) -> list[dict[str, Any]]:
    """Return orders, customers, repeat and retention rates and the discount split per
    local month (named rule ``by-month-window``)."""
    months = history_months(period)
    first, last = months[0], months[-1]
    bounds = {"lo": first - 1, "hi": last}
    people = {
        row["mi"]: row
        for row in rows(
            conn,
            """
            select mi, count(*) as customers, sum(case when n >= 2 then 1 else 0 end) as repeaters
            from mk_cm where mi >= :lo and mi <= :hi group by mi
        """,
            **bounds,
        )
    }
    retained = {
        row["mi"]: row["retained"]
        for row in rows(
            conn,
            """
            select b.mi as mi, count(*) as retained
            from mk_cm b join mk_cm a on a.customer_id = b.customer_id and a.mi = b.mi - 1
            where b.mi >= :lo and b.mi <= :hi
            group by b.mi
        """,
            **bounds,
        )
    }
    money_rows = {
        row["mi"]: row
        for row in rows(
            conn,
            """
            select mi, count(*) as orders, sum(coalesce(total, 0)) as revenue,
                   sum(case when discounted = 1 then coalesce(total, 0) else 0 end)
                       as discount_revenue
            from mk_orders where local >= :start and local < :end group by mi
        """,
            start=f"{month_start(first).isoformat()} 00:00:00.000000",
            end=period.end_text,
        )
    }
    has_revenue = "order_total" in prepared.order_columns
    has_discount = has_revenue and "discount_code" in prepared.order_columns
    table = []
    for index in months:
        month = people.get(index, {})
        before = people.get(index - 1, {}).get("customers", 0)
        sums = money_rows.get(index, {})
        revenue = money(sums.get("revenue")) if has_revenue else None
        discount = money(sums.get("discount_revenue")) if has_discount else None
        customers = month.get("customers", 0)
        table.append(
            {
                "month": month_label(index),
                "orders": sums.get("orders", 0),
                "customers": customers,
                "repeat_purchase_rate": ratio(month.get("repeaters", 0), customers),
                "retention_rate": ratio(retained.get(index, 0), before),
                "revenue": revenue,
                "discount_revenue": discount,
                "other_revenue": money(revenue - discount)
                if revenue is not None and discount is not None
                else None,
                "discount_revenue_share": ratio(discount, revenue) if has_discount else None,
            }
        )
    return table


def _quality(
    conn, period: Period, prepared: Prepared, current: Mapping[str, Any]
) -> dict[str, Any]:
    newest = scalar(conn, "select max(local) from mk_orders")
    # A date-only order_date column (every value a bare date, §8) gives its newest date.
    date_only = scalar(conn, "select max(timed) from mk_orders") == 0
    quality: dict[str, Any] = {
        "marketing.unparsed_order_date": scalar(
            conn, "select count(*) from mk_orders where local is null"
        )
        or 0,
        "marketing.null_customer_orders": current.get("null_customer", 0) or 0,
        "marketing.newest_order": _moment_text(newest, date_only),
    }
    if prepared.has_activity:
        quality["marketing.unparsed_activity_date"] = (
            scalar(conn, "select count(*) from mk_activity where local is null") or 0
        )
    if prepared.has_campaign_tables and "campaign_id" in prepared.order_columns:
        known = []
        if prepared.has_campaigns:
            known.append("o.campaign_id in (select campaign_id from mk_campaigns)")
        if prepared.has_activity:
            known.append(
                "o.campaign_id in (select campaign_id from mk_activity "
                "where campaign_id is not null)"
            )
        quality["marketing.unknown_campaign_orders"] = (
            scalar(
                conn,
                f"""
                select count(*) from mk_orders o
                where o.local >= :s and o.local < :e and o.campaign_id is not null
                  and not ({" or ".join(known)})
            """,
                s=period.start_text,
                e=period.end_text,
            )
            or 0
        )
    return quality


def _moment_text(local: str | None, date_only: bool) -> str | None:
    """Return canonical local text as ``YYYY-MM-DD HH:MM:SS`` (fractions only when set), or
    ``YYYY-MM-DD`` from a date-only column."""
    if local is None:
        return None
    text = str(local)
    if date_only:
        return text[:10]
    return text[:19] if text.endswith(".000000") else text


def _skipped(prepared: Prepared) -> list[dict[str, str]]:
    """Name what could not be computed, and why (its place in the tables is kept as null)."""
    columns = prepared.order_columns
    skipped = []
    if not prepared.has_campaign_tables:
        reasons = [p for p in (prepared.activity_problem, prepared.campaigns_problem) if p]
        skipped.append(
            {
                "section": "marketing.campaigns",
                "reason": "; ".join(reasons) or "no table campaigns or campaign_activity",
            }
        )
    else:
        if not prepared.has_activity:
            why = prepared.activity_problem or "no table campaign_activity"
            skipped.append(
                {
                    "section": "marketing.campaign_activity",
                    "reason": f"{why}: clicks, cost, impressions, ctr, cpc and roi are null",
                }
            )
        elif not prepared.has_impressions:
            skipped.append(
                {
                    "section": "marketing.campaigns.impressions",
                    "reason": "no column impressions in campaign_activity: impressions and "
                    "ctr are null",
                }
            )
        if not prepared.has_campaigns:
            why = prepared.campaigns_problem or "no table campaigns"
            skipped.append(
                {
                    "section": "marketing.campaign_names",
                    "reason": f"{why}: campaign names and channels are null",
                }
            )
        else:
            skipped.extend(
                {
                    "section": f"marketing.campaigns.{column}",
                    "reason": f"no column {column} in campaigns: it is null in the table",
                }
                for column in ("name", "channel")
                if column not in prepared.campaign_columns
            )
        if "campaign_id" not in columns:
            skipped.append(
                {
                    "section": "marketing.campaign_orders",
                    "reason": "no column campaign_id in orders: campaign orders, revenue and "
                    "roi are null",
                }
            )
    if "order_total" not in columns:
        skipped.append(
            {
                "section": "marketing.revenue",
                "reason": "no column order_total in orders: revenue, roi and the discount "
                "revenue share are null",
            }
        )
    if "status" not in columns:
        skipped.append(
            {
                "section": "marketing.order_abandonment_rate",
                "reason": "no column status in orders: the order abandonment rate is null",
            }
        )
    if "discount_code" not in columns:
        skipped.append(
            {
                "section": "marketing.discount_revenue_share",
                "reason": "no column discount_code in orders: the discount revenue share "
                "and the monthly discount split are null",
            }
        )
    return skipped


__all__ = ["TABLE_COLUMNS", "compute"]
