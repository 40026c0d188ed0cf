"""Number formatting shared by the HTML, the PDF, the email and the recommendations.

Every function takes a raw metrics.json value and returns display text; ``None`` (a KPI
whose denominator was zero) is always shown as ``n/a``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

NA = "n/a"

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}


def _round(value: float, places: int) -> Decimal:
    """Round half-up, as people do on paper (not banker's rounding)."""
    quantum = Decimal(1).scaleb(-places)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def fmt_number(value: float | int | None, places: int = 0) -> str:
    """Return ``12,345`` (or ``12,345.6`` with places)."""
    if value is None:
        return NA
    return f"{_round(value, places):,.{places}f}"


def fmt_percent(value: float | None, places: int = 1) -> str:
    """Return a fraction as a percentage: 0.4123 → ``41.2%``."""
    if value is None:
        return NA
    return f"{_round(value * 100, places):,.{places}f}%"


def fmt_money(value: float | None, currency: str = "USD", places: int = 2) -> str:
    """Return ``$12,345.68``; unknown currencies get their code: ``CHF 12.00``."""
    if value is None:
        return NA
    amount = _round(value, places)
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency.upper()} {text}"


def fmt_money_short(value: float | None, currency: str = "USD") -> str:
    """Return money rounded for a headline: ``$850``, ``$12.3k``, ``$904k``, ``$1.2M``.

    Three significant figures at most; tables and CSV keep the full value (``fmt_money``).
    """
    if value is None:
        return NA
    size = abs(value)
    units = ((1e9, "bn"), (1e6, "M"), (1e3, "k"))
    for index, (divisor, suffix) in enumerate(units):
        if size < divisor:
            continue
        places = 0 if size / divisor >= 99.95 else 1
        shown = _round(size / divisor, places)
        if shown >= 1000 and index > 0:  # 999,999 is $1M, not $1,000k
            divisor, suffix = units[index - 1]
            places, shown = 1, _round(size / divisor, 1)
        text = f"{shown:,.{places}f}".removesuffix(".0")
        return _with_symbol(("-" if value < 0 else "") + text + suffix, currency)
    return fmt_money(value, currency, places=0)


def _with_symbol(amount: str, currency: str) -> str:
    negative = amount.startswith("-")
    body = amount.removeprefix("-")
    symbol = CURRENCY_SYMBOLS.get(currency)
    shown = f"{symbol}{body}" if symbol else f"{currency} {body}"
    return f"-{shown}" if negative else shown


def fmt_days(value: float | None) -> str:
    """Return a duration given in days at a readable scale.

    Under a minute in seconds (``18 s``), under an hour in minutes (``19 min``), under a
    day in hours (``5.3 h``), else in days (``2.35 days``): a median of "0.01 days" tells
    a reader nothing.
    """
    if value is None:
        return NA
    size = abs(value)
    if 0 < size < 1 / 1440:  # under a minute: a change of "+0 min" says nothing
        return f"{_round(value * 86400, 0):,.0f} s"
    if size < 1 / 24:
        return f"{_round(value * 24 * 60, 0):,.0f} min"
    if size < 1:
        return f"{_round(value * 24, 1):,.1f} h"
    return f"{_round(value, 2):,.2f} days"


def fmt_delta(
    current: float | None,
    previous: float | None,
    kind: str = "number",
    currency: str = "USD",
    *,
    inside_brackets: bool = False,
) -> str:
    """Return the change from ``previous`` to ``current``.

    Rates change in percentage points (``+1.2 pp``); counts and money in absolute terms
    with the relative change (``+120 (+4.3%)``; ``inside_brackets``, for a sentence that
    already has them: ``+120, +4.3%``). Missing either side gives ``n/a``.
    """
    if current is None or previous is None:
        return NA
    change = current - previous
    if kind == "rate":
        points = _round(change * 100, 1)
        return f"{'+' if points >= 0 else ''}{points:,.1f} pp"
    if kind == "money":
        absolute = fmt_money(change, currency)
        absolute = absolute if change < 0 else f"+{absolute}"
    elif kind == "days":
        absolute = f"{'+' if change >= 0 else ''}{fmt_days(change)}"
    else:
        absolute = f"{'+' if change >= 0 else ''}{fmt_number(change)}"
    if previous == 0:
        return absolute
    relative = _round(change / abs(previous) * 100, 1)
    share = f"{'+' if relative >= 0 else ''}{relative:,.1f}%"
    return f"{absolute}, {share}" if inside_brackets else f"{absolute} ({share})"


def fmt_value(value: float | None, kind: str, currency: str = "USD") -> str:
    """Format by kind: ``rate``, ``money``, ``days`` or ``number``."""
    if kind == "rate":
        return fmt_percent(value)
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "days":
        return fmt_days(value)
    return fmt_number(value)


MISSING_TEXT = "—"
EN_DASH = "\u2013"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fmt_text(value: object) -> str:
    """Return a label or id as text; a missing one (``None`` or blank) is ``—``."""
    if value is None:
        return MISSING_TEXT
    text = str(value).strip()
    return text or MISSING_TEXT


_CATEGORY_ACRONYMS = frozenset({"tv", "pc", "usb", "cpu", "gpu", "ram", "ssd", "hdd", "dvd", "led"})
"""Category words written in capitals; a word without a vowel (``hdd``) is one too."""


CATEGORY_SEPARATOR = " \u203a "
"""Between the levels of a category (a single right-pointing angle quotation mark)."""


def fmt_category(value: object) -> str:
    """Return a dotted category code as a reader names it: ``computers.components.hdd`` is
    "Computers \u203a Components \u203a HDD" (underscores become spaces). The code itself stays in
    metrics.json; text that is not a code (``Unknown``, "Home & Garden") is kept as is."""
    text = fmt_text(value)
    if text == MISSING_TEXT or text != text.lower() or " " in text:
        return text

    def word(part: str) -> str:
        if part in _CATEGORY_ACRONYMS or (part.isalpha() and not set(part) & set("aeiouy")):
            return part.upper()
        return part[:1].upper() + part[1:]

    parts = [" ".join(word(w) for w in part.split("_") if w) for part in text.split(".")]
    return CATEGORY_SEPARATOR.join(part for part in parts if part) or text


def _as_datetime(value: str | date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def fmt_date(value: str | date | datetime | None, year: bool = True) -> str:
    """Return ``1 Oct 2026`` (or ``1 Oct`` without the year) from a date or ISO text."""
    if value is None:
        return NA
    moment = _as_datetime(value)
    text = f"{moment.day} {_MONTHS[moment.month - 1]}"
    return f"{text} {moment.year}" if year else text


def fmt_datetime(value: str | datetime | None) -> str:
    """Return ``2 Nov 2026 06:00``, with the zone's abbreviation when the time is aware."""
    if value is None:
        return NA
    moment = _as_datetime(value)
    text = f"{fmt_date(moment)} {moment:%H:%M}"
    zone = moment.tzname() if moment.tzinfo else None
    return f"{text} {zone}" if zone else text


def fmt_date_range(start: str | date | datetime | None, end: str | date | datetime | None) -> str:
    """Return a half-open period as people say it: ``1 Oct 2026 - 31 Oct 2026``
    (with an en dash).

    An end at midnight is exclusive, so the last day shown is the day before it.
    """
    if start is None or end is None:
        return NA
    first, stop = _as_datetime(start), _as_datetime(end)
    if stop.time() == time(0) and stop > first:
        last = (stop - timedelta(days=1)).date()
        if last <= first.date():
            return fmt_date(first)
        return f"{fmt_date(first)} {EN_DASH} {fmt_date(last)}"
    return f"{fmt_datetime(first)} {EN_DASH} {fmt_datetime(stop)}"


def fmt_count(value: object) -> str:
    """Return a count from the config as text (a number grouped, anything else as is)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fmt_number(value)
    return str(value)


def fmt_rule_value(value: object) -> str:
    """Return a rule's value as the config would spell it, lists comma-separated."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {fmt_rule_value(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(fmt_rule_value(item) for item in value) or "none"
    return str(value)


_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def fmt_period_name(period: Mapping[str, Any] | None) -> str:
    """Return a period as a reader names it: ``October 2026``, ``Week 47, 2026``,
    ``1 Dec 2025 - 30 Nov 2026`` with an en dash (a custom window), ``December 2026 to date``."""
    if not period:
        return NA
    kind, start = period.get("kind"), period.get("start")
    if start is None:
        return str(period.get("label") or NA)
    first = _as_datetime(start)
    if kind == "month":
        name = f"{_MONTH_NAMES[first.month - 1]} {first.year}"
    elif kind == "week":
        year, week, _ = first.isocalendar()
        name = f"Week {week}, {year}"
    else:
        return fmt_date_range(start, period.get("end"))
    return f"{name} to date" if period.get("to_date") else name


def fmt_day_span(first: date, last: date, year: bool = False) -> str:
    """Return the days ``first`` to ``last`` inclusive as people say them: ``1-4 Nov``,
    ``28 Nov-3 Dec`` (with an en dash), ``5 Oct`` (one day); ``year`` adds it to the last day."""
    end = fmt_date(last, year=year)
    if first == last:
        return end
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}{EN_DASH}{end}"
    return f"{fmt_date(first, year=year and first.year != last.year)}{EN_DASH}{end}"


def fmt_period_label(label: object) -> str:
    """Return a metrics.json period label as a reader names it: ``2026-10`` → ``October
    2026``, ``2026-W48`` → ``Week 48, 2026``, the half-open custom key
    ``2025-12-01..2026-12-01`` → ``1 Dec 2025 - 30 Nov 2026`` (the last day, inclusive)."""
    text = str(label or "")
    try:
        if ".." in text:
            start, end = text.split("..", 1)
            return fmt_date_range(start, end)
        if len(text) == 7 and text[4] == "-":
            return f"{_MONTH_NAMES[int(text[5:]) - 1]} {text[:4]}"
        if len(text) == 8 and text[4:6] == "-W":
            return f"Week {int(text[6:])}, {text[:4]}"
    except (ValueError, IndexError):
        return text or NA
    return text or NA


DURATION_UNITS = (("s", 86400.0), ("min", 1440.0), ("h", 24.0), ("days", 1.0))
"""Duration units and how many of each make a day, smallest first."""


def duration_unit(values: Sequence[float | None]) -> str:
    """Return the one unit a figure showing all ``values`` (in days) uses: the unit
    ``fmt_days`` would choose for the largest of them, so no value reads ``0.0 days`` and
    none mixes ``23.1 h`` with ``1.11 days``."""
    sizes = [abs(value) for value in values if value is not None]
    largest = max(sizes, default=0.0)
    if largest >= 1:
        return "days"
    if largest >= 1 / 24:
        return "h"
    if largest >= 1 / 1440 or largest == 0:
        return "min"
    return "s"


def fmt_duration(value: float | None, unit: str, places: int | None = None) -> str:
    """Return a duration given in days in ``unit`` (one of ``DURATION_UNITS``): ``0.96
    days``, ``23.1 h``; ``places`` defaults to 2 for days, 1 for hours, 0 below."""
    if value is None:
        return NA
    per_day = dict(DURATION_UNITS)[unit]
    shown = 2 if unit == "days" else 1 if unit == "h" else 0
    digits = shown if places is None else places
    return f"{_round(value * per_day, digits):,.{digits}f} {unit}"


def fmt_month(month: object) -> str:
    """Return ``Nov 2026`` for ``2026-11`` (the text itself when it is not a month)."""
    text = str(month or "")
    if len(text) == 7 and text[4] == "-" and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return f"{_MONTHS[int(text[5:]) - 1]} {text[:4]}"
    return text or "?"
