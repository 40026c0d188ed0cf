"""Number formatting shared by the HTML, the PDF, the email and the recommendations.

Every function takes a raw metrics.json value and returns display text; ``None`` (a KPI
whose denominator was zero) is always shown as ``n/a``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

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


def fmt_days(value: float | None) -> str:
    """Return a duration in days: ``0.42 days``."""
    if value is None:
        return NA
    return f"{_round(value, 2):,.2f} days"


def fmt_delta(
    current: float | None, previous: float | None, kind: str = "number", currency: str = "USD"
) -> str:
    """Return the change from ``previous`` to ``current``.

    Rates change in percentage points (``+1.2 pp``); counts and money in absolute terms
    with the relative change (``+120 (+4.3%)``). Missing either side gives ``n/a``.
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
    return f"{absolute} ({'+' if relative >= 0 else ''}{relative:,.1f}%)"


def fmt_value(value: float | None, kind: str, currency: str = "USD") -> str:
    """Format by kind: ``rate``, ``money``, ``days`` or ``number``."""
    if kind == "rate":
        return fmt_percent(value)
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "days":
        return fmt_days(value)
    return fmt_number(value)
