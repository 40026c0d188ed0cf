"""The freshness gate: does the data reach far enough to deliver a period's report?

**The rule** (docs/delivery.md, "Fresh data"): a period is fresh when the newest cart,
order or event timestamp *not after the run's own clock* is at or after the period's end
minus ``delivery.fresh_within_hours`` (default 24), in the schedule's local wall time. With
the default, data reaching anywhere into the period's last day counts: a November whose
last order is at 30 Nov 23:59 is complete; one whose data stops on the 29th is held.

Timestamps after the run's clock cannot be real yet (a mistyped ``9999-12-31``, a clock
set wrong): they are ignored for the gate, and how many there are is recorded in the data
fingerprint (``beyond_clock``) and said when the period is held.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reportgen.config import Config
from reportgen.periods import Period


def freshness_columns() -> list[tuple[str, str]]:
    """Return the (table, timestamp column) pairs whose newest value shows how far the data
    goes: every canonical table a section marks ``freshness``."""
    from reportgen.sections import canonical_tables

    return [
        (name, spec.timestamp)
        for name, spec in canonical_tables().items()
        if spec.freshness and spec.timestamp
    ]


def local_clock(config: Config, now: datetime) -> datetime:
    """Return the run's clock ``now`` (aware) as naive local time of the report's zone."""
    return now.astimezone(ZoneInfo(config.report.timezone)).replace(tzinfo=None)


def data_fingerprint(config: Config, now: datetime) -> dict[str, Any]:
    """Return, per timestamped source table, its row count, its newest local timestamp not
    after ``now``, and how many rows are dated after ``now`` (``beyond_clock``)."""
    from reportgen.report.metrics import newest_in
    from reportgen.source.connection import open_source
    from reportgen.source.query import scalar

    clock = local_clock(config, now)
    found: dict[str, Any] = {}
    with open_source(config) as everything:
        for table, column in freshness_columns():
            source = everything.holding(table)
            if not source.usable(table):
                continue
            newest = newest_in(source, table, column)
            beyond = 0
            if newest is not None and newest > clock:
                # Rare: only then the second, slower scan.
                newest = newest_in(source, table, column, not_after=clock)
                beyond = count_beyond(source, table, column, clock)
            rows = scalar(source.connection, f"select count(*) from {source.table(table).sql}")
            found[table] = {
                "rows": int(rows or 0),
                "newest": newest.isoformat(sep=" ") if newest else None,
                "beyond_clock": beyond,
            }
    return found


def count_beyond(source: Any, table: str, column: str, clock: datetime) -> int:
    """Count the rows of ``table`` whose ``column`` is after ``clock`` (local time).

    Every timestamp form reportgen reads starts with its date, so only text dated from
    the day before ``clock`` on is fetched (an offset moves a local date by a day at
    most) and parsed here as the reports parse it.
    """
    from reportgen.source.query import rows
    from reportgen.source.sqlexpr import Expr, parse_timestamp

    zone = source.config.report.timezone
    info = source.table(table)
    text = Expr(source.dialect, zone).strip(info.columns[column])
    floor = (clock - timedelta(days=1)).date().isoformat()
    limit = clock.strftime("%Y-%m-%d %H:%M:%S.%f")
    candidates = rows(
        source.connection,
        f"select {text} as x from {info.sql} where {text} >= :floor and {text} < ':'",
        floor=floor,
    )
    parsed = (parse_timestamp(str(found["x"]), zone) for found in candidates)
    return sum(1 for value in parsed if value and value[0] > limit)


def fresh_from(period: Period, within_hours: float) -> datetime:
    """Return the local time the newest data must reach for ``period`` to be fresh."""
    return datetime.combine(period.end, time()) - timedelta(hours=within_hours)


def stale_data(fingerprint: dict[str, Any], period: Period, within_hours: float) -> str | None:
    """Say why the data does not reach far enough into ``period``, or None when it does."""
    threshold = fresh_from(period, within_hours).isoformat(sep=" ")
    newest = max((facts["newest"] or "" for facts in fingerprint.values()), default="")
    if newest >= threshold:
        return None
    shown = ", ".join(f"{t} {f['newest'] or 'none'}" for t, f in fingerprint.items())
    reason = (
        f"data incomplete: the newest timestamps ({shown or 'no tables'}) are before "
        f"{threshold} ({within_hours:g} h before the period end, "
        "delivery.fresh_within_hours)"
    )
    beyond = {t: f.get("beyond_clock", 0) for t, f in fingerprint.items() if f.get("beyond_clock")}
    if beyond:
        count = sum(beyond.values())
        rows, were = ("row", "was") if count == 1 else ("rows", "were")
        tables = ", ".join(f"{t}: {n}" for t, n in beyond.items())
        reason += f"; {count} {rows} dated after the run's clock {were} ignored ({tables})"
    return reason
