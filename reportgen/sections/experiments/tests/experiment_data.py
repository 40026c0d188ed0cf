"""A hand-made experiment log whose every count is written down here (STYLE.md rule 14).

March 2024 (UTC) is the period; February the previous one. Rules: experiment_min_sessions
20, experiment_segment_min_sessions 5, experiment_segments [loyalty_tier].

====  =========  ====================  ==================================================
id    name       variants (control)    what it checks
====  =========  ====================  ==================================================
3     Tiny       A, B (A)              5 and 6 sessions: too small
7     Search     A, B, Z (Z, named by  three arms; A equals control (p = 1); no add to
                 the experiments       cart anywhere (pooled SE 0: p null); one session
                 table)                in April: still running
10    Checkout   A, B (A: the A rule)  a real gain in ctr (ship); control never purchases
                 (lift null); booleans in every spelling; a crossover; a duplicate row
12    Banner     blue, green (blue:    control_variant Q is no variant and there is no A:
                 first in sort order)  the first variant; a 70/30 split: SRM
20    Old        A, B (A)              February only: not in the March report; a
                                       February crossover that March does not count
====  =========  ====================  ==================================================

Ids are integers, so experiments sort 3, 7, 10, 12 (as text, "10" would come first).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

SESSION_COLUMNS = (
    "experiment_id",
    "variant",
    "session_id",
    "started_at",
    "clicked",
    "added_to_cart",
    "purchased",
    "user_id",
    "revenue",
)
TRUE_SPELLINGS = ("1", "true", " TRUE ", "t", "T", "yes", "Y", "y ", 1, "Yes")
"""Ten ways the data says true (§8: 1/true/t/yes/y, any case, stripped)."""
FALSE_SPELLINGS = ("0", "false", "no", "n", "", None, "x", 2, "yes please", "f")
"""Ten ways it says anything else: false."""

RULES = {
    "experiment_min_sessions": 20,
    "experiment_segment_min_sessions": 5,
    "experiment_segments": ["loyalty_tier"],
}

# Per arm: (sessions, clicked, added_to_cart, purchased) in the March report's results.
ARMS = {
    ("3", "A"): (5, 1, 0, 0),
    ("3", "B"): (6, 3, 0, 0),
    ("7", "Z"): (30, 6, 0, 0),
    ("7", "A"): (30, 6, 0, 0),
    ("7", "B"): (30, 15, 0, 0),
    ("10", "A"): (40, 10, 4, 0),
    ("10", "B"): (40, 28, 4, 3),
    ("12", "blue"): (70, 7, 0, 0),
    ("12", "green"): (30, 9, 0, 0),
}
REVENUE = {("10", "B"): 60.0}
"""Revenue of each arm: 3 purchases of 20.00 in experiment 10's B."""
TIERS = {"u1": "Gold", "u2": "Gold", "u3": "Silver", "u4": " Silver ", "u5": None}
"""Customers (u6 has sessions but no customer row: Unknown, like sessions without a user)."""


def _flag(value: bool, index: int) -> Any:
    spellings = TRUE_SPELLINGS if value else FALSE_SPELLINGS
    return spellings[index % len(spellings)]


def session_rows() -> list[tuple[Any, ...]]:
    """Return every row of experiment_sessions."""
    rows: list[tuple[Any, ...]] = []
    users = ("u1", "u2", "u3", "u4", "u5", "u6", None)
    for (eid, variant), (n, clicked, carted, bought) in ARMS.items():
        for i in range(n):
            day = 1 + i % 28
            revenue = 20.0 if i < bought else None
            rows.append(
                (
                    int(eid),
                    variant,
                    f"{eid}-{variant}-{i}",
                    f"2024-03-{day:02d} 10:{i % 60:02d}:00",
                    _flag(i < clicked, i),
                    _flag(i < carted, i + 3),
                    _flag(i < bought, i + 5),
                    users[i % len(users)],
                    revenue,
                )
            )
    rows += [
        # A crossover (March): seen under A then B; dropped, counted once.
        (10, "A", "10-x", "2024-03-05 09:00:00", "1", "1", "1", "u1", 99.0),
        (10, "B", "10-x", "2024-03-06 09:00:00", "1", "1", "1", "u1", 99.0),
        # Experiment 7: a session after the end (April): still running; not in the results.
        (7, "B", "7-late", "2024-04-02 09:00:00", "1", "0", "0", None, None),
        # Experiment 20: February only, with a February crossover.
        *(
            (20, "A", f"20-A-{i}", f"2024-02-{1 + i:02d}", "1" if i < 2 else "0", 0, 0, None, None)
            for i in range(10)
        ),
        *(
            (20, "B", f"20-B-{i}", f"2024-02-{1 + i:02d}", "1" if i < 5 else "0", 0, 0, None, None)
            for i in range(10)
        ),
        (20, "A", "20-x", "2024-02-20", "1", 0, 0, None, None),
        (20, "B", "20-x", "2024-02-21", "1", 0, 0, None, None),
        # Unreadable started_at (whole table): in no period.
        (10, "A", "bad-1", "garbage", "1", "1", "1", None, None),
        (10, "B", "bad-2", None, "1", "1", "1", None, None),
        # No variant, no experiment: in no experiment (whole table).
        (10, None, "none-1", "2024-03-03", "1", "1", "1", None, None),
        (None, "A", "none-2", "2024-03-03", "1", "1", "1", None, None),
    ]
    return _with_duplicate(rows)


def _with_duplicate(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Make 10-A-9 unclicked and give 10-A-10 (unclicked) a second, clicked row.

    Merged, 10-A-10 is one clicked session: A still has 40 sessions and 10 clicks, one
    duplicate row, and a click that exists only in the duplicate.
    """
    out = []
    for row in rows:
        if row[2] == "10-A-9":
            row = (*row[:4], "no", *row[5:])
        out.append(row)
        if row[2] == "10-A-10":
            out.append((*row[:4], " yes ", *row[5:]))
    return out


def write_sqlite(path: Path, rows: Iterable[tuple[Any, ...]] | None = None, **tables: Any) -> Path:
    """Write the log (and the experiments and customers tables) to a new SQLite file.

    No declared column types: SQLite keeps every value as given (text stays text). A table
    given as ``False`` is left out; ``columns`` replaces the session table's columns.
    """
    with sqlite3.connect(path) as db:
        for sql, table_rows in statements(rows, tables, ""):
            if table_rows is None:
                db.execute(sql)
            elif table_rows:
                db.executemany(sql, table_rows)
    return path


def write_duckdb(path: Path, rows: Iterable[tuple[Any, ...]] | None = None, **tables: Any) -> Path:
    """Write the same tables to DuckDB, every column text (a DuckDB column has one type)."""
    con = duckdb.connect(str(path))
    try:
        for sql, table_rows in statements(rows, tables, "varchar"):
            if table_rows is None:
                con.execute(sql)
            elif table_rows:
                text = [tuple(None if v is None else str(v) for v in row) for row in table_rows]
                con.executemany(sql, text)
    finally:
        con.close()
    return path


def statements(
    rows: Iterable[tuple[Any, ...]] | None, tables: dict[str, Any], kind: str
) -> list[tuple[str, list[tuple[Any, ...]] | None]]:
    """Return (create or insert statement, rows or None for a create) for every table."""
    columns = tuple(tables.get("columns", SESSION_COLUMNS))
    sessions = [row[: len(columns)] for row in (session_rows() if rows is None else rows)]
    found: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {
        "experiment_sessions": (columns, sessions)
    }
    experiments = tables.get("experiments", EXPERIMENTS)
    if experiments is not False:
        found["experiments"] = (("experiment_id", "name", "control_variant"), experiments)
    customers = tables.get("customers", list(TIERS.items()))
    if customers is not False:
        found["customers"] = (("customer_id", "loyalty_tier"), customers)
    out: list[tuple[str, list[tuple[Any, ...]] | None]] = []
    for table, (names, table_rows) in found.items():
        listed = ", ".join(f'"{name}" {kind}'.strip() for name in names)
        out.append((f'create table "{table}" ({listed})', None))
        marks = ", ".join("?" for _ in names)
        out.append((f'insert into "{table}" values ({marks})', list(table_rows)))
    return out


EXPERIMENTS = [
    (7, "Search", "Z"),
    (10, "Checkout", None),
    (12, "Banner", "Q"),
    (12, None, None),
    (3, "Tiny", None),
]
"""The experiments table: 12 twice (each attribute's largest non-null value counts)."""
