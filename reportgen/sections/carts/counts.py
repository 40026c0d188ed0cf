"""The cart counts behind the KPIs, for every period of the window in one grouped pass.

A report reads two periods (``prev``, ``cur``) and a history twelve: both ask the same
grouped queries, so a history's values are a report's by construction.
"""

from __future__ import annotations

from typing import Any

from reportgen.source.query import rows

NO_CARTS = {
    "total": 0,
    "converted": 0,
    "abandoned": 0,
    "open": 0,
    "other": 0,
    "abandoned_value": None,
    "converted_value": None,
}
NO_ABANDONERS = {"abandoners": 0, "reengaged": 0}


def cart_counts(conn) -> dict[str, dict[str, Any]]:
    """Return ``which`` → carts by status and the abandoned and converted value."""
    found = rows(
        conn,
        """
        select which, count(*) as total,
               sum(case when status_rank = 1 then 1 else 0 end) as converted,
               sum(case when status_rank = 2 then 1 else 0 end) as abandoned,
               sum(case when status_rank = 3 then 1 else 0 end) as open,
               sum(case when status_rank = 4 then 1 else 0 end) as other,
               sum(case when status_rank = 2 then value else 0 end) as abandoned_value,
               sum(case when status_rank = 1 then value else 0 end) as converted_value
        from rg_pc group by which
    """,
    )
    return {row.pop("which"): row for row in found}


def abandoner_counts(conn) -> dict[str, dict[str, Any]]:
    """Return ``which`` → abandoners and how many were re-engaged."""
    found = rows(
        conn,
        """
        select which, count(*) as abandoners, coalesce(sum(reengaged), 0) as reengaged
        from rg_abandoners group by which
    """,
    )
    return {row.pop("which"): row for row in found}
