"""Tests for the demo database generator: shape, determinism, defects and behaviour."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from reportgen.demo.shop import DemoSummary, generate_demo

END = date(2026, 3, 1)
COLUMNS = {
    "customers": [
        ("customer_id", "TEXT"),
        ("signup_date", "TEXT"),
        ("signup_channel", "TEXT"),
        ("loyalty_tier", "TEXT"),
        ("clv_bucket", "TEXT"),
        ("age", "INTEGER"),
    ],
    "products": [
        ("product_id", "INTEGER"),
        ("name", "TEXT"),
        ("category", "TEXT"),
        ("brand", "TEXT"),
        ("price", "REAL"),
    ],
    "carts": [
        ("cart_id", "TEXT"),
        ("customer_id", "TEXT"),
        ("created_at", "TEXT"),
        ("status", "TEXT"),
    ],
    "cart_items": [
        ("cart_id", "TEXT"),
        ("product_id", "INTEGER"),
        ("quantity", "INTEGER"),
        ("unit_price", "REAL"),
    ],
    "orders": [
        ("order_id", "TEXT"),
        ("customer_id", "TEXT"),
        ("order_date", "TEXT"),
        ("cart_id", "TEXT"),
        ("order_total", "REAL"),
        ("status", "TEXT"),
        ("campaign_id", "TEXT"),
        ("discount_code", "TEXT"),
    ],
    "events": [
        ("event_time", "TEXT"),
        ("event_type", "TEXT"),
        ("product_id", "INTEGER"),
        ("category_code", "TEXT"),
        ("brand", "TEXT"),
        ("price", "REAL"),
        ("user_id", "TEXT"),
        ("session_id", "TEXT"),
    ],
}

# One row per cart_id with its most advanced status (METRICS.md §3), as a temp view.
DEDUPED_CARTS = """
create temp view cart as
select cart_id, min(customer_id) as customer_id, min(created_at) as created_at,
    case min(case lower(trim(status))
        when 'converted' then 0 when 'abandoned' then 1 when 'emptied' then 1
        when 'open' then 2 else 3 end)
    when 0 then 'converted' when 1 then 'abandoned' when 2 then 'open' else 'other' end
    as status
from carts group by cart_id
"""


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute(DEDUPED_CARTS)
    return db


def _one(db: sqlite3.Connection, sql: str, *params: object) -> object:
    return db.execute(sql, params).fetchone()[0]


def _dump(path: Path) -> dict[str, list[tuple]]:
    with closing(sqlite3.connect(path)) as db:
        return {t: db.execute(f"select * from {t} order by rowid").fetchall() for t in COLUMNS}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, Path]:
    path = tmp_path_factory.mktemp("demo") / "shop.db"
    return generate_demo(path, seed=7, scale=0.2, end=END), path


@pytest.fixture
def db(demo: tuple[DemoSummary, Path]) -> Iterator[sqlite3.Connection]:
    connection = _connect(demo[1])
    yield connection
    connection.close()


def test_tables_and_columns_are_canonical(db: sqlite3.Connection) -> None:
    for table, columns in COLUMNS.items():
        info = db.execute(f"pragma table_info({table})").fetchall()
        assert [(row[1], row[2].upper()) for row in info] == columns, table


def test_reporting_indexes_exist(db: sqlite3.Connection) -> None:
    indexed = {
        (table, tuple(c[2] for c in db.execute(f"pragma index_info({name})")))
        for table in COLUMNS
        for _, name, *_ in db.execute(f"pragma index_list({table})")
    }
    assert indexed >= {
        ("carts", ("created_at",)),
        ("carts", ("customer_id",)),
        ("cart_items", ("cart_id",)),
        ("orders", ("customer_id", "order_date")),
        ("orders", ("cart_id",)),
    }


def test_summary_counts_rows(demo: tuple[DemoSummary, Path], db: sqlite3.Connection) -> None:
    summary, path = demo
    assert (summary.path, summary.seed, summary.start, summary.end) == (
        path,
        7,
        date(2025, 2, 1),
        END,
    )
    assert summary.rows == {t: _one(db, f"select count(*) from {t}") for t in COLUMNS}
    assert summary.products == 400


def test_same_seed_gives_identical_rows(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a.db", seed=3, scale=0.02, end=END)
    second = generate_demo(tmp_path / "b.db", seed=3, scale=0.02, end=END)
    assert _dump(first.path) == _dump(second.path)


def test_other_seed_gives_other_rows(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a.db", seed=3, scale=0.02, end=END)
    other = generate_demo(tmp_path / "b.db", seed=4, scale=0.02, end=END)
    assert _dump(first.path)["carts"] != _dump(other.path)["carts"]
    assert _dump(first.path)["orders"] != _dump(other.path)["orders"]


def test_replaces_file_atomically_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "shop.db"
    path.parent.mkdir(parents=True)
    path.write_text("not a database")
    generate_demo(path, scale=0.01, end=END)
    assert sorted(p.name for p in path.parent.iterdir()) == ["shop.db"]
    with closing(sqlite3.connect(path)) as db:
        assert _one(db, "select count(*) from products") == 400


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_demo(tmp_path / "x.db", scale=0)
    with pytest.raises(ValueError, match="months"):
        generate_demo(tmp_path / "x.db", months=0)
    assert not list(tmp_path.iterdir())


def test_scale_one_has_about_fifty_thousand_carts(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "shop.db", scale=1, end=END)
    with closing(_connect(summary.path)) as db:
        carts = _one(db, "select count(*) from cart")
        lines = _one(db, "select count(*) from cart_items")
        events = _one(db, "select count(*) from events")
    assert 49_000 <= carts <= 51_000
    assert 2.4 <= lines / carts <= 3.2
    assert 400_000 <= events <= 800_000


def test_nothing_on_or_after_end_and_nothing_before_start(db: sqlite3.Connection) -> None:
    assert _one(db, "select max(created_at) from carts") < "2026-03-01"
    assert _one(db, "select min(created_at) from carts") >= "2025-02-01"
    assert _one(db, "select max(order_date) from orders") < "2026-03-01"
    assert _one(db, "select max(signup_date) from customers") < "2026-03-01"
    assert _one(db, "select count(*) from carts where created_at not glob ?", "2*:*:*") == 0
    assert _one(db, "select count(*) from orders where length(order_date) != 19") == 0


def test_time_runs_forward(db: sqlite3.Connection) -> None:
    signup_after_cart = """
        select count(*) from carts join customers using (customer_id)
        where signup_date > substr(created_at, 1, 10)"""
    order_before_cart = """
        select count(*) from orders o join carts c using (cart_id)
        where o.order_date <= c.created_at"""
    assert _one(db, signup_after_cart) == 0
    assert _one(db, order_before_cart) == 0


def test_status_spelling_variants_are_rare_but_present(db: sqlite3.Connection) -> None:
    total = _one(db, "select count(*) from carts")
    variants = _one(db, "select count(*) from carts where status != lower(trim(status))")
    assert 0.01 <= variants / total <= 0.035
    normalised = {r[0] for r in db.execute("select distinct lower(trim(status)) from carts")}
    assert normalised == {"converted", "abandoned", "emptied", "open"}


def test_duplicate_carts_and_lines_are_rare_but_present(db: sqlite3.Connection) -> None:
    carts = _one(db, "select count(*) from cart")
    duplicated = _one(
        db, "select count(*) from (select cart_id from carts group by 1 having count(*) > 1)"
    )
    assert 0 < duplicated / carts < 0.005
    mixed = """
        select count(*) from (select cart_id from carts group by 1
        having count(distinct lower(trim(status))) > 1)"""
    assert _one(db, mixed) > 0
    lines = _one(db, "select count(*) from cart_items")
    duplicate_lines = _one(
        db,
        "select count(*) from (select 1 from cart_items group by cart_id, product_id"
        " having count(*) > 1)",
    )
    invalid = _one(db, "select count(*) from cart_items where quantity <= 0 or unit_price is null")
    assert 0.002 < duplicate_lines / lines < 0.01
    assert 0 < invalid / lines < 0.004


def test_guests_and_blank_attributes_are_rare(db: sqlite3.Connection) -> None:
    guests = _one(db, "select avg(customer_id is null) from cart")
    blank_channel = _one(db, "select avg(coalesce(trim(signup_channel), '') = '') from customers")
    assert 0.004 < guests < 0.02
    assert 0.01 < blank_channel < 0.04
    assert _one(db, "select count(*) from customers where age is null") > 0
    assert _one(db, "select count(*) from customers where age < 18 or age > 80") == 0
    assert 0 < _one(db, "select count(*) from products where category is null") < 10


def test_emptied_carts_have_no_items(db: sqlite3.Connection) -> None:
    emptied = """
        select count(*) from carts c join cart_items i using (cart_id)
        where lower(trim(c.status)) = 'emptied'"""
    assert _one(db, "select count(*) from carts where lower(trim(status)) = 'emptied'") > 0
    assert _one(db, emptied) == 0


def test_open_carts_only_in_the_last_days(db: sqlite3.Connection) -> None:
    assert _one(db, "select count(*) from cart where status = 'open'") > 0
    assert _one(db, "select min(created_at) from cart where status = 'open'") >= "2026-02-25"


def test_converted_carts_have_orders_worth_the_cart(db: sqlite3.Connection) -> None:
    converted = _one(db, "select count(*) from cart where status = 'converted'")
    linked = _one(db, "select count(distinct cart_id) from orders where cart_id is not null")
    assert 0.8 <= linked / converted <= 0.9
    mismatched = """
        select count(*) from orders o join (
            select cart_id, sum(quantity * unit_price) as value from cart_items
            where quantity > 0 and unit_price is not null group by cart_id
        ) v using (cart_id)
        where abs(o.order_total - v.value) > 0.01"""
    assert _one(db, mismatched) == 0
    within_hour = """
        select avg(julianday(o.order_date) - julianday(c.created_at) <= 1.0 / 24)
        from orders o join cart c using (cart_id)"""
    assert _one(db, within_hour) > 0.5
    assert _one(db, "select count(*) from orders where cart_id is null") > 0
    assert 0.1 < _one(db, "select avg(discount_code is not null) from orders") < 0.3


def test_loyalty_tiers_convert_in_order(db: sqlite3.Connection) -> None:
    rates = dict(
        db.execute(
            "select loyalty_tier, avg(status = 'converted') from cart"
            " join customers using (customer_id) group by loyalty_tier"
        )
    )
    assert rates["Platinum"] > rates["Gold"] > rates["Silver"] > rates["Bronze"]
    assert 0.45 < rates["Platinum"] < 0.65
    assert 0.12 < rates["Bronze"] < 0.28


def test_email_converts_better_than_paid_social(db: sqlite3.Connection) -> None:
    rates = dict(
        db.execute(
            "select signup_channel, avg(status = 'converted') from cart"
            " join customers using (customer_id) group by signup_channel"
        )
    )
    assert rates["Email"] > rates["Paid Social"]
    assert rates["Referral"] > rates["Paid Social"]


def test_electronics_abandoned_more_than_cheapest_category(db: sqlite3.Connection) -> None:
    cheapest = _one(
        db,
        "select category from products where category is not null"
        " group by category order by avg(price) limit 1",
    )
    abandonment = """
        select avg(status = 'abandoned') from cart where status != 'open' and cart_id in (
            select cart_id from cart_items join products using (product_id)
            where category = ?)"""
    assert _one(db, abandonment, "Electronics") > _one(db, abandonment, cheapest) + 0.05


def test_some_abandoners_order_within_seven_days(db: sqlite3.Connection) -> None:
    # METRICS.md §3 re-engagement for October 2025: abandoners of the month with an order
    # of theirs in the 7 days after one of their abandoned carts.
    october = "c.status = 'abandoned' and c.created_at >= '2025-10' and c.created_at < '2025-11'"
    abandoners = _one(
        db, f"select count(distinct customer_id) from cart c where {october} and customer_id > ''"
    )
    reengaged = _one(
        db,
        f"""select count(distinct c.customer_id) from cart c join orders o using (customer_id)
        where {october} and o.order_date > c.created_at
        and julianday(o.order_date) <= julianday(c.created_at) + 7""",
    )
    assert 0.15 < reengaged / abandoners < 0.4


def test_weekly_daily_and_seasonal_rhythm(db: sqlite3.Connection) -> None:
    by_weekday = dict(
        db.execute("select strftime('%w', created_at), count(*) from cart group by 1")
    )
    assert by_weekday["1"] > by_weekday["6"] * 1.15  # Monday busier than Saturday
    by_hour = dict(db.execute("select strftime('%H', created_at), count(*) from cart group by 1"))
    assert by_hour["12"] > by_hour["09"]
    assert by_hour["20"] > by_hour["17"]
    assert by_hour["20"] > 5 * by_hour["04"]
    per_month = dict(db.execute("select substr(created_at, 1, 7), count(*) from cart group by 1"))
    assert per_month["2025-11"] > 1.3 * per_month["2025-07"]


def test_conversion_drifts_between_months(db: sqlite3.Connection) -> None:
    rates = [
        r[0]
        for r in db.execute(
            "select avg(status = 'converted') from cart"
            " where created_at < '2026-02-01' group by substr(created_at, 1, 7)"
        )
    ]
    assert len(rates) == 12
    assert max(rates) - min(rates) > 0.02


# --- events ---------------------------------------------------------------------------

CART_TYPES = "('cart', 'add_to_cart')"


def _types(db: sqlite3.Connection) -> dict[str, int]:
    return dict(db.execute("select lower(trim(event_type)), count(*) from events group by 1"))


def test_events_are_by_customers_on_products(db: sqlite3.Connection) -> None:
    stranger = """
        select count(*) from events
        where user_id is not null and user_id not in (select customer_id from customers)"""
    unknown_product = (
        "select count(*) from events where product_id not in (select product_id from products)"
    )
    assert _one(db, stranger) == 0
    assert _one(db, unknown_product) == 0
    assert 0.002 < _one(db, "select avg(user_id is null) from events") < 0.02  # guests
    before_signup = """
        select count(*) from events e join customers c on c.customer_id = e.user_id
        where substr(e.event_time, 1, 10) < c.signup_date"""
    assert _one(db, before_signup) == 0


def test_event_times_are_rees46_text_inside_the_data(db: sqlite3.Connection) -> None:
    pattern = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] UTC"
    assert _one(db, "select count(*) from events where event_time not glob ?", pattern) == 0
    assert _one(db, "select min(event_time) from events") >= "2025-02-01"
    assert _one(db, "select max(event_time) from events") < "2026-03-01"


def test_every_cart_line_has_a_cart_event_at_created_at(db: sqlite3.Connection) -> None:
    # EXCEPT compares NULLs as equal: a guest's cart line needs a cart event without a user.
    missing = f"""
        select count(*) from (
            select c.created_at || ' UTC', i.product_id, c.customer_id
            from (select distinct cart_id, product_id from cart_items) i join cart c using (cart_id)
            except
            select event_time, product_id, user_id from events
            where lower(trim(event_type)) in {CART_TYPES})"""
    assert _one(db, missing) == 0
    types = _types(db)
    assert 0.05 < types["add_to_cart"] / (types["cart"] + types["add_to_cart"]) < 0.2


def test_views_come_before_carts_in_the_session(db: sqlite3.Connection) -> None:
    unviewed = f"""
        with first_view as (
            select session_id, product_id, min(event_time) as viewed from events
            where lower(trim(event_type)) = 'view' group by 1, 2)
        select count(*) from events k left join first_view v using (session_id, product_id)
        where lower(trim(k.event_type)) in {CART_TYPES}
        and (v.viewed is null or v.viewed >= k.event_time)"""
    assert _one(db, unviewed) == 0


def test_purchases_are_at_orders_of_their_buyer(db: sqlite3.Connection) -> None:
    # Purchase events of a cart are at its order time, one second apart per line.
    unordered = """
        select count(*) from events e where event_type = 'purchase' and user_id is not null
        and not exists (
            select 1 from orders o where o.customer_id = e.user_id
            and o.order_date between datetime(substr(e.event_time, 1, 19), '-10 seconds')
            and substr(e.event_time, 1, 19))"""
    assert _one(db, unordered) == 0
    bought = set(db.execute("select user_id, product_id from events where event_type = 'purchase'"))
    converted = db.execute(
        "select c.cart_id, c.customer_id, i.product_id from cart c"
        " join cart_items i using (cart_id)"
        " where c.status = 'converted' and c.customer_id is not null"
    ).fetchall()
    carts_bought = {cart for cart, customer, product in converted if (customer, product) in bought}
    assert len(carts_bought) / len({cart for cart, _, _ in converted}) > 0.97


def test_event_mix_is_rees46_like(db: sqlite3.Connection) -> None:
    types = _types(db)
    carts = _one(db, "select count(*) from cart")
    assert 7 <= types["view"] / carts <= 9
    assert types["remove_from_cart"] > 0
    assert 0.3 < types["purchase"] / (types["cart"] + types["add_to_cart"]) < 0.6
    view_only = """
        select avg(browsing) from (select session_id,
            sum(lower(trim(event_type)) not in ('view', 'wishlist')) = 0 as browsing
        from events group by 1)"""
    assert _one(db, view_only) > 0.4


def test_event_defects_are_rare_but_present(db: sqlite3.Connection) -> None:
    rows = _one(db, "select count(*) from events")
    copies = """
        select sum(n - 1) from (select count(*) as n from events
        group by event_time, event_type, product_id, category_code, brand, price, user_id,
            session_id having n > 1)"""
    assert 0 < _one(db, copies) / rows < 0.01
    assert 0 < _one(db, "select count(*) from events where price <= 0") / rows < 0.005
    assert set(_types(db)) == {
        "view",
        "cart",
        "add_to_cart",
        "remove_from_cart",
        "purchase",
        "wishlist",
    }
    assert _one(db, "select count(*) from events where event_type != lower(trim(event_type))") > 0
    assert 0.005 < _one(db, "select avg(brand is null) from events") < 0.05
    assert 0.002 < _one(db, "select avg(category_code is null) from events") < 0.03


def test_events_describe_products_as_the_catalogue_does(db: sqlite3.Connection) -> None:
    other_brand = """
        select count(*) from events e join products p using (product_id)
        where e.brand is not null and e.brand is not p.brand"""
    assert _one(db, other_brand) == 0
    codes = """
        select p.category, count(distinct e.category_code), min(e.category_code)
        from events e join products p using (product_id) group by p.product_id"""
    for category, distinct, code in db.execute(codes):
        if category is None:
            assert distinct == 0
        else:
            assert distinct == 1
            assert code.count(".") >= 1
            assert code == code.lower()
    assert _one(db, "select count(*) from events where category_code like 'electronics.%'") > 0


def test_some_products_draw_views_but_no_purchases(db: sqlite3.Connection) -> None:
    views = dict(
        db.execute("select product_id, count(*) from events where event_type = 'view' group by 1")
    )
    bought = {
        r[0] for r in db.execute("select product_id from events where event_type = 'purchase'")
    }
    busy = sorted(views.values())[int(0.75 * len(views))]
    showroom = [p for p, n in views.items() if p not in bought and n > busy]
    assert 3 <= len(showroom) <= 8
