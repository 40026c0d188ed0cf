"""The experiment section's SQL: normalised sessions, then counts per (experiment, variant).

Three steps, each a scratch table (``source/scratch.py``) or a grouped query, so only
counts reach Python:

1. ``rg_xs_all``: every row of experiment_sessions, read once: ids as text, the variant
   stripped, started_at parsed to local time (METRICS.md §8), the three booleans read as
   1/true/t/yes/y, revenue as a number. Whole-table data-quality counts come from it;
   ``rg_xs`` is its rows with a time, an experiment and a variant (a copy: Spark deletes
   no rows).
2. ``rg_xsess`` (per period): one row per session started before the period end, a
   session being its (experiment_id, session_id). A session seen under two variants is a
   crossover (``variant`` NULL, ``crossover`` 1); repeated rows under one variant merge
   (named rule ``experiment-session-identity``).
3. Grouped counts over ``rg_xsess`` for the experiments in the report — those with a
   non-crossover session started in the period: per arm, per persona, crossovers, and
   sessions started at or after the period end (from ``rg_xs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from reportgen.periods import Period
from reportgen.source.connection import Source
from reportgen.source.query import rows, scalar
from reportgen.source.scratch import create_scratch, drop_scratch, index_scratch
from reportgen.source.sqlexpr import Expr
from reportgen.source.values import money

TRUE_WORDS = ("1", "true", "t", "yes", "y")
"""Boolean text read as true, after strip() and lower() (§8); anything else is false."""
FLAGS = {"ctr": "clicked", "add_to_cart_rate": "carted", "purchase_rate": "bought"}
"""Each rate of §5 → the ``rg_xs`` column counting its successes."""
_SOURCE_FLAGS = {"clicked": "clicked", "carted": "added_to_cart", "bought": "purchased"}

IN_REPORT = "select distinct eid from rg_xsess where crossover = 0 and started >= :start"
"""The experiments in the report: a session (not a crossover) started in the period. Read
once per query family into a bound list: ``eid in (select …)`` over a scratch table is a
semi-join that costs seconds per query on Spark, where ``eid in :ids`` does not."""


@dataclass(frozen=True)
class Prepared:
    """What the queries need to know about ``rg_xs``."""

    has_revenue: bool
    has_user: bool
    unparsed_started_at: int
    """Rows of the whole table whose started_at is NULL or not a §8 timestamp."""
    unassigned_rows: int
    """Rows of the whole table with no experiment_id or no variant."""


@dataclass(frozen=True)
class Arm:
    """One variant of one experiment: its sessions to the period end, and their successes."""

    experiment_id: str
    variant: str
    sessions: int
    clicked: int
    carted: int
    bought: int
    revenue: float
    period_sessions: int
    """Sessions started in the period itself."""
    first_started: str
    last_started: str
    """Local ``YYYY-MM-DD`` of its first and last session."""

    def hits(self, rate: str) -> int:
        """Return the sessions counting towards ``rate`` (ctr: clicked sessions)."""
        return int(getattr(self, FLAGS[rate]))


@dataclass(frozen=True)
class PeriodCounts:
    """The counts one period's figures are made of (experiments in the report only)."""

    arms: list[Arm]
    crossovers: dict[str, int]
    """Experiment id → its crossover sessions (sessions seen under two variants)."""
    after_end: dict[str, int]
    """Experiment id → its sessions started at or after the period end."""
    duplicate_session_rows: int
    null_session_ids: int


def prepare_sessions(source: Source, expr: Expr) -> Prepared:
    """Build ``rg_xs`` from the whole experiment_sessions table."""
    conn = source.connection
    # Those built from rg_xs first: a cached Spark view reads the views it came from.
    for table in ("rg_xcust", "rg_xsess", "rg_xs", "rg_xs_all"):
        drop_scratch(conn, table)
    info = source.table("experiment_sessions")
    columns = info.columns
    truth = ", ".join(expr.literal(word) for word in TRUE_WORDS)
    flags = ", ".join(
        f"case when {expr.lower_strip(columns[real])} in ({truth}) then 1 else 0 end as {name}"
        for name, real in _SOURCE_FLAGS.items()
    )
    user = expr.id_text(columns["user_id"]) if "user_id" in columns else expr.null_text()
    revenue = (
        source.number(expr, "experiment_sessions", "revenue")
        if "revenue" in columns
        else expr.null_number()
    )
    parsed = expr.parsed_rows(
        f"""{expr.id_text(columns["experiment_id"])} as eid,
            {expr.strip(columns["variant"])} as variant,
            {expr.id_text(columns["session_id"])} as sid,
            {user} as uid, {flags}, {revenue} as revenue""",
        columns["started_at"],
        f"from {info.sql}",
    )
    # Every row, then the usable ones (a copy, not a delete: Spark deletes no rows).
    create_scratch(
        conn,
        "rg_xs_all",
        f"""
        select eid, variant, sid, uid, local, clicked, carted, bought, revenue
        from ({parsed}) parsed
    """,
    )
    unparsed = scalar(conn, "select count(*) from rg_xs_all where local is null")
    unassigned = scalar(conn, "select count(*) from rg_xs_all where eid is null or variant is null")
    create_scratch(
        conn,
        "rg_xs",
        "select * from rg_xs_all "
        "where local is not null and eid is not null and variant is not null",
    )
    if source.dialect != "duckdb":
        index_scratch(conn, "rg_xs_local", "rg_xs", "local")
    return Prepared(
        has_revenue="revenue" in columns,
        has_user="user_id" in columns,
        unparsed_started_at=int(unparsed or 0),
        unassigned_rows=int(unassigned or 0),
    )


def period_counts(source: Source, period: Period) -> PeriodCounts:
    """Build ``rg_xsess`` for ``period`` and return its counts per arm."""
    conn = source.connection
    merged = ", ".join(f"max({name}) as {name}" for name in _SOURCE_FLAGS)
    kept = ", ".join(_SOURCE_FLAGS)
    create_scratch(
        conn,
        "rg_xsess",
        f"""
        select eid, sid,
               case when min(variant) = max(variant) then min(variant) end as variant,
               case when min(variant) = max(variant) then 0 else 1 end as crossover,
               min(local) as started, {merged}, max(revenue) as revenue, max(uid) as uid,
               count(*) as n_rows
        from rg_xs where local < :end and sid is not null
        group by eid, sid
        union all
        select eid, sid, variant, 0, local, {kept}, revenue, uid, 1
        from rg_xs where local < :end and sid is null
    """,
        end=period.end_text,
    )
    bounds = {"start": period.start_text, "ids": _in_report(conn, period.start_text)}
    found = (
        rows(
            conn,
            """
        select eid, variant, count(*) as sessions,
               sum(clicked) as clicked, sum(carted) as carted, sum(bought) as bought,
               sum(coalesce(revenue, 0)) as revenue,
               sum(case when started >= :start then 1 else 0 end) as period_sessions,
               sum(n_rows - 1) as extra_rows,
               sum(case when sid is null then 1 else 0 end) as null_sids,
               min(started) as first_started, max(started) as last_started
        from rg_xsess
        where crossover = 0 and eid in :ids
        group by eid, variant
    """,
            **bounds,
        )
        if bounds["ids"]
        else []
    )
    arms = [
        Arm(
            experiment_id=str(row["eid"]),
            variant=str(row["variant"]),
            sessions=int(row["sessions"]),
            clicked=int(row["clicked"] or 0),
            carted=int(row["carted"] or 0),
            bought=int(row["bought"] or 0),
            revenue=money(row["revenue"]),
            period_sessions=int(row["period_sessions"] or 0),
            first_started=str(row["first_started"])[:10],
            last_started=str(row["last_started"])[:10],
        )
        for row in found
    ]
    crossovers = _by_experiment(
        rows(
            conn,
            "select eid, count(*) as n from rg_xsess where crossover = 1 and eid in :ids "
            "group by eid",
            ids=bounds["ids"],
        )
        if bounds["ids"]
        else []
    )
    # Sessions after the end: distinct ids, each id-less row one more (as rg_xsess counts).
    after_end = _by_experiment(
        rows(
            conn,
            """
            select eid, count(distinct sid) + sum(case when sid is null then 1 else 0 end) as n
            from rg_xs where local >= :end group by eid
        """,
            end=period.end_text,
        )
    )
    return PeriodCounts(
        arms=arms,
        crossovers=crossovers,
        after_end={
            eid: n for eid, n in after_end.items() if eid in {a.experiment_id for a in arms}
        },
        duplicate_session_rows=sum(int(row["extra_rows"] or 0) for row in found),
        null_session_ids=sum(int(row["null_sids"] or 0) for row in found),
    )


def experiment_details(source: Source, expr: Expr, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Return name, description and control_variant of the given experiments (the
    experiments table is optional; duplicate rows keep each attribute's largest value)."""
    if not ids or not source.has_table("experiments"):
        return {}
    info = source.table("experiments")
    eid = expr.id_text(info.columns["experiment_id"])
    picks = ", ".join(
        f"max({expr.strip(info.columns[name])}) as {name}"
        if name in info.columns
        else f"{expr.null_text()} as {name}"
        for name in ("name", "description", "control_variant")
    )
    found = rows(
        source.connection,
        f"""
        select eid, {", ".join(("name", "description", "control_variant"))} from (
            select {eid} as eid, {picks} from {info.sql} group by {eid}
        ) details where eid in :ids
    """,
        ids=ids,
    )
    return {str(row.pop("eid")): row for row in found}


@dataclass(frozen=True)
class PersonaCounts:
    """Sessions and primary-metric successes per (experiment, variant, persona)."""

    dimension: str
    cells: list[dict[str, Any]]
    """[{experiment_id, variant, segment, sessions, hits}]"""


def persona_counts(
    source: Source, expr: Expr, period: Period, dimensions: list[str], primary: str
) -> list[PersonaCounts]:
    """Count the current period's sessions per persona of each available dimension.

    Customers with duplicate ids become one row per id, each attribute its largest non-null
    value (as the cart section reads them); only customers with a session are read.
    """
    conn = source.connection
    customers = source.table("customers")
    picks = []
    for number, name in enumerate(dimensions):
        column = customers.columns["age" if name == "age_band" else name]
        value = (
            source.number(expr, "customers", "age") if name == "age_band" else expr.strip(column)
        )
        picks.append(f"max({value}) as seg_{number}")
    cid = expr.id_text(customers.columns["customer_id"])
    create_scratch(
        conn,
        "rg_xcust",
        f"""
        select {cid} as cid, {", ".join(picks)}
        from {customers.sql}
        where {cid} in (select uid from rg_xs where uid is not null)
        group by {cid}
    """,
    )
    flag = FLAGS[primary]
    ids = _in_report(conn, period.start_text)
    out = []
    for number, name in enumerate(dimensions):
        label = _persona_label(f"c.seg_{number}", name)
        found = (
            rows(
                conn,
                f"""
            select s.eid, s.variant, {label} as segment, count(*) as sessions,
                   sum(s.{flag}) as hits
            from rg_xsess s left join rg_xcust c on c.cid = s.uid
            where s.crossover = 0 and s.eid in :ids
            group by s.eid, s.variant, {label}
        """,
                ids=ids,
            )
            if ids
            else []
        )
        out.append(
            PersonaCounts(
                name,
                [
                    {
                        "experiment_id": str(row["eid"]),
                        "variant": str(row["variant"]),
                        "segment": str(row["segment"]),
                        "sessions": int(row["sessions"]),
                        "hits": int(row["hits"] or 0),
                    }
                    for row in found
                ],
            )
        )
    return out


def _persona_label(value: str, name: str) -> str:
    """Return a persona's label expression: the value, NULL (or no customer) as Unknown;
    age bands as the cart section's (METRICS.md §3)."""
    if name != "age_band":
        return f"coalesce({value}, 'Unknown')"
    return (
        f"case when {value} is null or {value} < 0 or {value} >= 121 then 'Unknown' "
        f"when {value} < 25 then '<25' when {value} < 35 then '25-34' "
        f"when {value} < 45 then '35-44' when {value} < 55 then '45-54' "
        f"when {value} < 65 then '55-64' else '65+' end"
    )


def _in_report(conn: Connection, start: str) -> list[Any]:
    """Return the ids of the experiments in the report (``IN_REPORT``)."""
    return [row["eid"] for row in rows(conn, IN_REPORT, start=start)]


def _by_experiment(found: list[dict[str, Any]]) -> dict[str, int]:
    return {str(row["eid"]): int(row["n"] or 0) for row in found}
