"""How the event section reads METRICS.md §4 and §8, in plain English (Assumptions appendix)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportgen.render.formatters import fmt_number


def event_readings(metrics: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the fixed readings behind the event figures."""
    rules = metrics.get("rules") or {}
    views = fmt_number(rules.get("zero_purchase_min_views", 200))
    return [
        {
            "name": "Event cleaning",
            "meaning": (
                "In order: exact duplicate rows are removed (identical in every canonical "
                "column, as stored); then rows with a missing or non-positive price, or a "
                "non-positive quantity; then rows whose type, trimmed and lower-cased, no "
                "funnel step lists. A missing quantity is 1; a missing or empty brand or "
                "category is Unknown. Rows whose event_time cannot be read are counted "
                "under Data quality and placed in no period."
            ),
        },
        {
            "name": "Users, sessions and transactions",
            "meaning": (
                "Users and sessions are distinct non-empty ids. A transaction is a distinct "
                "(user, session) pair with a purchase, a missing session counting as one. "
                "Events without a user count in totals and revenue but in no user figure; "
                "events without a product in no product table."
            ),
        },
        {
            "name": "Event rates",
            "meaning": (
                "Funnel rates divide user counts: cart users by view users, purchasing users "
                "by cart users, even where a user skipped a step (a rate can exceed 100%). "
                "Average order value is revenue per purchase event; revenue is price times "
                "quantity of purchase events."
            ),
        },
        {
            "name": "User segments",
            "meaning": (
                "View only: no cart and no purchase (a user with only removals included). "
                "Cart abandoners: a cart, no purchase. Single and multi purchase: one, or two "
                "or more, transactions. High value: the top tenth (rounded up) of purchasing "
                "users by revenue; it overlaps the two before."
            ),
        },
        {
            "name": "Abandonment and alerts",
            "meaning": (
                "Abandoned brands count the cart events of cart abandoners; an abandoned "
                "product is a (user, product) pair with a cart event and no purchase of that "
                "product, valued at its highest cart price. Products with at least "
                f"{views} views and no purchase in the period are listed as never bought."
            ),
        },
        {
            "name": "Hours and days",
            "meaning": (
                "Hour, weekday (Monday first) and month buckets use local wall-clock time; "
                "every bucket is listed, empty ones as zeros."
            ),
        },
    ]
