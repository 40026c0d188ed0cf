"""The hand-made shop of the marketing tests: tables, a SQLite writer, a metrics runner.

Its story (customers, orders, campaigns) is told in test_marketing_handmade.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportgen.config import config_from_dict
from reportgen.periods import Period, month_period
from reportgen.report.metrics import compute_metrics

ORDER_COLUMNS = (
    "order_id",
    "customer_id",
    "order_date",
    "order_total",
    "status",
    "campaign_id",
    "discount_code",
)
ORDERS = [
    ("o1", "A", "2023-11-15", 100, "completed", None, None),
    ("o2", "A", "2024-02-10 09:00", 40, "completed", "CX", None),
    ("o3", "A", "2024-03-05 10:00", 60, " Completed", "CX", "SAVE10"),
    ("o4", "A", "2024-03-20 18:30", None, "shipped", "CX", None),
    ("o5", "B", "2024-01-05", 30, "completed", None, None),
    ("o6", "B", "2024-02-14T12:00:00", 25, None, None, None),
    ("o7", "B", "2024-03-31 23:59:59", 80, "ABANDONED", "CY", " "),
    ("o8", "C", "2024-02-01", 70, "", None, "WELCOME"),
    ("o9", "D", "2024-03-10", 20, "completed", "CZ", "WELCOME"),
    ("o10", "D", "2024-04-01 00:00:00", 500, "completed", "CX", None),
    ("o11", "E", "2024-01-20", 15, "completed", None, None),
    ("o12", "F", "2024-03-15", 35, "Abandoned ", "CQ", None),
    ("o13", None, "2024-03-12 08:00", 50, "completed", "CY", None),
    ("o14", "G", "not a date", 999, "completed", "CX", None),
    ("o15", "H", "2024-02-29 23:59:59", 10, "emptied", None, None),
]
CAMPAIGN_COLUMNS = ("campaign_id", "name", "channel")
CAMPAIGNS = [
    ("CX", "Spring email", " Email "),
    ("CX", None, "Email"),  # a duplicate row: each attribute's maximum non-null value
    ("CY", "Social push", "Paid Social"),
    ("CZ", None, "Search"),
    ("CV", "Unused", "Display"),  # no activity, no order: not listed
]
ACTIVITY_COLUMNS = ("campaign_id", "activity_date", "clicks", "cost", "impressions")
ACTIVITY = [
    ("CX", "2024-03-01", 100, 50, 1000),
    ("CX", "2024-03-15", 50, 25, 500),
    ("CX", "2024-02-20", 999, 999, 9999),  # the previous month
    ("CX", "2024-13-01", 1, 1, 1),  # no such month: unparsed
    ("CY", "2024-03-02", 0, 10, 200),  # zero clicks
    ("CZ", "2024-03-03", 20, 0, 0),  # zero cost, zero impressions
    ("CW", "2024-03-04 12:00", 5, 2.5, None),  # no campaigns row, no order
]
TABLES: dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]] = {
    "orders": (ORDER_COLUMNS, ORDERS),
    "campaigns": (CAMPAIGN_COLUMNS, CAMPAIGNS),
    "campaign_activity": (ACTIVITY_COLUMNS, ACTIVITY),
}
MARCH = month_period("2024-03")


def write_sqlite(
    path: Path, tables: dict[str, tuple[Sequence[str], list[tuple[Any, ...]]]]
) -> Path:
    """Write tables with no declared column types (SQLite keeps each value as given)."""
    with sqlite3.connect(path) as db:
        for name, (columns, rows) in tables.items():
            db.execute(f'create table "{name}" ({", ".join(columns)})')
            marks = ", ".join("?" for _ in columns)
            db.executemany(f'insert into "{name}" values ({marks})', rows)
    return path


def metrics_of(url: str, period: Period = MARCH, **config: Any) -> dict[str, Any]:
    cfg = config_from_dict({"source": {"url": url}, **config})
    return compute_metrics(cfg, period)
