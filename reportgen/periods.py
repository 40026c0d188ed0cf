"""Report periods: parsing, previous and next periods, trend buckets (METRICS.md §2, §8)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from reportgen.errors import PeriodError

PeriodKind = Literal["month", "week", "custom"]


@dataclass(frozen=True)
class Period:
    """A half-open window [start, end) of local wall-clock dates in the report's time zone."""

    kind: PeriodKind
    start: date
    end: date
    timezone: str = "UTC"
    to_date: bool = False
    """A month or week so far: ``end`` is the cut (the day after the last whole day in
    it), not the calendar end; it is compared with the same elapsed part of the previous
    one and archived apart from complete periods."""

    @property
    def label(self) -> str:
        """Return the period's name: ``2026-09``, ``2026-W37`` or ``2026-01-01..2026-04-01``."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def start_text(self) -> str:
        """Return the start as the canonical local timestamp text used in SQL comparisons."""
        return f"{self.start.isoformat()} 00:00:00.000000"

    @property
    def end_text(self) -> str:
        return f"{self.end.isoformat()} 00:00:00.000000"

    def previous(self) -> Period:
        """Return the previous calendar month, ISO week, or same-length window before.

        Of a period to date: the same elapsed part of the previous month or week (for a
        month, the same number of days, cut at that month's end).
        """
        if self.to_date:
            full = dataclasses.replace(self, end=self.full_end, to_date=False).previous()
            cut = min(full.start + (self.end - self.start), full.end)
            return dataclasses.replace(full, end=cut, to_date=True)
        if self.kind == "month":
            start = _add_months(self.start, -1)
            return Period("month", start, self.start, self.timezone)
        if self.kind == "week":
            return Period("week", self.start - timedelta(days=7), self.start, self.timezone)
        length = self.end - self.start
        return Period("custom", self.start - length, self.start, self.timezone)

    def next(self) -> Period:
        """Return the next calendar month, ISO week, or same-length window after."""
        if self.kind == "month":
            return Period("month", self.end, _add_months(self.end, 1), self.timezone)
        if self.kind == "week":
            return Period("week", self.end, self.end + timedelta(days=7), self.timezone)
        length = self.end - self.start
        return Period("custom", self.end, self.end + length, self.timezone)

    def year_ago(self) -> Period:
        """Return the same period a year before: the month, the ISO week of the same number
        (week 52 for a week 53 the year before lacks), or the window shifted by a year."""
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            weeks = date(year - 1, 12, 28).isocalendar()[1]
            start = date.fromisocalendar(year - 1, min(week, weeks), 1)
            return dataclasses.replace(self, start=start, end=start + (self.end - self.start))
        start = _minus_year(self.start)
        if self.kind == "month":
            return dataclasses.replace(self, start=start, end=_minus_year(self.end))
        return dataclasses.replace(self, start=start, end=start + (self.end - self.start))

    @property
    def folder_kind(self) -> str:
        """Where the archive keeps it: ``month``, ``week``, ``custom``, or ``month-to-date``
        / ``week-to-date`` (a period so far is kept apart from complete ones)."""
        return f"{self.kind}-to-date" if self.to_date else self.kind

    @property
    def full_end(self) -> date:
        """Return the calendar end of a period to date (its ``end`` when complete)."""
        if not self.to_date:
            return self.end
        if self.kind == "month":
            return _add_months(self.start, 1)
        return self.start + timedelta(days=7)

    def as_json(self) -> dict[str, Any]:
        """Return the ``period`` block of metrics.json (``to_date`` only when it is one)."""
        found: dict[str, Any] = {
            "kind": self.kind,
            "label": self.label,
            "start": f"{self.start.isoformat()}T00:00:00",
            "end": f"{self.end.isoformat()}T00:00:00",
            "timezone": self.timezone,
        }
        if self.to_date:
            found["to_date"] = True
        return found

    def buckets(self) -> list[date]:
        """Return the first day of each trend bucket (rows outside the period never count).

        A week report has days; a month report every ISO week overlapping it, labelled by
        its Monday; a custom window days up to 14 days, ISO weeks up to 92, months beyond.
        """
        days = (self.end - self.start).days
        if self.kind == "week" or (self.kind == "custom" and days <= 14):
            return _days(self.start, self.end)
        if self.kind == "month" or days <= 92:
            first_monday = self.start - timedelta(days=self.start.weekday())
            return _days(first_monday, self.end, step=7)
        first = self.start.replace(day=1)
        out = []
        while first < self.end:
            out.append(first)
            first = _add_months(first, 1)
        return out

    @property
    def bucket_unit(self) -> Literal["day", "week", "month"]:
        days = (self.end - self.start).days
        if self.kind == "week" or (self.kind == "custom" and days <= 14):
            return "day"
        if self.kind == "month" or days <= 92:
            return "week"
        return "month"


def _days(start: date, end: date, step: int = 1) -> list[date]:
    out, day = [], start
    while day < end:
        out.append(day)
        day += timedelta(days=step)
    return out


def _minus_year(day: date) -> date:
    """Return the same day a year before (28 February for a 29th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def month_period(value: str, timezone: str = "UTC") -> Period:
    """Parse ``YYYY-MM``."""
    match = _MONTH.match(value.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise PeriodError(f"--month {value!r}: expected YYYY-MM with a month 01-12, e.g. 2026-10")
    start = date(int(match[1]), int(match[2]), 1)
    return Period("month", start, _add_months(start, 1), timezone)


def week_period(value: str, timezone: str = "UTC") -> Period:
    """Parse an ISO week ``YYYY-Www``."""
    match = _WEEK.match(value.strip())
    try:
        if not match:
            raise ValueError
        start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise PeriodError(
            f"--week {value!r}: expected an ISO week YYYY-Www that exists, e.g. 2026-W43"
        ) from None
    return Period("week", start, start + timedelta(days=7), timezone)


def custom_period(start: str, end: str, timezone: str = "UTC") -> Period:
    """Parse ``--from YYYY-MM-DD --to YYYY-MM-DD`` (to is exclusive)."""
    try:
        first, last = date.fromisoformat(start.strip()), date.fromisoformat(end.strip())
    except ValueError:
        raise PeriodError(f"--from {start!r} --to {end!r}: expected two dates YYYY-MM-DD") from None
    if last <= first:
        raise PeriodError(f"--to {end} must be after --from {start} (the window is half-open)")
    return Period("custom", first, last, timezone)


def to_date_period(kind: PeriodKind, today: date, timezone: str = "UTC") -> Period:
    """Return the month or ISO week holding ``today``, so far: its whole days before today.

    Raises PeriodError on its first day, when no whole day has elapsed yet.
    """
    if kind == "month":
        start = today.replace(day=1)
    elif kind == "week":
        start = today - timedelta(days=today.weekday())
    else:
        raise PeriodError(f"--to-date applies to a month or a week, not a {kind} window")
    if today <= start:
        raise PeriodError(
            f"--to-date: {today.isoformat()} is the first day of the {kind}: no whole day of "
            "it has elapsed yet; build the previous one instead"
        )
    return Period(kind, start, today, timezone, to_date=True)


def latest_complete(kind: PeriodKind, newest: datetime | date, timezone: str = "UTC") -> Period:
    """Return the last complete period of ``kind`` ending at or before ``newest``."""
    day = newest.date() if isinstance(newest, datetime) else newest
    if kind == "month":
        current = Period("month", day.replace(day=1), _add_months(day.replace(day=1), 1), timezone)
    else:
        monday = day - timedelta(days=day.weekday())
        current = Period("week", monday, monday + timedelta(days=7), timezone)
    # The period holding ``newest`` has not ended yet; the one before it has.
    return current.previous()
