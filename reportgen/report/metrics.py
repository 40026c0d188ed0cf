"""Run every section against the source and assemble ``metrics.json`` (METRICS.md §7)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from reportgen.config import Config, QualitySettings
from reportgen.errors import ReportgenError, SourceError
from reportgen.periods import Period, PeriodKind, latest_complete
from reportgen.plugin import Section
from reportgen.render.formatters import fmt_percent
from reportgen.sections import all_sections
from reportgen.source.connection import Source, open_source
from reportgen.source.query import scalar
from reportgen.source.sqlexpr import (
    Expr,
    duckdb_local_instant,
    duckdb_slow_timestamps,
    duckdb_timestamps,
)


def effective_rules(config: Config) -> dict[str, Any]:
    """Return the full rule set in force (every registered section's rules), as metrics.json
    holds it."""
    return config.rules.as_json()


def compute_metrics(
    config: Config,
    period: Period,
    sections: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Compute every available section (or those named) for ``period`` and the one before.

    ``now`` is the build's clock (default: this moment): rows dated after it are counted.
    """
    with open_source(config, now=now) as source:
        return _compute(source, config, period, sections)


def _compute(
    source: Source, config: Config, period: Period, wanted: Sequence[str] | None
) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "period": period.as_json(),
        "previous_period": period.previous().as_json(),
        "rules": effective_rules(config),
        "kpis": {"previous": {}},
        "tables": {},
        "data_quality": {},
        "skipped": [],
    }
    computed = 0
    for section in all_sections():
        if wanted is not None and section.name not in wanted:
            continue
        reason = skip_reason(source, section)
        if reason:
            metrics["skipped"].append({"section": section.name, "reason": reason})
            continue
        result = section.compute(source, config, period)
        metrics["kpis"].update(result.kpis)
        metrics["kpis"]["previous"].update(result.previous_kpis)
        metrics["tables"].update(result.tables)
        metrics["data_quality"].update(result.data_quality)
        metrics["skipped"].extend(result.skipped)
        computed += 1
    if not computed:
        reasons = "; ".join(f"{s['section']}: {s['reason']}" for s in metrics["skipped"])
        raise SourceError(f"{config.origin}: nothing to report ({reasons})")
    return clean_json(metrics)


def skip_reason(source: Source, section: Section) -> str | None:
    """Skip a section whose main table is absent; fail loudly when it is half there."""
    main = section.requires[0]
    if not source.has_table(main):
        return f"no table {source.real_table_name(main)}"
    problems = source.missing_columns(section.requires)
    if problems:
        raise SourceError(f"{source.config.origin}: " + "; ".join(problems))
    return None


def period_columns() -> list[tuple[str, str]]:
    """Where the default period is read from: each section's (table, column), in report
    order; the first whose table the source has decides."""
    return [section.period_from for section in all_sections() if section.period_from]


def newest_local(config: Config) -> datetime | None:
    """Return the newest value of the first period column the source has, in local time."""
    with open_source(config) as source:
        found = [(t, c) for t, c in period_columns() if source.has_table(t)]
        return newest_in(source, *found[0]) if found else None


def newest_in(source: Source, table: str, column: str) -> datetime | None:
    """Return the newest parseable value of a timestamp column, in local time."""
    config = source.config
    info = source.table(table)
    raw = info.columns[column]
    expr = Expr(source.dialect, config.report.timezone)
    if source.dialect == "duckdb":
        newest = _newest_duckdb(source, info.sql, raw, source.column_type(table, column))
    elif config.report.timezone == "UTC":
        # Canonical naive values are their own local time (their text max is the newest);
        # only the others go through the full parser. One pass.
        body, suffixed = expr.utc_suffixed(expr.raw_text(raw))
        local = (
            f"case when {expr.fast_valid(raw)} "
            f"then replace({expr.raw_text(raw)}, 'T', ' ') "
            f"when {suffixed} then replace({body}, 'T', ' ') "
            f"else {expr.slow_local(expr.strip(raw))} end"
        )
        newest = scalar(source.connection, f"select max({local}) from {info.sql}")
    else:
        parsed = expr.with_timestamps(f"select {expr.strip(raw)} as x from {info.sql}")
        newest = scalar(source.connection, f"select max(local) from ({parsed}) parsed")
    return _local_datetime(newest) if newest else None


def _newest_duckdb(source: Source, table: str, raw: str, kind: str) -> str | None:
    """Newest local time on DuckDB: native parsing, the Python parser only where needed."""
    zone = source.config.report.timezone
    native, zoned, text = duckdb_timestamps(raw, kind or "varchar", zone)
    local, _ = duckdb_local_instant("native", "zoned", zone)
    slow_local, _ = duckdb_slow_timestamps("slow", zone)
    parsed = f"select {native} as native, {zoned} as zoned, {text} as slow from {table}"
    newest = scalar(
        source.connection,
        f"select strftime(max({local}), '%Y-%m-%d %H:%M:%S.%f') from ({parsed}) parsed",
    )
    slow = scalar(
        source.connection,
        f"""
        select strftime(max({slow_local}), '%Y-%m-%d %H:%M:%S.%f') from ({parsed}) parsed
        where {local} is null and slow is not null
    """,
    )
    return max(filter(None, (newest, slow)), default=None)


def _local_datetime(text: str) -> datetime:
    """Read canonical local text, with or without its time part."""
    padded = text + " 00:00:00.000000"[len(text) - 10 :] if len(text) < 26 else text
    return datetime.strptime(padded, "%Y-%m-%d %H:%M:%S.%f")


def default_period(config: Config, kind: PeriodKind) -> Period:
    """Return the last complete period before the newest cart (or event)."""
    newest = newest_local(config)
    if newest is None:
        columns = " or ".join(f"{table}.{column}" for table, column in period_columns())
        raise SourceError(f"{config.origin}: no parseable {columns} to choose a period from")
    return latest_complete(kind, newest, config.report.timezone)


def clean_json(value: Any) -> Any:
    """Make a value JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- data alerts (named rule bad-row-share) -----------------------------------------------


@dataclass(frozen=True)
class DataAlert:
    """A data problem too large to leave on the data-quality page, read from metrics.json."""

    table: str
    """The source's canonical table: carts, cart_items, orders or events."""
    key: str
    """The data_quality key counted (``carts.unparsed_created_at``), or the denominator's
    key for an empty table or period."""
    kind: Literal["bad_rows", "empty_table", "empty_period"]
    problem: str
    """What happened to the rows, completing "<count> of <total> <noun> (<share>) …"."""
    count: int
    total: int
    share: float | None
    """count / total (None when total is 0)."""
    message: str
    """The sentence the CLI, the cover banner and delivery show."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


BAD_ROW_COUNTS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "carts.unparsed_created_at",
        "carts.table_rows",
        "carts",
        "carts",
        "have an unreadable created_at and are in no period",
    ),
    (
        "carts.null_cart_ids",
        "carts.table_rows",
        "carts",
        "carts",
        "have no cart_id and are left out",
    ),
    (
        "carts.future_created_at",
        "carts.table_rows",
        "carts",
        "carts",
        "are dated after this report was built and are in no past period",
    ),
    (
        "carts.invalid_lines",
        "carts.period_lines",
        "cart_items",
        "cart lines of the period",
        "have a bad quantity or price and are left out of cart values",
    ),
    (
        "orders.unparsed_order_date",
        "orders.table_rows",
        "orders",
        "orders",
        "have an unreadable order_date and link to no cart",
    ),
    (
        "orders.future_order_date",
        "orders.table_rows",
        "orders",
        "orders",
        "are dated after this report was built",
    ),
    (
        "events.unparsed_event_time",
        "events.table_rows",
        "events",
        "events",
        "have an unreadable event_time and are in no period",
    ),
    (
        "events.future_event_time",
        "events.table_rows",
        "events",
        "events",
        "are dated after this report was built and are in no past period",
    ),
    (
        "events.bad_price_removed",
        "events.period_rows",
        "events",
        "events of the period",
        "were removed for a missing or bad price or quantity",
    ),
)
"""(data_quality count, its denominator, the table, the rows' noun, what happened to them): the
unreadable or dropped rows rule ``bad-row-share`` weighs (docs/rules.md)."""

TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("carts.table_rows", "carts", "every cart figure is zero or n/a"),
    ("cart_items.table_rows", "cart_items", "every cart's value is 0"),
    ("orders.table_rows", "orders", "no cart links to an order and no abandoner is re-engaged"),
    ("events.table_rows", "events", "every event figure is zero or n/a"),
)
"""The whole-table row counts: an empty source table is an alert."""


def data_alerts(metrics: Mapping[str, Any], quality: QualitySettings) -> list[DataAlert]:
    """Return the data problems of a metrics.json that the report must not bury.

    Pure: reads metrics.json only, so delivery can decide on an archived report. A count is
    an alert when its share of its table (or of the period's rows) exceeds
    ``quality.max_bad_row_share``; an empty source table, or a table with rows but none in
    the period, is one too. Counts whose keys are absent (a skipped section, an older
    metrics.json) are not judged.
    """
    dq = metrics.get("data_quality") or {}
    kpis = metrics.get("kpis") or {}
    label = (metrics.get("period") or {}).get("label") or "the period"
    alerts: list[DataAlert] = []
    empty: set[str] = set()
    for key, table, consequence in TABLE_ROWS:
        if dq.get(key) == 0:
            empty.add(table)
            message = f"The {table} table is empty: {consequence}"
            alerts.append(DataAlert(table, key, "empty_table", "is empty", 0, 0, None, message))
    for key, total_key, table, noun, problem in BAD_ROW_COUNTS:
        count, total = _whole(dq.get(key)), _whole(dq.get(total_key))
        if count is None or total is None or not count or not total:
            continue
        share = count / total
        if share > quality.max_bad_row_share:
            message = f"{count:,} of {total:,} {noun} ({_percent(share)}) {problem}"
            alerts.append(DataAlert(table, key, "bad_rows", problem, count, total, share, message))
    periods = (
        ("carts", "carts.carts_total", kpis.get("carts.carts_total"), "a created_at"),
        ("events", "events.period_rows", dq.get("events.period_rows"), "an event_time"),
    )
    for table, key, found, column in periods:
        total = _whole(dq.get(f"{table}.table_rows"))
        if found == 0 and total and table not in empty:
            rows = f"{total:,} row{'s' if total != 1 else ''}"
            message = (
                f"No {table} have {column} in {label} ({rows} in the {table} table): "
                f"the {table} figures are empty"
            )
            alerts.append(
                DataAlert(table, key, "empty_period", f"none in {label}", 0, total, 0.0, message)
            )
    return alerts


class DataAlertError(ReportgenError):
    """A strict build found data alerts: it publishes nothing, in one line naming them."""

    def __init__(self, config: Config, alerts: Sequence[DataAlert]) -> None:
        self.alerts = list(alerts)
        found = "; ".join(alert.message for alert in alerts)
        count = f"{len(alerts)} data alert{'s' if len(alerts) != 1 else ''}"
        super().__init__(f"{config.origin}: {count} (strict): {found}; nothing was published")


def _whole(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _percent(share: float) -> str:
    """1.0%, or 0.01% for a share too small for one decimal (never "0.0%")."""
    shown = fmt_percent(share)
    return shown if shown != "0.0%" else fmt_percent(share, places=2)
