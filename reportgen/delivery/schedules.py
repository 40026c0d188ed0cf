"""When a scheduled report is due, and which of its periods are waiting to be delivered.

Everything is computed in the schedule's own time zone: a weekly report due Monday 07:00
Europe/London is due at 07:00 London wall time whatever the season (06:00 UTC in summer,
07:00 UTC in winter). A due time that falls in a spring-forward gap moves forward, like any
naive local time (METRICS.md §8).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reportgen.config import Config, Schedule, due_parts
from reportgen.errors import ConfigError, PeriodError
from reportgen.periods import Period, latest_complete, month_period, week_period


def require_schedules(config: Config) -> None:
    """Refuse to run or install ``run-due`` for a config without a schedule."""
    if not config.schedules:
        raise ConfigError(
            f"{config.origin}: schedules: no schedule is configured; add one "
            "(docs/delivery.md) before running or installing run-due"
        )


def schedule_zone(config: Config, schedule: Schedule) -> str:
    return schedule.timezone or config.report.timezone


def due_at(schedule: Schedule, period: Period) -> datetime:
    """Return the UTC instant at which ``period``'s report is due."""
    day, hour, minute = due_parts(schedule.period, schedule.due)
    if schedule.period == "week":
        local_day = period.end + timedelta(days=day)  # period.end is the next Monday
    else:
        local_day = period.end.replace(day=day)  # the 1st of the next month
    naive = datetime.combine(local_day, time(hour, minute))
    return naive.replace(tzinfo=ZoneInfo(period.timezone), fold=0).astimezone(UTC)


def latest_due(schedule: Schedule, zone: str, now: datetime) -> Period:
    """Return the newest period whose report is due at ``now`` (an aware datetime)."""
    local_now = now.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    period = latest_complete(schedule.period, local_now, zone)
    while due_at(schedule, period) > now:
        period = period.previous()
    return period


def parse_period(kind: str, label: str, zone: str) -> Period:
    """Read a month (2026-09) or week (2026-W37) label of a schedule's kind."""
    reader = month_period if kind == "month" else week_period
    return reader(label, zone)


def waiting_periods(
    config: Config, name: str, now: datetime, delivered: dict[str, str]
) -> list[Period]:
    """Return the due periods of schedule ``name`` not yet delivered, oldest first.

    After the newest delivered period, every period up to the latest due one is waiting
    (a catch-up after missed runs). With nothing delivered yet: from ``catch_up_from``,
    or only the latest due period.
    """
    schedule = config.schedules[name]
    zone = schedule_zone(config, schedule)
    latest = latest_due(schedule, zone, now)
    if delivered:
        first = parse_period(schedule.period, max(delivered, key=delivered.get), zone)
        # The newest delivered period itself is done; catch up from the one after it.
        stop = first.start
        inclusive = False
    elif schedule.catch_up_from:
        try:
            stop = parse_period(schedule.period, schedule.catch_up_from, zone).start
        except PeriodError as exc:
            raise ConfigError(f"{config.origin}: schedules.{name}.catch_up_from: {exc}") from None
        inclusive = True
    else:
        return [latest]
    waiting: list[Period] = []
    period = latest
    while period.start > stop or (inclusive and period.start == stop):
        if period.label not in delivered:
            waiting.append(period)
        period = period.previous()
    return list(reversed(waiting))
