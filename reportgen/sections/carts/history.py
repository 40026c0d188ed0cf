"""The headline cart KPIs of many periods at once (``Section.history``, the cover's trends).

The window's carts are prepared once, as a report prepares its two periods, and the same
grouped queries answer every period: the values are those ``compute`` gives, period by
period, without rebuilding the scratch tables for each pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reportgen.config import Config
from reportgen.periods import Period
from reportgen.sections.carts.counts import (
    NO_ABANDONERS,
    NO_CARTS,
    abandoner_counts,
    cart_counts,
)
from reportgen.sections.carts.kpis import CART_KPIS
from reportgen.sections.carts.prepare import prepare
from reportgen.sections.carts.time_to_order import median_delays
from reportgen.sections.carts.whole_table import date_only
from reportgen.source.connection import Source
from reportgen.source.sqlexpr import Expr
from reportgen.source.values import money, ratio

HEADLINE = tuple(spec.key for spec in CART_KPIS if spec.headline)


def history(source: Source, config: Config, periods: Sequence[Period]) -> dict[str, list[Any]]:
    """Return each headline KPI's value in each of ``periods`` (contiguous, oldest first)."""
    if not periods:
        return {key: [] for key in HEADLINE}
    expr = Expr(source.dialect, config.report.timezone)
    window = [(str(index), period) for index, period in enumerate(periods)]
    prepared = prepare(
        source, expr, config, window, lambda: date_only(source, expr), headlines=True
    )
    conn = source.connection
    carts, abandoners = cart_counts(conn), abandoner_counts(conn)
    medians = median_delays(conn, expr, config, prepared)
    found: dict[str, list[Any]] = {key: [] for key in HEADLINE}
    for which, _ in window:
        counts = carts.get(which, NO_CARTS)
        people = abandoners.get(which, NO_ABANDONERS)
        values = {
            "carts.carts_total": counts["total"] or 0,
            "carts.cart_conversion_rate": ratio(counts["converted"] or 0, counts["total"]),
            "carts.abandonment_rate": ratio(counts["abandoned"] or 0, counts["total"]),
            "carts.abandoned_cart_value": money(counts["abandoned_value"]),
            "carts.reengagement_rate": ratio(people["reengaged"], people["abandoners"]),
            "carts.median_time_to_order_days": medians[which],
        }
        for key in HEADLINE:
            found[key].append(values[key])
    return found
