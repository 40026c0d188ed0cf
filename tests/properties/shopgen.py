"""Random small shops and event logs for the property tests, and the code that runs them.

The strategies draw datasets as dirty as METRICS.md §3, §4 and §8 allow: statuses and
event types in several spellings (case, Unicode whitespace, NULL, unknown values),
duplicate ids, invalid lines and prices, timestamps in every accepted form around the
report month (March 2024) plus unparseable ones, date-only columns, missing customers
and products. Prices are multiples of 0.25 and quantities small integers, so every sum
is exact in binary floating point and two runs can be compared to the last bit.

Hypothesis runs with the ``reportgen-ci`` profile: derandomized (the same examples on
every run, so a CI failure reproduces locally), no example database (nothing written
to the worktree), no deadline. ``HYPOTHESIS_PROFILE=reportgen-explore`` runs ten times
as many random examples for a local bug hunt.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics

# --------------------------------------------------------------------------- hypothesis profiles

settings.register_profile(
    "reportgen-ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "reportgen-explore",
    parent=settings.get_profile("reportgen-ci"),
    derandomize=False,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "reportgen-ci")
SCALE = 10 if PROFILE == "reportgen-explore" else 1


def examples(count: int) -> settings:
    """Return the settings of a property test that runs ``count`` examples in CI."""
    return settings(settings.get_profile(PROFILE), max_examples=count * SCALE)


# --------------------------------------------------------------------------- shared pieces

MONTH = "2024-03"
PERIOD_START = datetime(2024, 3, 1)
PERIOD_END = datetime(2024, 4, 1)

TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata")

BOUNDARIES = (
    datetime(2024, 3, 1),
    datetime(2024, 3, 31, 23, 59, 59),
    datetime(2024, 4, 1),
    datetime(2024, 2, 29, 23, 59, 59),
    datetime(2024, 3, 10, 2, 30),  # inside New York's spring-forward gap
    datetime(2024, 3, 31, 2, 30),  # inside Berlin's spring-forward gap
)

UNPARSEABLE = ("garbage", "2024/03/05 10:00", "05.03.2024", "2024-02-30", "2024-03-05 25:00")

GOOD_PRICES = (0.25, 1.5, 2.75, 10, 12.5, "4.5")
BAD_PRICES = (0, -1, -0.25, None, "abc")  # 0 is a valid unit_price, not a valid event price
GOOD_QUANTITIES = (1, 1, 2, 3, "2")
BAD_QUANTITIES = (0, -1, None, "x")  # a NULL event quantity is 1, a NULL line one is invalid


def instants(low: datetime, high: datetime) -> st.SearchStrategy[datetime]:
    """Instants between ``low`` and ``high``: whole minutes mostly (so that every written
    form of a timestamp can meet another exactly), else whole seconds or microseconds."""
    any_time = st.datetimes(min_value=low, max_value=high)
    minutes = any_time.map(lambda d: d.replace(second=0, microsecond=0))
    seconds = any_time.map(lambda d: d.replace(microsecond=0))
    return st.one_of(minutes, minutes, seconds, any_time)


@functools.cache
def moments(
    low: datetime = datetime(2024, 2, 10), high: datetime = datetime(2024, 4, 10)
) -> st.SearchStrategy[datetime]:
    """Instants mostly inside March 2024, else around it, on an edge or in a DST gap."""
    inside = instants(PERIOD_START, PERIOD_END - timedelta(seconds=1))
    return st.one_of(inside, inside, inside, st.sampled_from(BOUNDARIES), instants(low, high))


TIME_STYLES = ("space", "space", "t_minutes", "micro", "utc", "z", "plus", "minus", "date")


def render_time(moment: datetime, style: str) -> str:
    """Write ``moment`` in one of the timestamp forms METRICS.md §8 accepts."""
    if style == "date":
        return f"{moment:%Y-%m-%d}"
    if style == "t_minutes":
        return f"{moment:%Y-%m-%dT%H:%M}"
    if style == "micro":
        return f"{moment:%Y-%m-%d %H:%M:%S.%f}"
    base = f"{moment:%Y-%m-%d %H:%M:%S}"
    suffix = {"space": "", "utc": " UTC", "z": "Z", "plus": "+01:00", "minus": "-05:00"}
    return base + suffix[style]


def time_styles(date_only: bool) -> st.SearchStrategy[str]:
    """How a column writes its values: date-only columns (§8) hold bare dates and NULLs."""
    if date_only:
        return st.sampled_from(("date",) * 15 + ("null",))
    return st.sampled_from(TIME_STYLES * 2 + ("null", "garbage"))


def stamp(moment: datetime, style: str) -> str | None:
    """Write ``moment`` in ``style``; "null" is NULL and "garbage" an unparseable value."""
    if style == "null":
        return None
    if style == "garbage":
        return UNPARSEABLE[moment.minute % len(UNPARSEABLE)]
    return render_time(moment, style)


def stamps(date_only: bool, times: st.SearchStrategy[datetime] | None = None):
    """Timestamp values of one column (date-only or mixed) at ``times`` (default moments())."""
    return st.builds(stamp, moments() if times is None else times, time_styles(date_only))


def weighted(common: Sequence[Any], rare: Sequence[Any]) -> st.SearchStrategy:
    """Draw from ``common`` far more often than from ``rare``."""
    return st.sampled_from(tuple(common) * 4 + tuple(rare))


def idents(prefix: str, count: int, as_int: bool, base: int) -> list[Any]:
    """Return ``count`` ids, integers (``base + i``) or text (``prefix + i``)."""
    return [base + i if as_int else f"{prefix}{i}" for i in range(1, count + 1)]


def labels(*values: str) -> st.SearchStrategy[str | None]:
    """Labels with stray whitespace, empty and NULL variants (§8: stripped, empty = NULL)."""
    return st.sampled_from([*values, *(f" {v}" for v in values[:1]), "", "  ", None])


# --------------------------------------------------------------------------- the cart shop

CONVERTED = ("converted", " Converted", "PURCHASED", "completed ", "checked_out", "Ordered")
ABANDONED = ("abandoned", "ABANDONED ", " emptied", "Emptied", "\tabandoned\n", "\u00a0abandoned")
OPEN = ("open", " Active", "OPEN", "\u2003open")
OTHER = ("weird", "Weird ", "pending", "", "  ", None)
STATUSES = CONVERTED + ABANDONED + OPEN + OTHER

CART_COLUMNS: dict[str, tuple[str, ...]] = {
    "carts": ("cart_id", "customer_id", "created_at", "status"),
    "cart_items": ("cart_id", "product_id", "quantity", "unit_price"),
    "orders": ("order_id", "customer_id", "order_date", "cart_id"),
    "customers": ("customer_id", "signup_channel", "loyalty_tier", "clv_bucket", "age"),
    "products": ("product_id", "name", "category"),
}


@dataclass(frozen=True)
class Shop:
    """Rows of the five cart tables, in the column order of ``CART_COLUMNS``."""

    carts: list[tuple] = field(default_factory=list)
    cart_items: list[tuple] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)
    customers: list[tuple] = field(default_factory=list)
    products: list[tuple] = field(default_factory=list)

    def tables(self) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        return {name: (columns, getattr(self, name)) for name, columns in CART_COLUMNS.items()}


@st.composite
def shops(draw, max_carts: int = 20) -> Shop:
    """Draw a small, dirty cart shop around March 2024.

    Orders are mostly drawn from the carts (the same customer, by cart_id or not, some
    hours before or up to three weeks after the cart) so that links, re-engagement and
    order-before-cart all happen; a few are unrelated.
    """
    as_int = draw(st.booleans())
    cart_ids = idents("K", draw(st.integers(2, 14)), as_int, 0)
    customer_ids = idents("C", draw(st.integers(1, 7)), as_int, 100)
    product_ids = idents("P", draw(st.integers(1, 7)), as_int, 200)
    unknown_customer, unknown_product, orphan_cart = (
        (199, 299, 99) if as_int else ("C99", "P99", "K99")
    )
    customer = weighted(customer_ids, [unknown_customer, None])
    product = weighted(product_ids, [unknown_product, None])
    quantity = weighted(GOOD_QUANTITIES, BAD_QUANTITIES)
    price = weighted((*GOOD_PRICES, 0), BAD_PRICES)
    one_in_four = st.integers(0, 3).map(lambda roll: roll == 0)
    created_date_only, ordered_date_only = draw(one_in_four), draw(one_in_four)

    cart_ref, status = weighted(cart_ids, [None]), st.sampled_from(STATUSES)
    created_style, ordered_style = time_styles(created_date_only), time_styles(ordered_date_only)
    carts, created = [], []
    for _ in range(draw(st.integers(0, max_carts))):
        moment = draw(moments())
        when = stamp(moment, draw(created_style))
        carts.append((draw(cart_ref), draw(customer), when, draw(status)))
        created.append(moment)

    cart_items = []
    for cart_id in [*cart_ids, orphan_cart, None]:
        for _ in range(draw(st.integers(0, 3))):
            cart_items.append((cart_id, draw(product), draw(quantity), draw(price)))

    orders = []
    # Minutes from the cart to its order; often exactly on an edge of a re-engagement
    # window (0, 1, 7 or 30 days: the reengagement_days drawn) or a histogram bucket.
    edges = st.sampled_from([0, 0, 0, -1, 1, 24 * 60, 7 * 24 * 60, 7 * 24 * 60 + 1, 30 * 24 * 60])
    after = st.one_of(st.integers(-48 * 60, 21 * 24 * 60), edges, edges)
    for (cart_id, customer_id, created_at, _), moment in zip(carts, created, strict=True):
        if draw(st.integers(0, 2)):
            continue
        minutes = draw(after)
        if minutes == 0 and not ordered_date_only and draw(st.booleans()):
            when = created_at  # the very instant, written the same way
        else:
            when = stamp(moment + timedelta(minutes=minutes), draw(ordered_style))
        link = cart_id if draw(st.booleans()) else None
        buyer = customer_id if draw(st.integers(0, 5)) else draw(customer)
        orders.append((buyer, when, link))
    unrelated = stamps(ordered_date_only, moments(datetime(2024, 1, 20), datetime(2024, 5, 1)))
    for _ in range(draw(st.integers(0, 4))):
        orders.append((draw(customer), draw(unrelated), draw(weighted([None], cart_ids))))
    orders = [(f"O{i}", *row) for i, row in enumerate(draw(st.permutations(orders)), 1)]

    customers = draw(
        st.lists(
            st.tuples(
                weighted(customer_ids, [None]),
                labels("web", "app", "Web"),
                labels("Gold", "gold", "Silver"),
                labels("high", "low"),
                st.sampled_from([None, 19, 30, 44.9, 70, -3, 130, "41", "old"]),
            ),
            max_size=10,
        )
    )
    products = draw(
        st.lists(
            st.tuples(
                weighted(product_ids, [None]),
                st.sampled_from(["Mug", "Pan", None]),
                labels("Kitchen", "Food", "Toys"),
            ),
            max_size=10,
        )
    )
    return Shop(carts, cart_items, orders, customers, products)


@st.composite
def cart_configs(draw) -> dict[str, Any]:
    """Draw the top-level config keys the cart section reads (rules, segments, timezone)."""
    rules = {
        "top_n": draw(st.sampled_from([1, 2, 3, 10])),
        "reengagement_days": draw(st.sampled_from([0, 1, 7, 30])),
        "duplicate_lines": draw(st.sampled_from(["sum", "max"])),
        "order_link": draw(st.sampled_from(["auto", "auto", "cart_id", "next_order"])),
    }
    segments = draw(
        st.sampled_from(
            [
                ["signup_channel", "loyalty_tier", "clv_bucket"],
                ["loyalty_tier", "age_band"],
            ]
        )
    )
    timezone = draw(st.sampled_from(TIMEZONES))
    return {"rules": rules, "segments": segments, "report": {"timezone": timezone}}


# --------------------------------------------------------------------------- the event log

EVENT_COLUMNS = (
    "event_time",
    "event_type",
    "user_id",
    "session_id",
    "product_id",
    "price",
    "category_code",
    "brand",
    "quantity",
)

VIEW_TYPES = ("view", " View", "PAGE_VIEW", "product_view", "\tview")
CART_TYPES = ("cart", "add_to_cart", "Add_To_Cart ")
REMOVE_TYPES = ("remove", "remove_from_cart")
PURCHASE_TYPES = ("purchase", "PURCHASE", "purchase_cart", "\u00a0purchase")
UNMAPPED_TYPES = ("wishlist", " WishList ", "", None)
EVENT_TYPES = VIEW_TYPES + CART_TYPES + REMOVE_TYPES + PURCHASE_TYPES + UNMAPPED_TYPES

EVENT_QUANTITIES = (1, 1, 2, 3, None, "2", "x")  # NULL and unparseable quantities are 1
EVENT_BAD_QUANTITIES = (0, -1)

CATEGORIES = ("electronics.phone", "appliances.kitchen", " apparel.shoes", "", "  ", None)
BRANDS = ("acme", "Acme", "zeta ", "", None)


def event_rows(
    times: st.SearchStrategy,
    types: st.SearchStrategy,
    users: st.SearchStrategy,
    prices: st.SearchStrategy,
    quantities: st.SearchStrategy,
) -> st.SearchStrategy[tuple]:
    """Rows in the column order of ``EVENT_COLUMNS``."""
    return st.tuples(
        times,
        types,
        users,
        st.sampled_from(["s1", "s2", "s3", "s4", None]),
        st.sampled_from([1, 2, 3, 4, 5, 6, None]),
        prices,
        st.sampled_from(CATEGORIES),
        st.sampled_from(BRANDS),
        quantities,
    )


def with_duplicates(draw, rows: list[tuple]) -> list[tuple]:
    """Return ``rows`` with a few exact copies of some of them inserted."""
    if not rows:
        return rows
    copies = draw(st.lists(st.sampled_from(rows), max_size=4))
    out = list(rows)
    for row in copies:
        out.insert(draw(st.integers(0, len(out))), row)
    return out


@st.composite
def event_logs(draw, max_rows: int = 40) -> list[tuple]:
    """Draw a dirty event log around March 2024: every field from a noisy pool."""
    date_only = draw(st.booleans())
    row = event_rows(
        stamps(date_only),
        weighted(VIEW_TYPES + CART_TYPES + REMOVE_TYPES + PURCHASE_TYPES, UNMAPPED_TYPES),
        st.sampled_from([1, 2, 3, 4, 5, 6, 7, None]),
        weighted(GOOD_PRICES, BAD_PRICES),
        weighted(EVENT_QUANTITIES, EVENT_BAD_QUANTITIES),
    )
    count = draw(st.integers(0, max_rows))
    return with_duplicates(draw, draw(st.lists(row, min_size=count, max_size=count)))


@st.composite
def journey_logs(draw, max_users: int = 8) -> list[tuple]:
    """Draw a log whose funnel is nested: every cart user viewed, every buyer carted.

    Each user goes as deep as drawn (0 = removes only, 1 = view, 2 = view and cart,
    3 = all three) with valid rows well inside the period (in every time zone drawn).
    Noise that cannot put a user in a deeper stage is added: rows the cleaning removes
    (bad price or quantity, unmapped type, outside the period, unparseable time), extra
    valid views by anyone, rows of the NULL user (in no user count) and exact duplicates.
    """
    style = st.sampled_from(TIME_STYLES)
    inside = st.builds(
        render_time,
        instants(PERIOD_START + timedelta(days=1), PERIOD_END - timedelta(days=1)),
        style,
    )
    good_price = st.sampled_from(GOOD_PRICES)
    good_qty = st.sampled_from(EVENT_QUANTITIES)
    rows: list[tuple] = []
    for user in range(1, draw(st.integers(0, max_users)) + 1):
        depth = draw(st.integers(0, 3))
        stages = [REMOVE_TYPES] if depth == 0 else [VIEW_TYPES, CART_TYPES, PURCHASE_TYPES][:depth]
        for types in stages:
            count = draw(st.integers(1, 3))
            row = event_rows(inside, st.sampled_from(types), st.just(user), good_price, good_qty)
            rows.extend(draw(st.lists(row, min_size=count, max_size=count)))
    outside = st.sampled_from(["2024-02-29 23:59:59", "2024-04-01 00:00:00", "garbage", None])
    anyone = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9])
    any_type = st.sampled_from(EVENT_TYPES)
    noise = st.one_of(
        event_rows(inside, any_type, anyone, st.sampled_from(BAD_PRICES), good_qty),
        event_rows(inside, any_type, anyone, good_price, st.sampled_from(EVENT_BAD_QUANTITIES)),
        event_rows(inside, st.sampled_from(UNMAPPED_TYPES), anyone, good_price, good_qty),
        event_rows(outside, any_type, anyone, good_price, good_qty),
        event_rows(inside, st.sampled_from(VIEW_TYPES), anyone, good_price, good_qty),
        event_rows(inside, any_type, st.none(), good_price, good_qty),
    )
    rows.extend(draw(st.lists(noise, max_size=10)))
    rows = draw(st.permutations(rows)) if rows else rows
    return with_duplicates(draw, rows)


@st.composite
def event_configs(draw) -> dict[str, Any]:
    """Draw the config keys the event section reads."""
    rules = {
        "top_n": draw(st.sampled_from([2, 3, 10])),
        "zero_purchase_min_views": draw(st.sampled_from([1, 2, 200])),
    }
    return {"rules": rules, "report": {"timezone": draw(st.sampled_from(TIMEZONES))}}


# --------------------------------------------------------------------------- writing sources


def write_sqlite(path: Path, tables: dict[str, tuple[Sequence[str], Iterable[Sequence]]]) -> None:
    """Write each table to a new SQLite file, columns untyped (values kept as given)."""
    db = sqlite3.connect(path)
    try:
        for name, (columns, rows) in tables.items():
            names = ", ".join(f'"{column}"' for column in columns)
            db.execute(f'create table "{name}" ({names})')
            marks = ", ".join("?" for _ in columns)
            db.executemany(f'insert into "{name}" values ({marks})', rows)
        db.commit()
    finally:
        db.close()


def _csv_field(value: Any) -> str:
    # Text is always quoted (keeps its whitespace); NULL is an empty field.
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return repr(value)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Write one table as CSV the way a careful export would."""
    lines = [",".join(columns)] + [",".join(_csv_field(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def sqlite_source(tables: dict[str, tuple[Sequence[str], Iterable[Sequence]]]) -> Iterator[dict]:
    """Yield the config ``source`` of a temporary SQLite file holding ``tables``."""
    with tempfile.TemporaryDirectory(prefix="reportgen-props-") as folder:
        path = Path(folder) / "shop.db"
        write_sqlite(path, tables)
        yield {"url": f"sqlite:///{path}"}


@contextmanager
def csv_source(tables: dict[str, tuple[Sequence[str], Iterable[Sequence]]]) -> Iterator[dict]:
    """Yield the config ``source`` of temporary CSV files (read by DuckDB) holding ``tables``."""
    with tempfile.TemporaryDirectory(prefix="reportgen-props-") as folder:
        files = {}
        for name, (columns, rows) in tables.items():
            path = Path(folder) / f"{name}.csv"
            write_csv(path, columns, rows)
            files[name] = str(path)
        yield {"files": files}


def compute(source: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the metrics.json dict of March 2024 for ``source`` under ``config``."""
    data = {**(config or {}), "source": source}
    cfg = config_from_dict(data)
    return compute_metrics(cfg, month_period(MONTH, timezone=cfg.report.timezone))


def compute_sqlite(tables: dict, config: dict[str, Any] | None = None) -> dict[str, Any]:
    with sqlite_source(tables) as source:
        return compute(source, config)


# --------------------------------------------------------------------------- §8 readings
# Used by the reference tests, written from METRICS.md §8 without looking at the SQL.

_STAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)( UTC|Z|[+-]\d{2}:\d{2})?)?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def instant(value: Any, zone: ZoneInfo) -> datetime | None:
    """The instant a created_at / order_date value names (§2, §8), or None when unparsed."""
    if not isinstance(value, str):
        return None
    match = _STAMP.match(value.strip())
    if not match:
        return None
    day, clock, suffix = match.groups()
    try:
        naive = datetime.fromisoformat(f"{day} {clock or '00:00'}")
    except ValueError:
        return None
    if suffix in (" UTC", "Z"):
        return naive.replace(tzinfo=UTC)
    if suffix:
        return datetime.fromisoformat(f"{day} {clock}{suffix}").astimezone(UTC)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def date_only(values: list[Any]) -> bool:
    """§8: every non-null value of the whole column is a bare YYYY-MM-DD."""
    present = [v for v in values if v is not None]
    return all(isinstance(v, str) and _DATE.match(v.strip()) for v in present)


def ident(value: Any) -> str | None:
    """Ids compare as their text; empty text is NULL (docs/rules.md ids-as-text)."""
    if value is None:
        return None
    text = str(value)
    return text or None


def number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except ValueError:
        return None


# --------------------------------------------------------------------------- checks


def close(a: float | None, b: float | None, tol: float = 1e-9) -> bool:
    """Whether two KPI values agree (both null, or equal to a relative ``tol``)."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=tol, abs_tol=1e-9)


def ratio(numerator: float, denominator: float) -> float | None:
    """The spec's ratio: null on a zero denominator (§7)."""
    return None if denominator == 0 else numerator / denominator


def assert_json_clean(metrics: dict[str, Any]) -> None:
    """metrics.json serialises strictly: no NaN or infinity anywhere (§7, §8)."""
    json.dumps(metrics, allow_nan=False)


def assert_fraction(value: float | None, name: str) -> None:
    assert value is None or 0 <= value <= 1, f"{name} = {value} is not a fraction in [0, 1]"
