"""Hand-computed checks of the event section against METRICS.md §1, §2, §4, §7 and §8.

One small event log (``LOG``, rows numbered #01-#53 in the period plus a few around it)
is read from SQLite, from CSV and from Parquet, and every KPI and table of §4 is checked
against answers worked out by hand in the comments (STYLE.md rule 14). The names of the
keys are those of docs/metrics-events.md.

The period is January 2021 in UTC unless a test says otherwise. 2021-01-01 is a Friday,
so Monday = 4, 11, 18, 25; Tuesday = 5, 12, 19; Wednesday = 6, 13; Thursday = 7, 14;
Friday = 1, 8, 15; Saturday = 2, 9, 16; Sunday = 3, 10, 17, 31. The previous period is
December 2020. Rules: ``top_n`` 4, ``zero_purchase_min_views`` 3, default event types.
Prices are multiples of 0.5 so every sum is exact in binary floating point and the three
sources can agree to the last bit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics

COLUMNS = (
    "event_time",
    "event_type",
    "user_id",
    "session_id",
    "product_id",
    "price",
    "category_code",
    "brand",
    "quantity",
    "note",  # not a canonical column: it never makes two rows different
)

PHONE = "electronics.phone"
KITCHEN = "appliances.kitchen"
SHOES = "apparel.shoes"
AUDIO = "computers.audio"

OUTSIDE = [
    # December 2020, the previous period: users 1, 2; sessions x1, x2.
    ("2020-12-01 00:00:00", "view", 1, "x1", 9, 50.0, PHONE, "acme", 1, None),
    ("2020-12-10 10:00:00", "cart", 1, "x1", 9, 50.0, PHONE, "acme", 1, None),
    ("2020-12-10 10:05:00", "purchase", 1, "x1", 9, 50.0, PHONE, "acme", 1, None),
    ("2020-12-20 12:00:00", "view", 2, "x2", 10, 50.0, KITCHEN, "zeta", 1, None),
    ("2020-12-31 23:59:59", "cart", 2, "x2", 10, 50.0, KITCHEN, "zeta", 1, None),
    # Just outside: the period end is exclusive; November is before the previous period.
    ("2021-02-01 00:00:00", "purchase", 1, "y1", 9, 50.0, PHONE, "acme", 1, None),
    ("2020-11-30 23:59:59", "purchase", 2, "y2", 10, 50.0, KITCHEN, "zeta", 1, None),
    # Unparsed event_time (in no period, counted over the whole table): 3 rows.
    ("garbage", "purchase", 1, "w1", 9, 50.0, PHONE, "acme", 1, None),
    (None, "view", 2, "w2", 10, 50.0, KITCHEN, "zeta", 1, None),
    ("2021/01/05 10:00:00", "view", 3, "w3", 11, 20.0, SHOES, "beta", 1, None),
]

PERIOD_ROWS = [
    # user 1: two transactions (a1, a2) -> multi_purchase; revenue 100 + 20 = 120
    ("2021-01-04 10:00:00", "view", 1, "a1", 9, 50.0, PHONE, "acme", None, None),  # 01
    ("2021-01-04 10:05:00", "add_to_cart", 1, "a1", 9, 50.0, PHONE, "acme", 2, None),  # 02
    ("2021-01-04 10:10:00", "purchase", 1, "a1", 9, 50.0, PHONE, "acme", 2, "first"),  # 03 100
    ("2021-01-04 10:10:00", "purchase", 1, "a1", 9, 50.0, PHONE, "acme", 2, "again"),  # 04 dup
    ("2021-01-05T11:00:00", "purchase_cart", 1, "a2", 11, 20.0, SHOES, "beta", None, None),  # 05
    # user 2: ' View' and 'view' differ as stored -> both kept; revenue 100
    ("2021-01-05 12:00:00", " View", 2, "b1", 10, 50.0, KITCHEN, "zeta", 1, None),  # 06
    ("2021-01-05 12:00:00", "view", 2, "b1", 10, 50.0, KITCHEN, "zeta", 1, None),  # 07
    ("2021-01-05 12:10:00", "cart", 2, "b1", 10, 50.0, KITCHEN, "zeta", 1, None),  # 08
    ("2021-01-05 12:20:00", "PURCHASE", 2, "b1", 10, 50.0, KITCHEN, "zeta", 2, None),  # 09 100
    # user 3: a NULL-price view and its duplicate; carts product 9 and buys product 11
    ("2021-01-06 09:30", "view", 3, "c1", 11, None, SHOES, "beta", 1, None),  # 10 bad price
    ("2021-01-06 09:30", "view", 3, "c1", 11, None, SHOES, "beta", 1, None),  # 11 dup
    ("2021-01-06 09:40:00", "cart", 3, "c1", 9, 10.0, PHONE, "acme", 1, None),  # 12
    ("2021-01-06 09:45:00.250000", "purchase", 3, "c1", 11, 20.0, SHOES, "beta", 3, None),  # 13
    # user 4: NULL quantity is not 1 for dedup -> two purchases of 10 in one transaction
    ("2021-01-07 08:00:00 UTC", "purchase", 4, "d1", 12, 10.0, None, None, None, None),  # 14
    ("2021-01-07 08:00:00 UTC", "purchase", 4, "d1", 12, 10.0, None, None, 1, None),  # 15
    # user 5: transactions (5, e1) and (5, NULL) -> multi_purchase
    ("2021-01-07T08:30:00Z", "purchase", 5, "e1", 12, 10.0, " ", "  ", 1, None),  # 16
    ("2021-01-07 09:40:00+01:00", "purchase", 5, None, 13, 5.0, PHONE, "acme", 1, None),  # 17
    # user 6: a date-only value is 00:00; a zero price is removed
    ("2021-01-08", "purchase", 6, "f1", 13, 5.0, PHONE, "acme", 2, None),  # 18 10
    ("2021-01-08 01:00:00", "purchase", 6, "f1", 13, 0.0, PHONE, "acme", 1, None),  # 19 bad
    ("2021-01-09 14:00:00", "purchase", 7, "g1", 11, 20.0, SHOES, "beta", 1, None),  # 20
    # user 16 has only a negative price: removed, so no user
    ("2021-01-09 15:00:00", "purchase", 16, "p1", 9, -50.0, PHONE, "acme", 1, None),  # 21 bad
    ("2021-01-10 16:00:00", "purchase", 8, "h1", 13, 5.0, PHONE, "acme", 1, None),  # 22
    ("2021-01-10 16:05:00", "purchase", 8, "h1", 13, 5.0, PHONE, "acme", 0, None),  # 23 bad qty
    ("2021-01-11 17:00:00", "purchase", 9, "i1", 12, 10.0, None, "", 1, None),  # 24
    # user 10: product 22 viewed 3 times but bought -> not a zero-purchase product
    ("2021-01-12 18:00:00", "view", 10, "j1", 22, 2.5, AUDIO, "beta", 1, None),  # 25
    ("2021-01-12 18:01:00", "view", 10, "j1", 22, 2.5, AUDIO, "beta", 1, None),  # 26
    ("2021-01-12 18:02:00", "view", 10, "j1", 22, 2.5, AUDIO, "beta", 1, None),  # 27
    ("2021-01-12 18:05:00", "purchase", 10, "j1", 22, 2.5, AUDIO, "beta", 2, None),  # 28 5
    # user 11: a purchase with a NULL product_id (and a NULL category_code)
    ("2021-01-13 19:00:00", "purchase", 11, "k1", None, 15.0, None, "acme", 1, None),  # 29
    # user 12: cart abandoner (20: 30 x 2 and 35 x 1; 11: 20 x 1)
    ("2021-01-14 20:00:00", "view", 12, "l1", 20, 30.0, KITCHEN, "zeta", 1, None),  # 30
    ("2021-01-14 20:05:00", "add_to_cart", 12, "l1", 20, 30.0, KITCHEN, "zeta", 2, None),  # 31
    ("2021-01-14 20:10:00", "cart", 12, "l1", 11, 20.0, SHOES, "beta", 1, None),  # 32
    ("2021-01-14 20:15:00", "cart", 12, "l1", 20, 35.0, KITCHEN, "zeta", 1, None),  # 33
    # user 15: cart abandoner (20: 30 x 1; 12 with no brand: 10 x NULL = 10)
    ("2021-01-15 21:00:00", "cart", 15, "o1", 20, 30.0, KITCHEN, "zeta", 1, None),  # 34
    # 35: a remove (not a cart event)
    ("2021-01-15 21:05:00", "remove_from_cart", 15, "o1", 20, 30.0, KITCHEN, "zeta", 1, None),
    ("2021-01-15 21:10:00", "cart", 15, "o1", 12, 10.0, None, None, None, None),  # 36
    # user 13: views only -> view_only (their 'wishlist' row #49 is removed)
    ("2021-01-16 22:00:00", "view", 13, "m1", 20, 30.0, KITCHEN, "zeta", 1, None),  # 37
    ("2021-01-16 22:05:00", "view", 13, "m1", 100, 8.0, SHOES, "beta", 1, None),  # 38
    ("2021-01-16 22:06:00", "view", 13, "m1", 100, 8.0, SHOES, "beta", 1, None),  # 39
    ("2021-01-16 22:07:00", "view", 13, "m1", 100, 8.0, SHOES, "beta", 1, None),  # 40
    ("2021-01-16 22:08:00", "view", 13, "m1", 21, 8.0, SHOES, "beta", 1, None),  # 41
    ("2021-01-16 22:10:00", "view", 13, "m1", None, 1.0, None, None, 1, None),  # 42
    ("2021-01-16 22:11:00", "view", 13, "m1", None, 1.0, None, None, 1, None),  # 43
    ("2021-01-16 22:12:00", "view", 13, "m1", None, 1.0, None, None, 1, None),  # 44
    # user 14: only a remove -> view_only
    ("2021-01-17 23:00:00", "remove", 14, "n1", 9, 50.0, PHONE, "acme", 1, None),  # 45
    # NULL user: in totals, revenue, sessions, transactions; in no user count
    ("2021-01-18 07:00:00", "view", None, "z1", 20, 30.0, KITCHEN, "zeta", 1, None),  # 46
    ("2021-01-18 07:05:00", "cart", None, "z1", 10, 50.0, KITCHEN, "zeta", 1, None),  # 47
    ("2021-01-18 07:10:00", "purchase", None, "z1", 13, 5.0, PHONE, "acme", 2, None),  # 48 10
    # unmapped types: 'wishlist' x 2 (user 17 has nothing else), NULL x 1
    ("2021-01-19 06:00:00", "wishlist", 13, "m2", 9, 50.0, PHONE, "acme", 1, None),  # 49
    ("2021-01-19 06:05:00", " WishList ", 17, "q1", 10, 50.0, KITCHEN, "zeta", 1, None),  # 50
    ("2021-01-19 06:10:00", None, 12, "l2", 11, 20.0, SHOES, "beta", 1, None),  # 51
    # the period's last second and first instant
    ("2021-01-31 23:59:59", "view", 11, "k2", 9, 50.0, PHONE, "acme", 1, None),  # 52
    ("2021-01-01 00:00:00", "view", 7, "g0", 11, 20.0, SHOES, "beta", 1, None),  # 53
]

LOG = OUTSIDE + PERIOD_ROWS

RULES = {"top_n": 4, "zero_purchase_min_views": 3}

SOURCES = ("sqlite", "csv", "parquet")

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

EVENT_KPI_KEYS = {
    "events.users",
    "events.sessions",
    "events.views",
    "events.carts",
    "events.removes",
    "events.purchases",
    "events.transactions",
    "events.revenue",
    "events.aov",
    "events.revenue_per_transaction",
    "events.user_conversion_rate",
    "events.view_to_cart_rate",
    "events.cart_to_purchase_rate",
    "events.overall_conversion_rate",
    "events.cart_to_purchase_event_rate",
}


NAMELESS = {"name": None, "category": None}
"""A product row's name and category where the source has no products table."""


def num(value: float) -> Any:
    """Rates and shares are compared as floats."""
    return pytest.approx(value, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- writing sources


def _write_sqlite(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # No declared types: SQLite keeps every value as given.
    db = sqlite3.connect(path)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        db.execute(f"create table events ({names})")
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"insert into events values ({marks})", rows)
        db.commit()
    finally:
        db.close()


def _csv_field(value: Any) -> str:
    # Text is always quoted (keeps ' View' and '  '); NULL is an empty field.
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return repr(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    lines = [",".join(columns)] + [",".join(_csv_field(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_parquet(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # pyarrow is not installed: let DuckDB read the CSV (event_time kept as text) and copy.
    csv_path = path.with_suffix(".src.csv")
    _write_csv(csv_path, columns, rows)
    duckdb.sql(
        f"copy (select * from read_csv_auto('{csv_path}', types = {{'event_time': 'VARCHAR'}})) "
        f"to '{path}' (format parquet)"
    )


def write_source(
    folder: Path, kind: str, rows: Sequence[Sequence[Any]], columns: Sequence[str] = COLUMNS
) -> dict[str, Any]:
    """Write ``rows`` as canonical table ``events`` and return the config's ``source``."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        path = folder / "events.db"
        _write_sqlite(path, columns, rows)
        return {"url": f"sqlite:///{path}"}
    if kind == "csv":
        path = folder / "events.csv"
        _write_csv(path, columns, rows)
        return {"files": {"events": str(path)}}
    path = folder / "events.parquet"
    _write_parquet(path, columns, rows)
    return {"files": {"events": str(path)}}


def run(
    source: dict[str, Any],
    month: str = "2021-01",
    timezone: str = "UTC",
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the metrics.json dict of one month."""
    data = {
        "source": source,
        "report": {"timezone": timezone},
        "rules": RULES if rules is None else rules,
    }
    config = config_from_dict(data)  # every path in ``source`` is absolute
    return compute_metrics(config, month_period(month, timezone=timezone))


def events_kpis(kpis: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kpis.items() if k.startswith("events.")}


def without_columns(dropped: set[str]) -> tuple[tuple[str, ...], list[tuple]]:
    """Return the log's columns and rows with ``dropped`` columns removed."""
    keep = [i for i, c in enumerate(COLUMNS) if c not in dropped]
    return tuple(COLUMNS[i] for i in keep), [tuple(row[i] for i in keep) for row in LOG]


@pytest.fixture(scope="module")
def all_metrics(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """The main log's January metrics from each source, computed once."""
    out = {}
    for kind in SOURCES:
        folder = tmp_path_factory.mktemp(f"log_{kind}")
        out[kind] = run(write_source(folder, kind, LOG))
    return out


@pytest.fixture(params=SOURCES)
def m(request, all_metrics) -> dict[str, Any]:
    return all_metrics[request.param]


# --------------------------------------------------------------------------- the three sources


def test_three_sources_give_identical_metrics(all_metrics):
    assert all_metrics["csv"] == all_metrics["sqlite"]
    assert all_metrics["parquet"] == all_metrics["sqlite"]


def test_only_carts_are_skipped(m):
    # No carts tables: the cart section is skipped; nothing of the event section is.
    sections = [s["section"] for s in m["skipped"]]
    assert "carts" in sections
    assert not [s for s in sections if s.startswith("events")]
    assert m["period"]["label"] == "2021-01"
    assert m["previous_period"]["label"] == "2020-12"
    assert m["rules"]["top_n"] == 4
    assert m["rules"]["zero_purchase_min_views"] == 3


# --------------------------------------------------------------------------- cleaning


def test_pipeline_and_data_quality(m):
    assert m["tables"]["events.pipeline"] == [
        {"stage": "raw", "rows": 53},  # #01-#53 (Dec, Nov, Feb 1 and unparsed are out)
        {"stage": "deduplicated", "rows": 51},  # - #04 (only `note` differs), - #11
        {"stage": "valid_price", "rows": 47},  # - #10 NULL, #19 zero, #21 negative, #23 qty 0
        {"stage": "mapped_type", "rows": 44},  # - #49, #50 'wishlist', #51 NULL
        {"stage": "clean", "rows": 44},
    ]
    dq = {k: v for k, v in m["data_quality"].items() if k.startswith("events.")}
    assert dq == {
        "events.unparsed_event_time": 3,  # 'garbage', NULL, '2021/01/05 10:00:00'
        "events.duplicates_removed": 2,  # #04, #11
        "events.bad_price_removed": 4,  # #10, #19, #21, #23
        "events.unmapped_removed": 3,  # #49, #50, #51
        "events.unmapped_types": {"wishlist": 2, "NULL": 1},  # ' WishList ' -> 'wishlist'
        "events.table_rows": 63,  # 10 OUTSIDE + 53 PERIOD_ROWS
        "events.period_rows": 53,  # the raw stage
        "events.future_event_time": 0,  # nothing after the build's clock
        "events.first_event_time": "2020-11-30 23:59:59",  # the November purchase
        "events.last_event_time": "2021-02-01 00:00:00",  # the 1 Feb purchase
    }


# --------------------------------------------------------------------------- KPIs


def test_kpis(m):
    assert set(events_kpis(m["kpis"])) == EVENT_KPI_KEYS
    assert events_kpis(m["kpis"]) == {
        # users 1-15 (16 and 17 only have removed rows; the NULL user is no user)
        "events.users": 15,
        # a1 a2 b1 c1 d1 e1 f1 g1 h1 i1 j1 k1 l1 o1 m1 n1 z1 k2 g0 (#17's NULL not counted)
        "events.sessions": 19,
        # #01 06 07 25 26 27 30 37 38 39 40 41 42 43 44 46 52 53
        "events.views": 18,
        "events.carts": 9,  # #02 08 12 31 32 33 34 36 47
        "events.removes": 2,  # #35 45
        # #03 05 09 13 14 15 16 17 18 20 22 24 28 29 48
        "events.purchases": 15,
        # (1,a1) (1,a2) (2,b1) (3,c1) (4,d1) (5,e1) (5,NULL) (6,f1) (7,g1) (8,h1) (9,i1)
        # (10,j1) (11,k1) (NULL,z1)
        "events.transactions": 14,
        # 100 + 20 + 100 + 60 + 10 + 10 + 10 + 5 + 10 + 20 + 5 + 10 + 5 + 15 + 10
        "events.revenue": 390.0,
        "events.aov": 26.0,  # 390 / 15
        "events.revenue_per_transaction": num(390 / 14),  # 27.857...
        # purchasing users 1-11 / users 15
        "events.user_conversion_rate": num(11 / 15),
        # cart users {1,2,3,12,15} / view users {1,2,7,10,11,12,13}
        "events.view_to_cart_rate": num(5 / 7),
        # a plain ratio of user counts: 11 purchasing users / 5 cart users
        "events.cart_to_purchase_rate": num(11 / 5),
        "events.overall_conversion_rate": num(11 / 7),  # 11 / 7 view users
        "events.cart_to_purchase_event_rate": num(15 / 9),  # purchases / carts
    }


def test_previous_period_kpis(m):
    # December: views 01/12 (u1) and 20/12 (u2); carts 10/12 (u1) and 31/12 23:59:59 (u2);
    # one purchase of 50 by u1 in x1. The 30/11 row is not in it.
    previous = events_kpis(m["kpis"]["previous"])
    assert set(previous) == EVENT_KPI_KEYS
    assert previous == {
        "events.users": 2,
        "events.sessions": 2,
        "events.views": 2,
        "events.carts": 2,
        "events.removes": 0,
        "events.purchases": 1,
        "events.transactions": 1,
        "events.revenue": 50.0,
        "events.aov": 50.0,
        "events.revenue_per_transaction": 50.0,
        "events.user_conversion_rate": 0.5,  # 1 / 2
        "events.view_to_cart_rate": 1.0,  # 2 / 2
        "events.cart_to_purchase_rate": 0.5,  # 1 / 2
        "events.overall_conversion_rate": 0.5,  # 1 / 2
        "events.cart_to_purchase_event_rate": 0.5,  # 1 / 2
    }


# --------------------------------------------------------------------------- tables


def test_funnel(m):
    assert m["tables"]["events.funnel"] == [
        # view users {1,2,7,10,11,12,13}
        {
            "stage": "view",
            "users": 7,
            "conversion_from_previous": None,
            "drop_off": None,
            "share_of_viewers": 1.0,
        },
        # cart users {1,2,3,12,15}: 5 / 7, drop 2 / 7
        {
            "stage": "cart",
            "users": 5,
            "conversion_from_previous": num(5 / 7),
            "drop_off": num(2 / 7),
            "share_of_viewers": num(5 / 7),
        },
        # purchasing users 1-11: 11 / 5 = 2.2, drop 1 - 2.2 = -1.2 (plain ratios, §8)
        {
            "stage": "purchase",
            "users": 11,
            "conversion_from_previous": num(2.2),
            "drop_off": num(-1.2),
            "share_of_viewers": num(11 / 7),
        },
    ]


def test_top_products_tie_sorts_integer_ids_numerically(m):
    # 9: #03 100; 10: #09 100; 11: #05 20 + #13 60 + #20 20 = 100; 12: #14 #15 #16 #24 = 40;
    # 13: #17 5 + #18 10 + #22 5 + #48 10 = 30; 22: #28 5. #29 has no product_id.
    # Three-way tie at 100 -> 9, 10, 11 (as text it would be 10, 11, 9); top_n 4.
    assert m["tables"]["events.top_products"] == [
        {"product_id": 9, **NAMELESS, "purchases": 1, "revenue": 100.0},
        {"product_id": 10, **NAMELESS, "purchases": 1, "revenue": 100.0},
        {"product_id": 11, **NAMELESS, "purchases": 3, "revenue": 100.0},
        {"product_id": 12, **NAMELESS, "purchases": 4, "revenue": 40.0},
    ]


def test_top_brands(m):
    # acme: #03 100 + #17 5 + #18 10 + #22 5 + #29 15 + #48 10 = 145 (6)
    # beta: #05 20 + #13 60 + #20 20 + #28 5 = 105 (4); zeta: #09 100 (1)
    # Unknown: #14 NULL 10, #15 NULL 10, #16 '  ' 10, #24 '' 10 = 40 (4)
    assert m["tables"]["events.top_brands"] == [
        {"brand": "acme", "purchases": 6, "revenue": 145.0},
        {"brand": "beta", "purchases": 4, "revenue": 105.0},
        {"brand": "zeta", "purchases": 1, "revenue": 100.0},
        {"brand": "Unknown", "purchases": 4, "revenue": 40.0},
    ]


def test_top_categories(m):
    # electronics.phone: #03 100 + #17 5 + #18 10 + #22 5 + #48 10 = 130 (5)
    # apparel.shoes: #05 20 + #13 60 + #20 20 = 100 (3); appliances.kitchen: #09 100 (1)
    #   tie at 100: 'apparel.shoes' < 'appliances.kitchen'
    # Unknown: #14 #15 NULL, #16 ' ', #24 NULL, #29 NULL = 10 + 10 + 10 + 10 + 15 = 55 (5)
    # computers.audio: #28 5 (1) -> cut by top_n 4
    assert m["tables"]["events.top_categories"] == [
        {"category_code": PHONE, "purchases": 5, "revenue": 130.0},
        {"category_code": SHOES, "purchases": 3, "revenue": 100.0},
        {"category_code": KITCHEN, "purchases": 1, "revenue": 100.0},
        {"category_code": "Unknown", "purchases": 5, "revenue": 55.0},
    ]


def _hour(hour: int, views: int = 0, carts: int = 0, purchases: int = 0, revenue: float = 0):
    return {
        "hour": hour,
        "views": views,
        "carts": carts,
        "purchases": purchases,
        "revenue": revenue,
    }


def test_by_hour(m):
    expected = [_hour(h) for h in range(24)]
    expected[0] = _hour(0, views=1, purchases=1, revenue=10.0)  # #53; #18 (date-only)
    expected[7] = _hour(7, views=1, carts=1, purchases=1, revenue=10.0)  # #46 #47 #48
    # #14 #15 (08:00 UTC), #16 (08:30Z), #17 (09:40+01:00 = 08:40): 10 + 10 + 10 + 5
    expected[8] = _hour(8, purchases=4, revenue=35.0)
    expected[9] = _hour(9, carts=1, purchases=1, revenue=60.0)  # #12; #13
    expected[10] = _hour(10, views=1, carts=1, purchases=1, revenue=100.0)  # #01 #02 #03
    expected[11] = _hour(11, purchases=1, revenue=20.0)  # #05
    expected[12] = _hour(12, views=2, carts=1, purchases=1, revenue=100.0)  # #06-#09
    expected[14] = _hour(14, purchases=1, revenue=20.0)  # #20
    expected[16] = _hour(16, purchases=1, revenue=5.0)  # #22
    expected[17] = _hour(17, purchases=1, revenue=10.0)  # #24
    expected[18] = _hour(18, views=3, purchases=1, revenue=5.0)  # #25-#28
    expected[19] = _hour(19, purchases=1, revenue=15.0)  # #29
    expected[20] = _hour(20, views=1, carts=3)  # #30-#33
    expected[21] = _hour(21, carts=2)  # #34 #36 (#35 is a remove)
    expected[22] = _hour(22, views=8)  # #37-#44
    expected[23] = _hour(23, views=1)  # #52 (#45 is a remove)
    assert m["tables"]["events.by_hour"] == expected


def test_by_weekday_and_by_month(m):
    assert m["tables"]["events.by_weekday"] == [
        # Mon 4th #01-#03; 11th #24; 18th #46-#48: 100 + 10 + 10
        {"weekday": 0, "weekday_name": "Monday", "views": 2, "carts": 2, "purchases": 3,
         "revenue": 120.0},
        # Tue 5th #05-#09; 12th #25-#28: 20 + 100 + 5
        {"weekday": 1, "weekday_name": "Tuesday", "views": 5, "carts": 1, "purchases": 3,
         "revenue": 125.0},
        # Wed 6th #12 #13; 13th #29: 60 + 15
        {"weekday": 2, "weekday_name": "Wednesday", "views": 0, "carts": 1, "purchases": 2,
         "revenue": 75.0},
        # Thu 7th #14-#17: 35; 14th #30-#33
        {"weekday": 3, "weekday_name": "Thursday", "views": 1, "carts": 3, "purchases": 4,
         "revenue": 35.0},
        # Fri 1st #53; 8th #18; 15th #34 #36
        {"weekday": 4, "weekday_name": "Friday", "views": 1, "carts": 2, "purchases": 1,
         "revenue": 10.0},
        # Sat 9th #20; 16th #37-#44
        {"weekday": 5, "weekday_name": "Saturday", "views": 8, "carts": 0, "purchases": 1,
         "revenue": 20.0},
        # Sun 10th #22; 17th #45 (remove); 31st #52
        {"weekday": 6, "weekday_name": "Sunday", "views": 1, "carts": 0, "purchases": 1,
         "revenue": 5.0},
    ]  # fmt: skip
    assert m["tables"]["events.by_month"] == [
        {"month": "2021-01", "views": 18, "carts": 9, "purchases": 15, "revenue": 390.0}
    ]


def test_user_segments(m):
    # 15 users. view_only: 13 (views), 14 (only a remove). cart_abandoners: 12, 15.
    # single_purchase (1 transaction): 2, 3, 4 (#14 #15 both d1), 6, 7, 8, 9, 10, 11.
    # multi_purchase: 1 (a1, a2), 5 (e1, NULL). high_value: ceil(11 / 10) = 2 (users 1, 2).
    assert m["tables"]["events.user_segments"] == [
        {"segment": "view_only", "users": 2, "share": num(2 / 15)},
        {"segment": "cart_abandoners", "users": 2, "share": num(2 / 15)},
        {"segment": "single_purchase", "users": 9, "share": num(9 / 15)},
        {"segment": "multi_purchase", "users": 2, "share": num(2 / 15)},
        {"segment": "high_value", "users": 2, "share": num(2 / 15)},
    ]


def test_abandoned_brands_and_products(m):
    # Cart events of the abandoners 12 and 15 (not user 3's #12, not the NULL user's #47):
    # zeta: #31 30 x 2 + #33 35 + #34 30 = 125, users {12, 15}; beta: #32 20; Unknown: #36 10.
    assert m["tables"]["events.abandoned_brands"] == [
        {"brand": "zeta", "users": 2, "cart_events": 3, "value": 125.0},
        {"brand": "beta", "users": 1, "cart_events": 1, "value": 20.0},
        {"brand": "Unknown", "users": 1, "cart_events": 1, "value": 10.0},
    ]
    # (user, product) carted and not bought: (12,20) max(30, 35) = 35, (15,20) 30 -> 65;
    # (12,11) 20; (3,9) 10 (user 3 bought 11, not 9); (15,12) 10. Users 1 and 2 bought what
    # they carted; the NULL user is no user. Tie at 10: 9 before 12 (numeric ids).
    assert m["tables"]["events.abandoned_products"] == [
        {"product_id": 20, **NAMELESS, "pairs": 2, "value": 65.0},
        {"product_id": 11, **NAMELESS, "pairs": 1, "value": 20.0},
        {"product_id": 9, **NAMELESS, "pairs": 1, "value": 10.0},
        {"product_id": 12, **NAMELESS, "pairs": 1, "value": 10.0},
    ]


def test_zero_purchase_products(m):
    # Views >= 3 and no purchase: 20 (#30, #37 and the NULL user's #46) and 100 (#38-#40);
    # tie at 3 -> 20 before 100 (numeric). Not: 21 (1 view), 22 (3 views but bought),
    # the NULL product_id (#42-#44: no product table).
    assert m["tables"]["events.zero_purchase_products"] == [
        {"product_id": 20, **NAMELESS, "views": 3},
        {"product_id": 100, **NAMELESS, "views": 3},
    ]


def test_catalog_gaps(m):
    # 44 clean rows, revenue 390.
    # brand NULL/empty/blank: #14 #15 #16 #24 (purchases 40) #36 #42 #43 #44 -> 8 events
    # category_code: the same 8 plus #29 (purchase 15) -> 9 events, revenue 55
    assert m["tables"]["events.catalog_gaps"] == [
        {
            "attribute": "brand",
            "events_missing": 8,
            "share_of_events": num(8 / 44),
            "revenue_missing": 40.0,
            "share_of_revenue": num(40 / 390),
        },
        {
            "attribute": "category_code",
            "events_missing": 9,
            "share_of_events": num(9 / 44),
            "revenue_missing": 55.0,
            "share_of_revenue": num(55 / 390),
        },
    ]


# --------------------------------------------------------------------------- time zone

TZ_LOG = [
    # 03:00 UTC = 22:00 on 31 Dec in New York: the previous period.
    ("2021-01-01 03:00:00 UTC", "purchase", 1, "s1", 9, 10.0, PHONE, "acme", 1),
    # 03:00 UTC on Tue 5 Jan = 22:00 on Mon 4 Jan local.
    ("2021-01-05 03:00:00 UTC", "view", 1, "s2", 9, 10.0, PHONE, "acme", 1),
    # Naive: local time already, Tue 5 Jan 03:00.
    ("2021-01-05 03:00:00", "view", 2, "s3", 9, 10.0, PHONE, "acme", 1),
    # 04:59:59 UTC on 1 Feb = Sun 31 Jan 23:59:59 local: in; 05:00 UTC = 1 Feb 00:00: out.
    ("2021-02-01T04:59:59Z", "purchase", 2, "s3", 9, 20.0, PHONE, "acme", 1),
    ("2021-02-01 05:00:00 UTC", "purchase", 2, "s3", 9, 40.0, PHONE, "acme", 1),
    # 00:30+01:00 on 1 Feb = 23:30 UTC on 31 Jan = Sun 31 Jan 18:30 local.
    ("2021-02-01T00:30:00+01:00", "cart", 3, "s4", 9, 30.0, PHONE, "acme", 1),
    # Naive local midnight opens the period; 31 Dec 23:00 local is December.
    ("2021-01-01 00:00:00", "view", 3, "s4", 9, 10.0, PHONE, "acme", 1),
    ("2020-12-31 23:00:00", "view", 3, "s5", 9, 10.0, PHONE, "acme", 1),
]


@pytest.mark.parametrize("kind", SOURCES)
def test_time_zone_new_york(tmp_path, kind):
    source = write_source(tmp_path, kind, TZ_LOG, COLUMNS[:-1])
    m = run(source, timezone="America/New_York")

    assert m["period"]["timezone"] == "America/New_York"
    kpis = m["kpis"]
    # In January (local): views rows 2, 3, 7; cart row 6; purchase row 4 (20).
    assert (kpis["events.views"], kpis["events.carts"], kpis["events.purchases"]) == (3, 1, 1)
    assert kpis["events.revenue"] == 20.0
    assert kpis["events.users"] == 3
    # December (local): the 03:00 UTC purchase of 10 and the naive 23:00 view.
    previous = m["kpis"]["previous"]
    assert (previous["events.views"], previous["events.purchases"]) == (1, 1)
    assert previous["events.revenue"] == 10.0

    by_hour = {row["hour"]: row for row in m["tables"]["events.by_hour"]}
    assert len(by_hour) == 24
    busy = {h: (r["views"], r["carts"], r["purchases"], r["revenue"]) for h, r in by_hour.items()}
    assert {h: v for h, v in busy.items() if v != (0, 0, 0, 0)} == {
        0: (1, 0, 0, 0),  # naive 1 Jan 00:00
        3: (1, 0, 0, 0),  # naive 5 Jan 03:00
        18: (0, 1, 0, 0),  # 1 Feb 00:30+01:00
        22: (1, 0, 0, 0),  # 5 Jan 03:00 UTC
        23: (0, 0, 1, 20.0),  # 1 Feb 04:59:59Z
    }
    by_weekday = [
        (r["weekday"], r["views"], r["carts"], r["purchases"], r["revenue"])
        for r in m["tables"]["events.by_weekday"]
    ]
    assert by_weekday == [
        (0, 1, 0, 0, 0),  # Mon 4 Jan 22:00
        (1, 1, 0, 0, 0),  # Tue 5 Jan 03:00
        (2, 0, 0, 0, 0),
        (3, 0, 0, 0, 0),
        (4, 1, 0, 0, 0),  # Fri 1 Jan 00:00
        (5, 0, 0, 0, 0),
        (6, 0, 1, 1, 20.0),  # Sun 31 Jan 18:30 and 23:59:59
    ]
    assert m["tables"]["events.by_month"] == [
        {"month": "2021-01", "views": 3, "carts": 1, "purchases": 1, "revenue": 20.0}
    ]


@pytest.mark.parametrize("kind", SOURCES)
def test_two_instants_of_a_clock_turned_back_are_not_copies(tmp_path, kind):
    """1:30 on 7 Nov 2021 happened twice in New York (EDT, then EST): two purchases that
    differ only in that are two rows, though their local times read the same."""
    fold = [
        ("2021-11-07 05:30:00 UTC", "purchase", 1, "s1", 9, 10.0, PHONE, "acme", 1),
        ("2021-11-07 06:30:00 UTC", "purchase", 1, "s1", 9, 10.0, PHONE, "acme", 1),
        ("2021-11-07 06:30:00 UTC", "purchase", 1, "s1", 9, 10.0, PHONE, "acme", 1),  # a copy
    ]
    m = run(write_source(tmp_path, kind, fold, COLUMNS[:-1]), "2021-11", "America/New_York")
    assert m["kpis"]["events.purchases"] == 2
    assert m["kpis"]["events.revenue"] == 20.0
    assert m["data_quality"]["events.duplicates_removed"] == 1


# --------------------------------------------------------------------------- missing columns


@pytest.mark.parametrize("kind", SOURCES)
def test_missing_brand_column_skips_brand_tables_only(tmp_path, kind, all_metrics):
    columns, rows = without_columns({"brand"})
    m = run(write_source(tmp_path, kind, rows, columns))
    full = all_metrics["sqlite"]

    assert "events.top_brands" not in m["tables"]
    assert "events.abandoned_brands" not in m["tables"]
    sections = {s["section"] for s in m["skipped"]}
    assert {"events.top_brands", "events.abandoned_brands"} <= sections
    # No two rows of the log differ only in brand: dedup and every KPI are unchanged.
    assert m["kpis"] == full["kpis"]
    assert m["data_quality"] == full["data_quality"]
    # The brand row keeps its place with nulls; the category row is as before.
    assert m["tables"]["events.catalog_gaps"] == [
        {
            "attribute": "brand",
            "events_missing": None,
            "share_of_events": None,
            "revenue_missing": None,
            "share_of_revenue": None,
        },
        full["tables"]["events.catalog_gaps"][1],
    ]
    unchanged = set(full["tables"]) - {
        "events.top_brands",
        "events.abandoned_brands",
        "events.catalog_gaps",
    }
    assert {k: m["tables"][k] for k in unchanged} == {k: full["tables"][k] for k in unchanged}


def test_missing_quantity_column_means_quantity_one_and_dedups_without_it(tmp_path):
    columns = COLUMNS[:8]  # no quantity, no note
    rows = [
        ("2021-01-10 10:00:00", "purchase", 1, "s1", 9, 10.0, PHONE, "acme"),
        # identical in every column present -> a duplicate
        ("2021-01-10 10:00:00", "purchase", 1, "s1", 9, 10.0, PHONE, "acme"),
        ("2021-01-10 11:00:00", "purchase", 2, "s2", 9, 12.5, PHONE, "acme"),
    ]
    m = run(write_source(tmp_path, "sqlite", rows, columns))

    assert not [s for s in m["skipped"] if s["section"].startswith("events")]
    assert m["data_quality"]["events.duplicates_removed"] == 1
    assert m["kpis"]["events.purchases"] == 2
    assert m["kpis"]["events.revenue"] == 22.5  # 10 x 1 + 12.5 x 1
    assert m["tables"]["events.top_products"] == [
        {"product_id": 9, **NAMELESS, "purchases": 2, "revenue": 22.5}
    ]


# --------------------------------------------------------------------------- empty period


@pytest.mark.parametrize("kind", SOURCES)
def test_empty_period(tmp_path, kind):
    # March 2021 holds no event; February (previous) holds only the 1 Feb 00:00 purchase.
    m = run(write_source(tmp_path, kind, LOG), month="2021-03")

    assert events_kpis(m["kpis"]) == {
        "events.users": 0,
        "events.sessions": 0,
        "events.views": 0,
        "events.carts": 0,
        "events.removes": 0,
        "events.purchases": 0,
        "events.transactions": 0,
        "events.revenue": 0,
        "events.aov": None,
        "events.revenue_per_transaction": None,
        "events.user_conversion_rate": None,
        "events.view_to_cart_rate": None,
        "events.cart_to_purchase_rate": None,
        "events.overall_conversion_rate": None,
        "events.cart_to_purchase_event_rate": None,
    }
    assert events_kpis(m["kpis"]["previous"]) == {
        "events.users": 1,
        "events.sessions": 1,
        "events.views": 0,
        "events.carts": 0,
        "events.removes": 0,
        "events.purchases": 1,
        "events.transactions": 1,
        "events.revenue": 50.0,
        "events.aov": 50.0,
        "events.revenue_per_transaction": 50.0,
        "events.user_conversion_rate": 1.0,  # 1 / 1
        "events.view_to_cart_rate": None,  # 0 view users
        "events.cart_to_purchase_rate": None,  # 0 cart users
        "events.overall_conversion_rate": None,
        "events.cart_to_purchase_event_rate": None,  # 0 carts
    }
    tables = m["tables"]
    stages = ("raw", "deduplicated", "valid_price", "mapped_type", "clean")
    assert tables["events.pipeline"] == [{"stage": s, "rows": 0} for s in stages]
    assert tables["events.funnel"] == [
        {
            "stage": stage,
            "users": 0,
            "conversion_from_previous": None,
            "drop_off": None,
            "share_of_viewers": None,
        }
        for stage in ("view", "cart", "purchase")
    ]
    for name in (
        "events.top_products",
        "events.top_brands",
        "events.top_categories",
        "events.abandoned_brands",
        "events.abandoned_products",
        "events.zero_purchase_products",
    ):
        assert tables[name] == [], name
    assert tables["events.by_hour"] == [_hour(h) for h in range(24)]
    assert tables["events.by_weekday"] == [
        {"weekday": d, "weekday_name": WEEKDAYS[d], "views": 0, "carts": 0, "purchases": 0,
         "revenue": 0}
        for d in range(7)
    ]  # fmt: skip
    assert tables["events.by_month"] == [
        {"month": "2021-03", "views": 0, "carts": 0, "purchases": 0, "revenue": 0}
    ]
    segments = ("view_only", "cart_abandoners", "single_purchase", "multi_purchase", "high_value")
    assert tables["events.user_segments"] == [
        {"segment": s, "users": 0, "share": None} for s in segments
    ]
    assert tables["events.catalog_gaps"] == [
        {
            "attribute": attribute,
            "events_missing": 0,
            "share_of_events": None,
            "revenue_missing": 0,
            "share_of_revenue": None,
        }
        for attribute in ("brand", "category_code")
    ]
    assert {k: v for k, v in m["data_quality"].items() if k.startswith("events.")} == {
        "events.unparsed_event_time": 3,  # whole table
        "events.duplicates_removed": 0,
        "events.bad_price_removed": 0,
        "events.unmapped_removed": 0,
        "events.unmapped_types": {},
        "events.table_rows": 63,  # whole table
        "events.period_rows": 0,  # the empty period (a data alert says so)
        "events.future_event_time": 0,
        "events.first_event_time": "2020-11-30 23:59:59",  # whole table
        "events.last_event_time": "2021-02-01 00:00:00",
    }


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("kind", SOURCES)
def test_first_and_last_event_time_are_local_and_whole_table(tmp_path, kind):
    m = run(write_source(tmp_path, kind, TZ_LOG, COLUMNS[:-1]), timezone="America/New_York")
    quality = m["data_quality"]
    # 03:00 UTC on 1 Jan is 22:00 on 31 Dec in New York, before the naive 23:00 view;
    # 05:00 UTC on 1 Feb is local midnight, after 00:30+01:00 (18:30 on 31 Jan).
    assert quality["events.first_event_time"] == "2020-12-31 22:00:00"
    assert quality["events.last_event_time"] == "2021-02-01 00:00:00"


@pytest.mark.parametrize("kind", SOURCES)
def test_a_previous_period_the_log_barely_covers_shows_no_change(tmp_path, kind):
    from reportgen.render.viewparts import card
    from reportgen.report.maturity import comparison_gap
    from reportgen.sections.events import SECTION

    # The log starts on 30 December: 2 of December's 31 days (6%) are covered.
    start = ("2020-12-30 00:00:00", "view", 2, "x2", 10, 50.0, KITCHEN, "zeta", 1, None)
    late = [start] + [row for row in LOG if not str(row[0]).startswith(("2020-11", "2020-12-"))]
    m = run(write_source(tmp_path, kind, late))
    assert m["data_quality"]["events.first_event_time"] == "2020-12-30 00:00:00"
    gap = "the comparison period is only 6% covered by the data"
    assert comparison_gap(m, SECTION) == gap
    users = next(spec for spec in SECTION.kpis if spec.key == "events.users")
    assert m["kpis"]["previous"]["events.users"] == 1  # a change there would be shown
    assert card(users, m, "USD")["comparison"] == f"change n/a: {gap}"
    # January itself is fully covered: its own figures stand.
    assert comparison_gap({**m, "previous_period": m["period"]}, SECTION) is None


# --------------------------------------------------------------------------- product names

PRODUCTS = [
    # Product 20 twice: each attribute is the largest non-null value (METRICS.md §8).
    (20, "Kettle", None),
    (20, "Kettle Pro", "appliances.kitchen"),
    (9, "Phone X", "electronics.smartphone"),
    (11, None, "apparel.shoes"),
    (7, "Never seen", "misc"),
]


def _with_products(folder: Path, kind: str) -> dict[str, Any]:
    source = write_source(folder, kind, LOG)
    columns = ("product_id", "name", "category")
    if kind == "sqlite":
        db = sqlite3.connect(source["url"].removeprefix("sqlite:///"))
        db.execute("create table products (product_id, name, category)")
        db.executemany("insert into products values (?, ?, ?)", PRODUCTS)
        db.commit()
        db.close()
    else:
        path = folder / "products.csv"
        _write_csv(path, columns, PRODUCTS)
        source["files"]["products"] = str(path)
    return source


@pytest.mark.parametrize("kind", ["sqlite", "csv"])
def test_product_tables_name_products_from_the_products_table(tmp_path, kind, all_metrics):
    m = run(_with_products(tmp_path, kind))
    named = {
        key: [(r["product_id"], r["name"], r["category"]) for r in m["tables"][key]]
        for key in ("events.top_products", "events.abandoned_products")
    }
    assert named["events.top_products"] == [
        (9, "Phone X", "electronics.smartphone"),
        (10, None, None),  # not in products
        (11, None, "apparel.shoes"),
        (12, None, None),
    ]
    assert named["events.abandoned_products"][0] == (20, "Kettle Pro", "appliances.kitchen")
    zero = m["tables"]["events.zero_purchase_products"]
    assert [(r["product_id"], r["name"]) for r in zero] == [(20, "Kettle Pro"), (100, None)]
    # Only names were added: every figure is what it is without a products table.
    without = all_metrics["sqlite"]
    for key in ("events.top_products", "events.abandoned_products"):
        strip = [{k: v for k, v in r.items() if k not in NAMELESS} for r in m["tables"][key]]
        assert strip == [{k: v for k, v in r.items() if k not in NAMELESS}
                         for r in without["tables"][key]]  # fmt: skip
    assert m["kpis"] == without["kpis"]
