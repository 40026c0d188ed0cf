"""Generate a deterministic, behaviourally plausible demo shop database (METRICS.md §1)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from reportgen.demo.events import ShopActivity, build_events
from reportgen.demo.experiments import add_experiments
from reportgen.demo.marketing import add_campaigns

CARTS_PER_SCALE = 50_000
"""Carts (before duplicate rows) at ``scale=1``."""
CUSTOMERS_PER_SCALE = 12_500
"""Customers at ``scale=1``: about four carts each over the default 13 months."""

DAY = 86_400
HOUR = 3_600
_CHUNK = 100_000


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`generate_demo` wrote."""

    path: Path
    seed: int
    start: date
    """First day of the data (inclusive)."""
    end: date
    """Day after the data (exclusive): no timestamp is on or after it."""
    customers: int
    products: int
    carts: int
    """Rows in ``carts``, duplicate cart rows included."""
    cart_items: int
    orders: int
    events: int
    """Rows in ``events``, exact duplicate rows included."""

    @property
    def rows(self) -> dict[str, int]:
        """Return the row count of each table by table name."""
        return {
            "customers": self.customers,
            "products": self.products,
            "carts": self.carts,
            "cart_items": self.cart_items,
            "orders": self.orders,
            "events": self.events,
        }


@dataclass(frozen=True)
class _Category:
    name: str
    products: int
    median_price: float
    price_sigma: float
    popularity: float
    conversion: float
    """Shift of the conversion log-odds of carts built around this category."""
    peak_months: tuple[int, ...]
    brands: tuple[str, ...]
    nouns: tuple[str, ...]


# 400 products; Electronics and Furniture are expensive and abandoned more, Grocery cheapest.
# fmt: off
_CATEGORIES: tuple[_Category, ...] = (
    _Category(
        "Electronics", 55, 220.0, 0.9, 0.14, -0.45, (11, 12),
        ("Voltix", "Nordtek", "Lumina", "Corebyte"),
        ("Wireless Earbuds", "Bluetooth Speaker", "Smartwatch", "4K Monitor",
         "Mechanical Keyboard", "Tablet", "Action Camera", "Noise-Cancelling Headphones",
         "Portable SSD", "Smart Doorbell"),
    ),
    _Category(
        "Furniture", 35, 280.0, 0.7, 0.06, -0.40, (1, 9),
        ("Oakline", "Hjem", "Casa Verde"),
        ("Office Chair", "Bookshelf", "Coffee Table", "Sofa Bed", "Standing Desk",
         "Wardrobe", "Bar Stool", "TV Stand"),
    ),
    _Category(
        "Home & Kitchen", 50, 40.0, 0.7, 0.13, 0.0, (11, 12),
        ("Kitchara", "Hearth & Co", "Brewmaster"),
        ("Chef's Knife", "Air Fryer", "Espresso Machine", "Cookware Set", "Blender",
         "Bedding Set", "Storage Boxes", "Table Lamp"),
    ),
    _Category(
        "Fashion", 60, 45.0, 0.6, 0.17, -0.05, (3, 9, 10),
        ("Northwind", "Urbana", "Velvet Row"),
        ("Denim Jacket", "Running Shoes", "Wool Sweater", "Leather Belt", "Sneakers",
         "Rain Coat", "T-Shirt Pack", "Handbag"),
    ),
    _Category(
        "Beauty", 45, 16.0, 0.55, 0.12, 0.30, (12,),
        ("Glowé", "Purelle", "Botanica"),
        ("Face Serum", "Moisturiser", "Lipstick", "Shampoo", "Sunscreen SPF 50", "Perfume",
         "Nail Polish Set"),
    ),
    _Category(
        "Sports & Outdoors", 40, 55.0, 0.8, 0.09, -0.10, (5, 6, 7),
        ("Trailpeak", "Kinetic", "Aqualine"),
        ("Yoga Mat", "Dumbbell Set", "Hiking Backpack", "Tent", "Cycling Helmet",
         "Water Bottle", "Running Watch"),
    ),
    _Category(
        "Toys & Games", 35, 28.0, 0.7, 0.08, 0.10, (11, 12),
        ("Playfuls", "Brickworks", "Funlab"),
        ("Building Set", "Board Game", "Jigsaw Puzzle", "Plush Bear", "RC Car", "Doll House"),
    ),
    _Category(
        "Books", 35, 14.0, 0.4, 0.07, 0.25, (12,),
        ("Penfold Press", "Inkwell", "Atlas Books"),
        ("Cookbook", "Thriller Novel", "Picture Book", "Travel Guide", "Biography",
         "Sci-Fi Paperback"),
    ),
    _Category(
        "Grocery", 25, 7.0, 0.5, 0.08, 0.35, (),
        ("Harvest Lane", "Daily Pantry"),
        ("Coffee Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Granola", "Pasta"),
    ),
    _Category(
        "Garden", 20, 48.0, 0.8, 0.06, -0.05, (4, 5, 6),
        ("Greenthumb", "Terraform"),
        ("Hose Reel", "Lawn Mower", "Planter Set", "Pruning Shears", "Garden Lights",
         "Seed Kit"),
    ),
)
# fmt: on
_ADJECTIVES = ("Classic", "Pro", "Compact", "Deluxe", "Eco", "Essential", "Premium", "Lite")

TIERS = ("Bronze", "Silver", "Gold", "Platinum")
_TIER_SHARE = (0.46, 0.30, 0.16, 0.08)
_TIER_ACTIVITY = (1.0, 1.2, 1.45, 1.8)
_TIER_LOGIT = (-1.05, -0.55, 0.0, 0.55)
_TIER_RETURN = (0.8, 1.0, 1.25, 1.5)
CHANNELS = ("Organic Search", "Paid Social", "Email", "Referral", "Direct", "Affiliate")
_CHANNEL_SHARE = (0.30, 0.22, 0.14, 0.10, 0.16, 0.08)
_CHANNEL_LOGIT = (0.05, -0.35, 0.35, 0.30, 0.10, -0.10)
CLV_BUCKETS = ("Low", "Medium", "High")
_CLV_BY_TIER = ((0.70, 0.25, 0.05), (0.45, 0.43, 0.12), (0.20, 0.50, 0.30), (0.07, 0.33, 0.60))

# Carts per day: Mon..Sun, and January..December.
_WEEKDAY = (1.08, 1.07, 1.05, 1.03, 0.94, 0.76, 0.97)
_SEASON = (0.92, 0.86, 0.95, 0.96, 0.95, 0.86, 0.80, 0.82, 0.96, 1.0, 1.32, 1.28)
_SEASON_LOGIT = (-0.05, 0.0, 0.0, 0.0, 0.0, -0.03, -0.06, -0.04, 0.0, 0.0, 0.12, 0.08)

CART_STATUSES = ("converted", "abandoned", "emptied", "open")
_STATUS_VARIANTS = (
    ("CONVERTED ", "Converted", " converted"),
    (" Abandoned", "ABANDONED", "Abandoned "),
    ("Emptied", "EMPTIED ", " emptied"),
    ("Open", " OPEN"),
)
ORDER_STATUSES = ("completed", "shipped", "returned", "cancelled")
CAMPAIGNS = (
    "CMP-NEWSLETTER",
    "CMP-SOCIAL-ADS",
    "CMP-SEARCH-ADS",
    "CMP-AFFILIATE",
    "CMP-CART-RECOVERY",
    "CMP-HOLIDAY",
    "CMP-SUMMER-SALE",
)
# Campaign (first four) of an attributed order, by signup channel; last row: guest or blank.
_CAMPAIGN_BY_CHANNEL = (
    (0.30, 0.15, 0.50, 0.05),
    (0.10, 0.75, 0.10, 0.05),
    (0.80, 0.05, 0.10, 0.05),
    (0.30, 0.20, 0.30, 0.20),
    (0.35, 0.20, 0.40, 0.05),
    (0.10, 0.10, 0.10, 0.70),
    (0.25, 0.25, 0.40, 0.10),
)
_DISCOUNT_CODES = ("WELCOME10", "SAVE15", "FREESHIP", "COMEBACK10", "BLACKFRIDAY25")

_SCHEMA = """
create table customers (
    customer_id text, signup_date text, signup_channel text, loyalty_tier text,
    clv_bucket text, age integer
);
create table products (product_id integer, name text, category text, brand text, price real);
create table carts (cart_id text, customer_id text, created_at text, status text);
create table cart_items (cart_id text, product_id integer, quantity integer, unit_price real);
create table orders (
    order_id text, customer_id text, order_date text, cart_id text, order_total real,
    status text, campaign_id text, discount_code text
);
create table events (
    event_time text, event_type text, product_id integer, category_code text, brand text,
    price real, user_id text, session_id text
);
"""
_INDEXES = """
create index carts_cart_id on carts (cart_id);
create index carts_created_at on carts (created_at);
create index carts_customer_id on carts (customer_id);
create index cart_items_cart_id on cart_items (cart_id);
create index orders_customer_id_order_date on orders (customer_id, order_date);
create index orders_cart_id on orders (cart_id);
create index customers_customer_id on customers (customer_id);
create index products_product_id on products (product_id);
"""


def generate_demo(
    path: Path,
    *,
    seed: int = 42,
    scale: float = 1.0,
    end: date | None = None,
    months: int = 13,
) -> DemoSummary:
    """Write a new demo SQLite database at ``path`` and return what it holds.

    The data covers ``months`` whole months before ``end``'s month up to ``end``
    (exclusive, default today). ``scale=1`` makes about 50,000 carts and 1.2 million
    events; the same seed, scale and end give identical table contents.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months!r}")
    end = end or date.today()
    start = _months_before(end, months)
    tables = _build(np.random.default_rng(seed), start, end, scale)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    if tmp == path:
        tmp = path.with_suffix(".tmp.tmp")
    tmp.unlink(missing_ok=True)
    try:
        _write(tmp, tables)
        add_campaigns(tmp, seed=seed, start=start, end=end)  # campaign tables beside the orders
        add_experiments(tmp, seed=seed, start=start, end=end)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    counts = {name: len(next(iter(cols.values()))) for name, cols in tables.items()}
    return DemoSummary(path=path, seed=seed, start=start, end=end, **counts)


# --- generation -------------------------------------------------------------------------

Columns = dict[str, np.ndarray]


def _build(rng: np.random.Generator, start: date, end: date, scale: float) -> dict[str, Columns]:
    """Return every table as columns (object arrays hold None for NULL)."""
    days = (end - start).days
    end_s = days * DAY
    n_carts = max(1, round(CARTS_PER_SCALE * scale))
    n_cust = max(1, round(CUSTOMERS_PER_SCALE * scale))
    day_dates = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))
    weekday = (day_dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month_of_day = day_dates.astype("datetime64[M]").astype(np.int64)
    cal_month = month_of_day % 12  # 0 = January
    ordinal = month_of_day - month_of_day[0]  # months since the start

    # Products: fixed catalogue, one block per category.
    prod_cat = np.repeat(np.arange(len(_CATEGORIES)), [c.products for c in _CATEGORIES])
    median = np.array([c.median_price for c in _CATEGORIES])[prod_cat]
    sigma = np.array([c.price_sigma for c in _CATEGORIES])[prod_cat]
    raw_price = np.clip(rng.lognormal(np.log(median), sigma), median / 5, median * 8)
    price = np.where(raw_price >= 5, np.floor(raw_price) + 0.99, np.round(raw_price, 2))
    products = _products(rng, prod_cat, price)
    prod_key = _category_sampling_keys(rng, prod_cat)

    # Customers.
    tier = rng.choice(4, n_cust, p=_TIER_SHARE)
    channel = rng.choice(len(CHANNELS), n_cust, p=_CHANNEL_SHARE)
    clv = _choice_rows(rng, np.array(_CLV_BY_TIER), tier)
    activity = rng.gamma(0.9, 1.0, n_cust) * np.array(_TIER_ACTIVITY)[tier]
    age = np.clip(np.round(rng.normal(39, 13, n_cust)), 18, 80).astype(np.int64)
    blank_channel = rng.random(n_cust) < 0.025

    # Carts: a day x hour grid weighted by week, day and season, then seconds within the hour.
    hours = _hour_weights()
    day_w = (
        np.array(_WEEKDAY)[weekday]
        * np.array(_SEASON)[cal_month]
        * (1 + 0.012 * ordinal)
        * _holiday_boost(day_dates)
        * rng.lognormal(0, 0.06, days)
    )
    cell_p = (day_w[:, None] * hours[weekday]).ravel()
    cell_p /= cell_p.sum()
    secs = np.sort(
        rng.choice(cell_p.size, n_carts, p=cell_p) * HOUR + rng.integers(0, HOUR, n_carts)
    )
    cart_day = secs // DAY
    guest = rng.random(n_carts) < 0.01
    cart_cust = rng.choice(n_cust, n_carts, p=activity / activity.sum())
    cart_cust[guest] = -1

    # Lines: 1-6 per cart, mostly from the cart's main category (seasonal), no repeats yet.
    n_lines = 1 + np.minimum(rng.poisson(2.0, n_carts), 5)
    line_cart = np.repeat(np.arange(n_carts), n_lines)
    cat_pop = np.array([c.popularity for c in _CATEGORIES])
    month_cat = np.array(
        [
            [c.popularity * (1.7 if m + 1 in c.peak_months else 1.0) for c in _CATEGORIES]
            for m in range(12)
        ]
    )
    main_cat = _choice_rows(rng, month_cat / month_cat.sum(1, keepdims=True), cal_month[cart_day])
    line_cat = np.where(
        rng.random(line_cart.size) < 0.7,
        main_cat[line_cart],
        rng.choice(len(_CATEGORIES), line_cart.size, p=cat_pop / cat_pop.sum()),
    )
    line_prod = np.searchsorted(prod_key, line_cat + rng.random(line_cart.size), side="right")
    _, first = np.unique(line_cart * 1024 + line_prod, return_index=True)
    keep = np.sort(first)
    line_cart, line_prod = line_cart[keep], line_prod[keep]
    p_more = np.where(price >= 150, 0.12, np.where(price < 20, 0.45, 0.28))[line_prod]
    qty = np.minimum(rng.geometric(1 - p_more), 6)
    sale = rng.random(line_cart.size) < 0.1
    unit = np.round(price[line_prod] * np.where(sale, 1 - rng.uniform(0.05, 0.3, sale.size), 1), 2)
    value = np.bincount(line_cart, weights=qty * unit, minlength=n_carts)

    # Conversion: tier, channel, main category, cart value and a monthly drift.
    cust_tier = np.where(guest, 0, tier[cart_cust])
    cust_channel = np.where(guest | blank_channel[cart_cust], -1, channel[cart_cust])
    drift = np.cumsum(rng.normal(0, 0.05, ordinal.max() + 1))
    logit = (
        -0.05
        + np.array(_TIER_LOGIT)[cust_tier]
        + np.append(_CHANNEL_LOGIT, 0.0)[cust_channel]
        - 0.4 * guest
        + np.array([c.conversion for c in _CATEGORIES])[main_cat]
        - np.clip(0.3 * np.log(np.maximum(value, 1) / 70), -0.6, 0.9)
        + (drift - drift.mean())[ordinal[cart_day]]
        + np.array(_SEASON_LOGIT)[cal_month[cart_day]]
    )
    status = np.where(rng.random(n_carts) < 1 / (1 + np.exp(-logit)), 0, 1)
    status[(status == 1) & (rng.random(n_carts) < 0.12)] = 2

    # Converted carts are ordered minutes to days later, most within the hour.
    kind = rng.choice(3, n_carts, p=(0.72, 0.18, 0.10))
    delay = np.select(
        [kind == 0, kind == 1],
        [60 + np.minimum(rng.gamma(1.5, 600, n_carts), 3_000), rng.uniform(HOUR, DAY, n_carts)],
        DAY + np.minimum(rng.exponential(3 * DAY, n_carts), 13 * DAY),
    ).astype(np.int64)
    order_s = secs + delay
    age_s = end_s - secs
    # Not yet ordered by the end: still open if recent, else timed out as abandoned.
    late = (status == 0) & (order_s >= end_s)
    status[late] = np.where(age_s[late] < 3 * DAY, 3, 1)
    p_open = np.select([age_s < DAY, age_s < 2 * DAY, age_s < 3 * DAY], [0.85, 0.5, 0.2], 0)
    status[(status != 0) & (rng.random(n_carts) < p_open)] = 3

    # Some abandoners come back and order 1-7 days later (a few at 8-10 days).
    p_back = 0.19 * np.array(_TIER_RETURN)[cust_tier] * np.where(status == 2, 0.6, 1.0)
    back = np.isin(status, (1, 2)) & ~guest & (rng.random(n_carts) < p_back)
    back_days = rng.choice(
        np.arange(1, 11), n_carts, p=np.array([22, 18, 14, 11, 9, 8, 6, 5, 4, 3]) / 100
    )
    back_s = secs + back_days * DAY + rng.integers(-6 * HOUR, 6 * HOUR, n_carts)
    back &= back_s < end_s

    # Emptied carts lose their lines, then line defects: duplicates and invalid lines.
    all_cart, all_prod, all_unit = line_cart, line_prod, unit  # events see emptied carts' lines
    kept = status[line_cart] != 2
    line_cart, line_prod, qty, unit = line_cart[kept], line_prod[kept], qty[kept], unit[kept]
    line_cart, line_prod, qty, unit, null_price = _line_defects(
        rng, line_cart, line_prod, qty, unit, n_carts
    )
    valid = (qty > 0) & ~null_price
    final_value = np.bincount(line_cart[valid], weights=(qty * unit)[valid], minlength=n_carts)

    # Orders: converted carts, returning abandoners and a few orders without a cart.
    conv = np.flatnonzero(status == 0)
    came_back = np.flatnonzero(back)
    n_extra = round(0.06 * n_carts)
    extra_cust = rng.choice(n_cust, n_extra, p=activity / activity.sum())
    extra_s = rng.choice(cell_p.size, n_extra, p=cell_p) * HOUR + rng.integers(0, HOUR, n_extra)
    o_cust = np.concatenate([cart_cust[conv], cart_cust[came_back], extra_cust])
    o_secs = np.concatenate([order_s[conv], back_s[came_back], extra_s])
    o_cart = np.concatenate([conv, np.full(came_back.size + n_extra, -1)])
    o_kind = np.repeat([0, 1, 2], [conv.size, came_back.size, n_extra])
    o_total = np.concatenate(
        [
            np.round(final_value[conv], 2),
            np.round(value[came_back] * rng.uniform(0.75, 1.05, came_back.size), 2),
            np.round(np.maximum(rng.lognormal(np.log(55), 0.8, n_extra), 4.99), 2),
        ]
    )
    unlinked = (o_kind == 0) & (o_cust >= 0) & (rng.random(o_kind.size) < 0.15)
    o_cart[unlinked] = -1
    order = np.argsort(o_secs, kind="stable")
    o_cust, o_secs, o_cart, o_kind, o_total = (
        a[order] for a in (o_cust, o_secs, o_cart, o_kind, o_total)
    )

    # Signups come before each customer's first cart or order; ids follow signup order.
    first_s = np.full(n_cust, np.iinfo(np.int64).max)
    np.minimum.at(first_s, cart_cust[~guest], secs[~guest])
    has_cust = o_cust >= 0
    np.minimum.at(first_s, o_cust[has_cust], o_secs[has_cust])
    active = first_s < np.iinfo(np.int64).max
    lag = np.where(
        rng.random(n_cust) < 0.35,
        np.floor(rng.exponential(4, n_cust)),
        rng.integers(0, 1500, n_cust),
    ).astype(np.int64)
    signup_day = np.where(active, first_s // DAY - lag, rng.integers(-1500, days, n_cust))
    rank = np.empty(n_cust, np.int64)
    rank[np.argsort(signup_day, kind="stable")] = np.arange(n_cust)
    cust_ids = _ids("C", n_cust, 6)
    by_rank = np.argsort(rank)
    cust_id_of = cust_ids[np.append(rank, n_cust)]  # index -1 (guest) maps to None

    signup_channel = np.array(CHANNELS, object)[channel]
    signup_channel[blank_channel] = np.where(rng.random(blank_channel.sum()) < 0.5, "", None)
    age_obj = age.astype(object)
    age_obj[rng.random(n_cust) < 0.004] = None
    customers = {
        "customer_id": cust_ids[:n_cust],
        "signup_date": _dates(start, signup_day[by_rank]),
        "signup_channel": signup_channel[by_rank],
        "loyalty_tier": np.array(TIERS, object)[tier[by_rank]],
        "clv_bucket": np.array(CLV_BUCKETS, object)[clv[by_rank]],
        "age": age_obj[by_rank],
    }

    cart_ids = _ids("CART", n_carts, 7)
    carts = _carts(rng, start, cart_ids, cust_id_of[cart_cust], secs, status)

    price_obj = unit.astype(object)
    price_obj[null_price] = None
    cart_items = {
        "cart_id": cart_ids[line_cart],
        "product_id": products["product_id"][line_prod],
        "quantity": qty,
        "unit_price": price_obj,
    }

    o_channel = np.where((o_cust < 0) | blank_channel[o_cust], len(CHANNELS), channel[o_cust])
    orders = {
        "order_id": _ids("ORD", o_secs.size, 7)[:-1],
        "customer_id": cust_id_of[o_cust],
        "order_date": _timestamps(start, o_secs),
        "cart_id": cart_ids[o_cart],
        "order_total": o_total,
        **_order_labels(rng, end_s, o_secs, o_kind, o_channel, day_dates),
    }
    # Last, so the other tables do not depend on how the events are drawn.
    shop = ShopActivity(
        start=start,
        end_s=end_s,
        cell_p=cell_p,
        products=products,
        prod_cat=prod_cat,
        prod_key=prod_key,
        cat_popularity=cat_pop / cat_pop.sum(),
        customer_ids=cust_id_of,
        customer_weight=activity,
        signup_day=signup_day,
        cart_secs=secs,
        cart_customer=cart_cust,
        cart_status=status,
        line_cart=all_cart,
        line_prod=all_prod,
        line_price=all_unit,
        order_s=order_s,
        came_back=back,
        back_s=back_s,
    )
    return {
        "customers": customers,
        "products": products,
        "carts": carts,
        "cart_items": cart_items,
        "orders": orders,
        "events": build_events(rng, shop),
    }


def _products(rng: np.random.Generator, prod_cat: np.ndarray, price: np.ndarray) -> Columns:
    """Return the catalogue: brand-adjective-noun names, a few NULL categories or brands."""
    n = prod_cat.size
    names, brands = [], []
    picks = rng.integers(0, 1 << 30, (n, 3))
    for (b, a, k), c in zip(picks.tolist(), prod_cat.tolist(), strict=True):  # 400 rows
        cat = _CATEGORIES[c]
        brand = cat.brands[b % len(cat.brands)]
        brands.append(brand)
        names.append(f"{brand} {_ADJECTIVES[a % len(_ADJECTIVES)]} {cat.nouns[k % len(cat.nouns)]}")
    category = np.array([c.name for c in _CATEGORIES], object)[prod_cat]
    brand = np.array(brands, object)
    category[rng.choice(n, 4, replace=False)] = None
    brand[rng.choice(n, 6, replace=False)] = None
    return {
        "product_id": np.arange(1001, 1001 + n),
        "name": np.array(names, object),
        "category": category,
        "brand": brand,
        "price": price,
    }


def _category_sampling_keys(rng: np.random.Generator, prod_cat: np.ndarray) -> np.ndarray:
    """Return sorted keys ``category + cumulative popularity`` for searchsorted sampling."""
    keys = np.empty(prod_cat.size)
    for c in range(len(_CATEGORIES)):
        idx = np.flatnonzero(prod_cat == c)
        w = 1 / (rng.permutation(idx.size) + 3.0) ** 0.9  # a few best sellers per category
        cum = np.cumsum(w) / w.sum()
        cum[-1] = 1.0
        keys[idx] = c + cum
    return keys


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Return one draw per element of ``row`` from the distribution ``probs[row]``."""
    u = rng.random(row.size)
    out = np.empty(row.size, np.int64)
    cum = np.cumsum(probs, axis=1)
    for r in range(probs.shape[0]):  # one pass per distribution, not per row
        mask = row == r
        out[mask] = np.minimum(np.searchsorted(cum[r], u[mask], side="right"), probs.shape[1] - 1)
    return out


def _hour_weights() -> np.ndarray:
    """Return carts per hour for each weekday: peaks near 12:00 and 20:00, quiet nights."""
    h = np.arange(24) + 0.5
    base = (
        0.08
        + 0.35 * np.exp(-(((h - 9.5) / 2.0) ** 2))
        + 0.85 * np.exp(-(((h - 12.5) / 1.6) ** 2))
        + 0.45 * np.exp(-(((h - 16.0) / 2.0) ** 2))
        + 1.10 * np.exp(-(((h - 20.5) / 1.7) ** 2))
        - 0.06 * ((h > 1) & (h < 6))
    )
    evening = (h >= 18) & (h < 23)
    weights = np.tile(base, (7, 1))
    weights[0:4, evening] *= 1.3  # Monday-Thursday evenings
    weights[5, evening] *= 0.75  # Saturday evening out
    weights[5:7, (h >= 9) & (h < 17)] *= 1.15  # weekend daytime
    weights[6, evening] *= 1.1  # Sunday evening
    return weights / weights.sum(axis=1, keepdims=True)


def _holiday_boost(day_dates: np.ndarray) -> np.ndarray:
    """Return a per-day multiplier for Black Friday, Cyber Monday and Christmas."""
    boost = np.ones(day_dates.size)
    years = range(int(str(day_dates[0])[:4]), int(str(day_dates[-1])[:4]) + 1)
    for year in years:  # a handful of years
        nov1 = date(year, 11, 1)
        thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        special = {
            thanksgiving + timedelta(days=1): 2.3,
            thanksgiving + timedelta(days=2): 1.5,
            thanksgiving + timedelta(days=3): 1.4,
            thanksgiving + timedelta(days=4): 1.9,
            date(year, 12, 24): 0.6,
            date(year, 12, 25): 0.45,
            date(year, 12, 26): 0.8,
        }
        for day, factor in special.items():
            boost[day_dates == np.datetime64(day, "D")] *= factor
    return boost


def _line_defects(
    rng: np.random.Generator,
    line_cart: np.ndarray,
    line_prod: np.ndarray,
    qty: np.ndarray,
    unit: np.ndarray,
    n_carts: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the lines with ~0.5% duplicated (added twice) and ~0.1% invalid lines."""
    n = line_cart.size
    u = rng.random(n)
    multi = np.bincount(line_cart, minlength=n_carts)[line_cart] >= 2
    bad = multi & (u < 0.001)  # invalid lines only in carts with another line
    dup = ~bad & (u > 0.995)
    bad_qty = bad & (rng.random(n) < 0.5)
    qty = np.where(bad_qty, 0, qty)
    null_price = bad & ~bad_qty
    order = np.argsort(np.concatenate([np.arange(n), np.flatnonzero(dup)]), kind="stable")
    src = np.concatenate([np.arange(n), np.flatnonzero(dup)])[order]
    readd = np.concatenate([np.zeros(n, bool), np.ones(dup.sum(), bool)])[order]
    new_qty = np.where(readd, 1, qty[src])
    return line_cart[src], line_prod[src], new_qty, unit[src], null_price[src]


def _carts(
    rng: np.random.Generator,
    start: date,
    cart_ids: np.ndarray,
    customer: np.ndarray,
    secs: np.ndarray,
    status: np.ndarray,
) -> Columns:
    """Return the carts table with ~0.2% duplicate rows and ~2% status spelling variants."""
    n = secs.size
    u = rng.random(n)
    dup = (status != 3) & (u < 0.002)
    idx = np.concatenate([np.arange(n), np.flatnonzero(dup)])
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    extra = np.concatenate([np.zeros(n, bool), np.ones(dup.sum(), bool)])[order]
    # A converted cart's stale copy says abandoned; an abandoned cart's says open or repeats.
    row_status = status[idx].copy()
    stale = np.where(row_status == 0, 1, np.where(rng.random(idx.size) < 0.5, 3, row_status))
    row_status = np.where(extra, stale, row_status)
    text = np.array(CART_STATUSES, object)[row_status]
    variant = rng.random(idx.size) < 0.02
    pick = rng.integers(0, 3, idx.size)
    for s, spellings in enumerate(_STATUS_VARIANTS):
        mask = variant & (row_status == s)
        text[mask] = np.array(spellings, object)[pick[mask] % len(spellings)]
    return {
        "cart_id": cart_ids[idx],
        "customer_id": customer[idx],
        "created_at": _timestamps(start, secs[idx]),
        "status": text,
    }


def _order_labels(
    rng: np.random.Generator,
    end_s: int,
    secs: np.ndarray,
    kind: np.ndarray,
    channel: np.ndarray,
    day_dates: np.ndarray,
) -> Columns:
    """Return order statuses, campaigns and discount codes (kind 1: a returning abandoner)."""
    n = secs.size
    recent = end_s - secs < 4 * DAY
    status = np.where(
        recent,
        rng.choice(4, n, p=(0.25, 0.70, 0.0, 0.05)),
        rng.choice(4, n, p=(0.86, 0.01, 0.08, 0.05)),
    )
    order_day = secs // DAY
    month = (day_dates.astype("datetime64[M]").astype(np.int64) % 12)[order_day]

    campaign = np.where(
        rng.random(n) < 0.38, _choice_rows(rng, np.array(_CAMPAIGN_BY_CHANNEL), channel), -1
    )
    u = rng.random(n)
    campaign[np.isin(month, (10, 11)) & (u < 0.3)] = 5  # holiday sale
    campaign[(month == 6) & (u < 0.2)] = 6  # summer sale
    recovery = kind == 1
    campaign[recovery & (rng.random(n) < 0.6)] = 4  # the abandoned-cart reminder worked

    code = np.where(rng.random(n) < 0.17, rng.choice(3, n, p=(0.35, 0.35, 0.30)), -1)
    code[recovery] = np.where(rng.random(n) < 0.4, 3, -1)[recovery]
    black_friday = _holiday_boost(day_dates)[order_day] > 1.3
    code[black_friday & (rng.random(n) < 0.45)] = 4
    return {
        "status": np.array(ORDER_STATUSES, object)[status],
        "campaign_id": np.array([*CAMPAIGNS, None], object)[campaign],
        "discount_code": np.array([*_DISCOUNT_CODES, None], object)[code],
    }


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Return ids ``prefix000001``.. for 1..n, then None (so index -1 means NULL)."""
    width = max(width, len(str(n)))
    return np.array([*(f"{prefix}{i:0{width}d}" for i in range(1, n + 1)), None], object)


def _timestamps(start: date, secs: np.ndarray) -> np.ndarray:
    """Return ``YYYY-MM-DD HH:MM:SS`` texts for seconds after ``start``."""
    text = (np.datetime64(start, "s") + secs.astype("timedelta64[s]")).astype("U19")
    text.view(np.uint32).reshape(-1, 19)[:, 10] = ord(" ")  # the ISO 'T' becomes a space
    return text.astype(object)


def _dates(start: date, days: np.ndarray) -> np.ndarray:
    """Return ``YYYY-MM-DD`` texts for days after ``start``."""
    return (np.datetime64(start, "D") + days.astype("timedelta64[D]")).astype("U10").astype(object)


def _months_before(end: date, months: int) -> date:
    """Return the first day of the month ``months`` months before ``end``'s month."""
    total = end.year * 12 + end.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


# --- writing ----------------------------------------------------------------------------


def _write(path: Path, tables: dict[str, Columns]) -> None:
    """Write the tables and reporting indexes into a new SQLite file."""
    con = sqlite3.connect(path)
    try:
        con.execute("pragma journal_mode = off")
        con.execute("pragma synchronous = off")
        con.executescript(_SCHEMA)
        for name, columns in tables.items():
            _insert(con, name, list(columns), list(columns.values()))
        con.executescript(_INDEXES)
        con.execute("analyze")
        con.commit()
    finally:
        con.close()


def _insert(
    con: sqlite3.Connection, table: str, names: Sequence[str], columns: Sequence[np.ndarray]
) -> None:
    """Insert column arrays in chunks so memory stays flat at large scales."""
    sql = f"insert into {table} ({', '.join(names)}) values ({', '.join('?' * len(names))})"
    for at in range(0, len(columns[0]), _CHUNK):
        con.executemany(sql, zip(*(c[at : at + _CHUNK].tolist() for c in columns), strict=True))
