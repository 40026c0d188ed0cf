"""Run every section against the source and assemble ``metrics.json`` (METRICS.md §7)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reportgen.config import Config
from reportgen.errors import SourceError
from reportgen.periods import Period, PeriodKind, latest_complete
from reportgen.plugin import Section
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
        engine = source.holding(section.requires[0])
        result = section.compute(engine, config, period)
        previous_kpis = result.previous_kpis
        if period.to_date:
            # The previous part (1-15 Oct against 1-15 Nov) is not adjacent to the period:
            # a section's own "previous" would span the gap, so it is computed as a period.
            previous_kpis = section.compute(engine, config, period.previous()).kpis
        metrics["kpis"].update(result.kpis)
        metrics["kpis"]["previous"].update(previous_kpis)
        metrics["tables"].update(result.tables)
        metrics["data_quality"].update(result.data_quality)
        metrics["skipped"].extend(result.skipped)
        computed += 1
    if not computed:
        reasons = "; ".join(f"{s['section']}: {s['reason']}" for s in metrics["skipped"])
        raise SourceError(f"{config.origin}: nothing to report ({reasons})")
    return clean_json(metrics)


def skip_reason(source: Source, section: Section) -> str | None:
    """Skip a section whose main table is absent; fail loudly when it is half there (or,
    with mixed sources, split between the database and the files)."""
    main = section.requires[0]
    split = source.split_tables(section.requires)
    if split:
        raise SourceError(split)
    source = source.holding(main)
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
        found = [(t, c) for t, c in period_columns() if source.holding(t).has_table(t)]
        return newest_in(source.holding(found[0][0]), *found[0]) if found else None


def newest_in(
    source: Source, table: str, column: str, *, not_after: datetime | None = None
) -> datetime | None:
    """Return the newest parseable value of a timestamp column, in local time; with
    ``not_after``, the newest not after that local time (values beyond it are ignored)."""
    config = source.config
    info = source.table(table)
    raw = info.columns[column]
    expr = Expr(source.dialect, config.report.timezone)
    if not_after is not None:
        return _newest_not_after(source, info.sql, raw, expr, not_after)
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
        parsed = expr.parsed_rows("", raw, f"from {info.sql}", instants=False)
        newest = scalar(source.connection, f"select max(local) from ({parsed}) parsed")
    return _local_datetime(newest) if newest else None


def _newest_not_after(
    source: Source, table: str, raw: str, expr: Expr, not_after: datetime
) -> datetime | None:
    """Newest local time up to ``not_after``, through the full parser (every dialect)."""
    if source.dialect == "duckdb":
        local = f"{expr.slow_local(expr.strip(raw))}"
        newest = scalar(
            source.connection,
            f"select max(x) from (select {local} as x from {table}) t where x <= :cap",
            cap=not_after.strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
    else:
        parsed = expr.parsed_rows("", raw, f"from {table}", instants=False)
        newest = scalar(
            source.connection,
            f"select max(local) from ({parsed}) parsed where local <= :cap",
            cap=not_after.strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
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
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value  # most of a large table: the tests below cost more than the value
    if kind is float:
        return value if math.isfinite(value) else None
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
