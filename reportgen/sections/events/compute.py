"""Event KPIs and tables from ``rg_ev`` (METRICS.md §4 and §8 "Events").

A handful of grouped queries, each returning a small result: a grid of counts by period,
stage, type, hour, weekday, month and missing attributes (KPIs, pipeline, time tables,
catalog gaps); a per-user table (user counts, funnel, segments); per-product and
per-brand aggregates of the current period.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.plugin import SectionResult
from reportgen.sections.events.kpis import EVENT_KPIS
from reportgen.sections.events.prepare import (
    BAD_PRICE,
    CLEAN,
    CURRENT,
    KIND_CODES,
    PREVIOUS,
    UNMAPPED,
    PreparedEvents,
    prepare_events,
    prepare_window,
    user_flags,
)
from reportgen.sections.events.products import add_product_names
from reportgen.source.connection import Source
from reportgen.source.query import rows
from reportgen.source.scratch import create_scratch
from reportgen.source.sqlexpr import Expr
from reportgen.source.values import id_sort_key, ids_are_integers, money, ratio, sort_ids

VIEW, CART, REMOVE, PURCHASE = (KIND_CODES[k] for k in ("view", "cart", "remove", "purchase"))
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "events.pipeline": ("stage", "rows"),
    "events.funnel": ("stage", "users", "conversion_from_previous", "drop_off", "share_of_viewers"),
    "events.top_products": ("product_id", "name", "category", "purchases", "revenue"),
    "events.top_brands": ("brand", "purchases", "revenue"),
    "events.top_categories": ("category_code", "purchases", "revenue"),
    "events.by_hour": ("hour", "views", "carts", "purchases", "revenue"),
    "events.by_weekday": ("weekday", "weekday_name", "views", "carts", "purchases", "revenue"),
    "events.by_month": ("month", "views", "carts", "purchases", "revenue"),
    "events.user_segments": ("segment", "users", "share"),
    "events.abandoned_brands": ("brand", "users", "cart_events", "value"),
    "events.abandoned_products": ("product_id", "name", "category", "pairs", "value"),
    "events.zero_purchase_products": ("product_id", "name", "category", "views"),
    "events.catalog_gaps": (
        "attribute",
        "events_missing",
        "share_of_events",
        "revenue_missing",
        "share_of_revenue",
    ),
}
"""Every table the section writes and its columns (reportgen/sections/events/README.md)."""
SEGMENTS = ("view_only", "cart_abandoners", "single_purchase", "multi_purchase", "high_value")


def compute(source: Source, config: Config, period: Period) -> SectionResult:
    """Compute every event KPI, table and data-quality count for ``period``."""
    expr = Expr(source.dialect, config.report.timezone)
    prepared = prepare_events(source, expr, config, period)
    conn = source.connection
    grid = _grid(conn)
    users = _users(conn)
    sessions = _distinct(conn)
    kpis = _kpis(grid, users, sessions, CURRENT)
    previous = _kpis(grid, users, sessions, PREVIOUS)
    top_n = config.rules.top_n
    current = [r for r in grid if r["which"] == CURRENT]
    tables: dict[str, list[dict[str, Any]]] = {
        "events.pipeline": _pipeline(current),
        "events.funnel": _funnel(users.get(CURRENT, {})),
    }
    products = _products(conn, config.rules.zero_purchase_min_views)
    tables["events.top_products"] = _top(products, "product_id", top_n)
    if prepared.has_brand:
        tables["events.top_brands"] = _top(_purchases_by(conn, "brand"), "brand", top_n)
    if prepared.has_category:
        tables["events.top_categories"] = _top(
            _purchases_by(conn, "cat", "category_code"), "category_code", top_n
        )
    tables.update(_time_tables(current, period))
    tables["events.user_segments"] = _segments(users.get(CURRENT, {}), kpis["events.users"])
    if prepared.has_brand:
        tables["events.abandoned_brands"] = _abandoned_brands(conn)
    tables["events.abandoned_products"] = _abandoned_products(conn)
    tables["events.zero_purchase_products"] = _zero_purchase(products)
    tables["events.catalog_gaps"] = _catalog_gaps(current, prepared)
    add_product_names(source, expr, tables)
    quality = _quality(conn, tables["events.pipeline"], prepared)
    skipped = [
        {"section": f"events.{table}", "reason": f"no column {column} in events"}
        for present, column, tables_ in (
            (prepared.has_brand, "brand", ("top_brands", "abandoned_brands")),
            (prepared.has_category, "category_code", ("top_categories",)),
        )
        if not present
        for table in tables_
    ]
    return SectionResult(kpis, previous, tables, quality, skipped)


HEADLINE_KPIS = tuple(spec.key for spec in EVENT_KPIS if spec.headline)
DUPLICATE_BLIND = frozenset({"events.users", "events.overall_conversion_rate", "events.revenue"})
"""KPIs that copies of a non-purchase row cannot move: distinct users (by what they did)
and the sum of purchases. A history of only these collapses purchase copies alone."""


def history(source: Source, config: Config, periods: Sequence[Period]) -> dict[str, list[Any]]:
    """Return each headline KPI's value in each of ``periods`` (contiguous, oldest first).

    One read of the log for the whole window: ``rg_ev`` numbers a row by its period, and
    the grid and per-user queries that ``compute`` runs for two periods answer all of them
    at once, with the same code, so every value is the one ``compute`` gives. Headlines
    that copies of a view cannot move spare the log's grouping (``DUPLICATE_BLIND``).
    """
    if not periods:
        return {key: [] for key in HEADLINE_KPIS}
    expr = Expr(source.dialect, config.report.timezone)
    blind = set(HEADLINE_KPIS) <= DUPLICATE_BLIND
    prepare_window(source, expr, config, periods, whole_table=False, purchases_only=blind)
    conn = source.connection
    grid, users = _grid(conn, purchases=blind), _users(conn, built=blind)
    found = [_kpis(grid, users, {}, index) for index in range(len(periods))]
    return {key: [kpis[key] for kpis in found] for key in HEADLINE_KPIS}


def _grid(conn, purchases: bool = False) -> list[dict[str, Any]]:
    """Counts of rows (raw and deduplicated) and purchase value by every small dimension
    (of the purchase rows alone with ``purchases``)."""
    only = f"where kind = {PURCHASE}" if purchases else ""
    found = rows(
        conn,
        f"""
        select which, stage, kind, day, hour, brand_missing, cat_missing,
               sum(n) as raw_rows, count(*) as events,
               sum(case when kind = {PURCHASE} then amount else 0 end) as revenue
        from rg_ev {only}
        group by which, stage, kind, day, hour, brand_missing, cat_missing
    """,
    )
    for row in found:
        row["revenue"] = float(row["revenue"] or 0)
        row["dow"], row["month"] = _weekday_month(int(row["day"]))
    return found


@functools.lru_cache(maxsize=4096)
def _weekday_month(day_number: int) -> tuple[int, str]:
    """Return a day number's weekday and ``YYYY-MM`` (a few hundred days, 60k grid rows)."""
    day = date(1970, 1, 1) + timedelta(days=day_number)
    return day.weekday(), f"{day:%Y-%m}"


def _users(conn, built: bool = False) -> dict[int, dict[str, int]]:
    """Per period: user counts by what they did, and purchasers by transactions (from
    ``rg_ev_users``, built here from ``rg_ev`` unless ``built``)."""
    if not built:
        create_scratch(conn, "rg_ev_users", user_flags())
    found = rows(
        conn,
        """
        select which, count(*) as users, sum(viewed) as viewers, sum(carted) as carters,
               sum(purchased) as purchasers,
               sum(case when carted = 0 and purchased = 0 then 1 else 0 end) as view_only,
               sum(case when carted = 1 and purchased = 0 then 1 else 0 end) as cart_abandoners
        from rg_ev_users group by which
    """,
    )
    # A NULL session_id is one value among a user's transactions (select distinct keeps it).
    buyers = rows(
        conn,
        f"""
        select which, sum(case when transactions = 1 then 1 else 0 end) as single_purchase,
               sum(case when transactions >= 2 then 1 else 0 end) as multi_purchase
        from (
            select which, ukey, count(*) as transactions from (
                select distinct which, ukey, skey from rg_ev
                where stage = {CLEAN} and kind = {PURCHASE} and ukey is not null
            ) pairs group by which, ukey
        ) per_user group by which
    """,
    )
    out: dict[int, dict[str, int]] = {}
    for row in found + buyers:
        out.setdefault(row.pop("which"), {}).update({k: int(v or 0) for k, v in row.items()})
    return out


def _distinct(conn) -> dict[int, dict[str, int]]:
    """Per period: distinct sessions, and transactions (distinct (user, session) pairs with a
    purchase, a NULL in either being one value). One scan for both periods."""
    found = rows(
        conn,
        f"""
        select s.which, s.sessions, coalesce(t.transactions, 0) as transactions
        from (
            select which, count(distinct skey) as sessions from rg_ev
            where stage = {CLEAN} group by which
        ) s
        left join (
            select which, count(*) as transactions from (
                select distinct which, ukey, skey from rg_ev
                where stage = {CLEAN} and kind = {PURCHASE}
            ) pairs group by which
        ) t on t.which = s.which
    """,
    )
    return {
        int(r["which"]): {k: int(r[k] or 0) for k in ("sessions", "transactions")} for r in found
    }


def _kpis(
    grid: list[dict[str, Any]],
    users: dict[int, dict[str, int]],
    sessions: dict[int, dict[str, int]],
    which: int,
) -> dict[str, Any]:
    counts: dict[int, int] = defaultdict(int)
    revenue = 0.0
    for row in grid:
        if row["which"] == which and row["stage"] == CLEAN:
            counts[row["kind"]] += int(row["events"])
            revenue += row["revenue"]
    distinct = sessions.get(which, {})
    who = users.get(which, {})
    revenue = money(revenue)
    purchases, transactions = counts[PURCHASE], distinct.get("transactions", 0)
    viewers, carters, buyers = (who.get(k, 0) for k in ("viewers", "carters", "purchasers"))
    return {
        "events.users": who.get("users", 0),
        "events.sessions": distinct.get("sessions", 0),
        "events.views": counts[VIEW],
        "events.carts": counts[CART],
        "events.removes": counts[REMOVE],
        "events.purchases": purchases,
        "events.revenue": revenue,
        "events.aov": ratio(revenue, purchases),
        "events.transactions": transactions,
        "events.revenue_per_transaction": ratio(revenue, transactions),
        "events.user_conversion_rate": ratio(buyers, who.get("users", 0)),
        "events.view_to_cart_rate": ratio(carters, viewers),
        "events.cart_to_purchase_rate": ratio(buyers, carters),
        "events.overall_conversion_rate": ratio(buyers, viewers),
        "events.cart_to_purchase_event_rate": ratio(purchases, counts[CART]),
    }


def _pipeline(current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raw = sum(int(r["raw_rows"]) for r in current)
    deduplicated = sum(int(r["events"]) for r in current)
    bad = sum(int(r["events"]) for r in current if r["stage"] == BAD_PRICE)
    unmapped = sum(int(r["events"]) for r in current if r["stage"] == UNMAPPED)
    clean = deduplicated - bad - unmapped
    return [
        {"stage": "raw", "rows": raw},
        {"stage": "deduplicated", "rows": deduplicated},
        {"stage": "valid_price", "rows": deduplicated - bad},
        {"stage": "mapped_type", "rows": clean},
        {"stage": "clean", "rows": clean},
    ]


def _funnel(who: dict[str, int]) -> list[dict[str, Any]]:
    stages = (("view", "viewers"), ("cart", "carters"), ("purchase", "purchasers"))
    viewers = who.get("viewers", 0)
    out, before = [], None
    for stage, key in stages:
        users = who.get(key, 0)
        conversion = None if before is None else ratio(users, before)
        out.append(
            {
                "stage": stage,
                "users": users,
                "conversion_from_previous": conversion,
                "drop_off": None if conversion is None else 1 - conversion,
                "share_of_viewers": ratio(users, viewers),
            }
        )
        before = users
    return out


def _products(conn, min_views: int) -> list[dict[str, Any]]:
    """Current-period products with a purchase or enough views to be an alert."""
    found = rows(
        conn,
        f"""
        select * from (
            select pid as product_id,
                   sum(case when kind = {VIEW} then 1 else 0 end) as views,
                   sum(case when kind = {PURCHASE} then 1 else 0 end) as purchases,
                   sum(case when kind = {PURCHASE} then amount else 0 end) as revenue
            from rg_ev
            where which = {CURRENT} and stage = {CLEAN} and pid is not null
              and kind in ({VIEW}, {PURCHASE})
            group by pid
        ) products where purchases > 0 or views >= :min_views
    """,
        min_views=min_views,
    )
    for row in found:
        row["product_id"] = str(row["product_id"])
        row["revenue"] = money(row["revenue"])
        row["views"], row["purchases"] = int(row["views"]), int(row["purchases"])
    return found


def _purchases_by(conn, column: str, name: str | None = None) -> list[dict[str, Any]]:
    found = rows(
        conn,
        f"""
        select coalesce({column}, 'Unknown') as key_, count(*) as purchases,
               sum(amount) as revenue
        from rg_ev where which = {CURRENT} and stage = {CLEAN} and kind = {PURCHASE}
        group by coalesce({column}, 'Unknown')
    """,
    )
    key = name or column
    return [
        {key: r["key_"], "purchases": int(r["purchases"]), "revenue": money(r["revenue"])}
        for r in found
    ]


def _top(found: list[dict[str, Any]], key: str, top_n: int) -> list[dict[str, Any]]:
    """Purchased keys by revenue desc, then key (ids by the §8 id order), cut to top_n."""
    bought = [r for r in found if r["purchases"] > 0]
    # The id order depends on every purchased id (§8), but only top_n rows are sorted out:
    # nsmallest is sorted()[:top_n], ties included, without sorting 150k products.
    numeric = key == "product_id" and ids_are_integers([r[key] for r in bought])
    by_id = id_sort_key(numeric) if key == "product_id" else _same
    ordered = heapq.nsmallest(top_n, bought, key=lambda r: (-r["revenue"], by_id(r[key])))
    return [
        {
            key: int(r[key]) if numeric else r[key],
            "purchases": r["purchases"],
            "revenue": r["revenue"],
        }
        for r in ordered
    ]


def _same(value: Any) -> Any:
    return value


def _time_tables(current: list[dict[str, Any]], period: Period) -> dict[str, Any]:
    """by_hour, by_weekday and by_month: views, carts, purchases and revenue (zeros listed)."""

    def empty() -> dict[str, Any]:
        return {"views": 0, "carts": 0, "purchases": 0, "revenue": 0.0}

    hours = {h: empty() for h in range(24)}
    days = {d: empty() for d in range(7)}
    months = {m: empty() for m in _months(period)}
    names = {VIEW: "views", CART: "carts", PURCHASE: "purchases"}
    for row in current:
        if row["stage"] != CLEAN or row["kind"] not in names:
            continue
        for bucket in (
            hours[row["hour"]],
            days[row["dow"]],
            months.setdefault(row["month"], empty()),
        ):
            bucket[names[row["kind"]]] += int(row["events"])
            bucket["revenue"] += row["revenue"]
    for bucket in (*hours.values(), *days.values(), *months.values()):
        bucket["revenue"] = money(bucket["revenue"])
    return {
        "events.by_hour": [{"hour": h, **v} for h, v in hours.items()],
        "events.by_weekday": [
            {"weekday": d, "weekday_name": WEEKDAYS[d], **v} for d, v in days.items()
        ],
        "events.by_month": [{"month": m, **v} for m, v in sorted(months.items())],
    }


def _months(period: Period) -> list[str]:
    """Every ``YYYY-MM`` overlapping the period."""
    out, day = [], period.start.replace(day=1)
    while day < period.end:
        out.append(f"{day:%Y-%m}")
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _segments(who: dict[str, int], users: int) -> list[dict[str, Any]]:
    counts = {name: who.get(name, 0) for name in SEGMENTS[:-1]}
    # The top ceil(10%) of purchasing users by revenue: only their number is reported.
    counts["high_value"] = math.ceil(who.get("purchasers", 0) / 10)
    return [
        {"segment": name, "users": counts[name], "share": ratio(counts[name], users)}
        for name in SEGMENTS
    ]


def _abandoned_brands(conn) -> list[dict[str, Any]]:
    found = rows(
        conn,
        f"""
        select coalesce(e.brand, 'Unknown') as brand, count(distinct e.ukey) as users,
               count(*) as cart_events, sum(e.amount) as value
        from rg_ev e
        join rg_ev_users u on u.which = e.which and u.ukey = e.ukey
        where e.which = {CURRENT} and e.stage = {CLEAN} and e.kind = {CART}
          and u.carted = 1 and u.purchased = 0
        group by coalesce(e.brand, 'Unknown')
    """,
    )
    for row in found:
        row["value"] = money(row["value"])
        row["users"], row["cart_events"] = int(row["users"]), int(row["cart_events"])
    found.sort(key=lambda r: (-r["value"], r["brand"]))
    return found


def _abandoned_products(conn) -> list[dict[str, Any]]:
    found = rows(
        conn,
        f"""
        select pid as product_id, count(*) as pairs, sum(cart_price) as value
        from (
            select ukey, pid,
                   max(case when kind = {CART} then price end) as cart_price,
                   max(case when kind = {PURCHASE} then 1 else 0 end) as bought
            from rg_ev
            where which = {CURRENT} and stage = {CLEAN} and kind in ({CART}, {PURCHASE})
              and ukey is not null and pid is not null
            group by ukey, pid
        ) pairs
        where cart_price is not null and bought = 0
        group by pid
    """,
    )
    for row in found:
        row["product_id"] = str(row["product_id"])
        row["value"] = money(row["value"])
        row["pairs"] = int(row["pairs"])
    return sort_ids(found, "product_id", "value")


def _zero_purchase(products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    alerts = [
        {"product_id": r["product_id"], "views": r["views"]}
        for r in products
        if r["purchases"] == 0
    ]
    return sort_ids(alerts, "product_id", "views")


def _catalog_gaps(current: list[dict[str, Any]], prepared: PreparedEvents) -> list[dict[str, Any]]:
    clean = [r for r in current if r["stage"] == CLEAN]
    events = sum(int(r["events"]) for r in clean)
    revenue = money(sum(r["revenue"] for r in clean))
    out = []
    for attribute, flag, present in (
        ("brand", "brand_missing", prepared.has_brand),
        ("category_code", "cat_missing", prepared.has_category),
    ):
        if not present:
            out.append(
                {
                    "attribute": attribute,
                    "events_missing": None,
                    "share_of_events": None,
                    "revenue_missing": None,
                    "share_of_revenue": None,
                }
            )
            continue
        missing = [r for r in clean if r[flag]]
        lost = money(sum(r["revenue"] for r in missing))
        count = sum(int(r["events"]) for r in missing)
        out.append(
            {
                "attribute": attribute,
                "events_missing": count,
                "share_of_events": ratio(count, events),
                "revenue_missing": lost,
                "share_of_revenue": ratio(lost, revenue),
            }
        )
    return out


def _quality(conn, pipeline: list[dict[str, Any]], prepared: PreparedEvents) -> dict[str, Any]:
    """The period's data-quality counts: each cleaning step's removals (from the pipeline
    table) and the unmapped types by name."""
    types = rows(
        conn,
        f"""
        select coalesce(type_norm, 'NULL') as type_, count(*) as rows_
        from rg_ev where which = {CURRENT} and stage = {UNMAPPED}
        group by coalesce(type_norm, 'NULL')
    """,
    )
    left = {row["stage"]: row["rows"] for row in pipeline}
    return {
        "events.unparsed_event_time": prepared.unparsed_event_time,
        "events.duplicates_removed": left["raw"] - left["deduplicated"],
        "events.bad_price_removed": left["deduplicated"] - left["valid_price"],
        "events.unmapped_removed": left["valid_price"] - left["mapped_type"],
        "events.unmapped_types": {
            r["type_"]: int(r["rows_"])
            for r in sorted(types, key=lambda r: (-int(r["rows_"]), r["type_"]))
        },
        # Beyond METRICS.md §8 (docs/metrics-events.md): the denominators of the counts
        # above and what the build's clock says, for the data alerts (rule bad-row-share).
        "events.table_rows": prepared.table_rows,
        "events.period_rows": left["raw"],
        "events.future_event_time": prepared.future_event_time,
        # How far the log reaches (Section.coverage): a period it barely covers is not
        # compared against (rule comparison-coverage).
        "events.first_event_time": prepared.first_event_time,
        "events.last_event_time": prepared.last_event_time,
    }
