"""Retell the demo shop's carts and orders as a REES46-style event log (METRICS.md §1 events).

Every cart becomes a session: views of its products before ``created_at``, one ``cart``
event per line at ``created_at``, removals for emptied carts and a few abandoned ones,
then ``purchase`` events at the order time (in the same session when the order follows
within two hours). Returning abandoners buy their cart in a new session. Browsing
sessions that never reach a cart make up the rest of the views, with a few showroom
products that draw many views and are never bought. Defects, as a real tracker has them:
exact duplicate rows, zero prices, unmapped types (``wishlist``), spelling variants of
types, NULL brands and categories.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import numpy as np

VIEWS_PER_CART = 8.0
"""View events per cart of the carts table (REES46 has about 15 per cart event; the demo
keeps fewer so that it builds in seconds on SQLite)."""

DAY = 86_400
HOUR = 3_600

EVENT_TYPES = (
    "view",
    "cart",
    "add_to_cart",
    "remove_from_cart",
    "purchase",
    "wishlist",
    " View",
    "CART ",
)
_VIEW, _CART, _ADD, _REMOVE, _PURCHASE, _WISHLIST, _VIEW_VARIANT, _CART_VARIANT = range(8)

# Demo product noun → REES46-style dotted category code.
_CATEGORY_CODES = {
    "Wireless Earbuds": "electronics.audio.headphone",
    "Bluetooth Speaker": "electronics.audio.acoustic",
    "Smartwatch": "electronics.clocks",
    "4K Monitor": "computers.peripherals.monitor",
    "Mechanical Keyboard": "computers.peripherals.keyboard",
    "Tablet": "electronics.tablet",
    "Action Camera": "electronics.camera.video",
    "Noise-Cancelling Headphones": "electronics.audio.headphone",
    "Portable SSD": "computers.components.hdd",
    "Smart Doorbell": "electronics.video.surveillance",
    "Office Chair": "furniture.office.chair",
    "Bookshelf": "furniture.living_room.shelving",
    "Coffee Table": "furniture.living_room.table",
    "Sofa Bed": "furniture.living_room.sofa",
    "Standing Desk": "furniture.office.desk",
    "Wardrobe": "furniture.bedroom.wardrobe",
    "Bar Stool": "furniture.kitchen.chair",
    "TV Stand": "furniture.living_room.cabinet",
    "Chef's Knife": "kitchen.utensils.knife",
    "Air Fryer": "appliances.kitchen.fryer",
    "Espresso Machine": "appliances.kitchen.coffee_machine",
    "Cookware Set": "kitchen.cookware.pan",
    "Blender": "appliances.kitchen.blender",
    "Bedding Set": "home.textile.bedding",
    "Storage Boxes": "home.storage.box",
    "Table Lamp": "home.lighting.lamp",
    "Denim Jacket": "apparel.outerwear.jacket",
    "Running Shoes": "apparel.shoes.sport",
    "Wool Sweater": "apparel.top.sweater",
    "Leather Belt": "accessories.belt",
    "Sneakers": "apparel.shoes.sneakers",
    "Rain Coat": "apparel.outerwear.coat",
    "T-Shirt Pack": "apparel.top.tshirt",
    "Handbag": "accessories.bag",
    "Face Serum": "beauty.skin_care.serum",
    "Moisturiser": "beauty.skin_care.cream",
    "Lipstick": "beauty.makeup.lipstick",
    "Shampoo": "beauty.hair_care.shampoo",
    "Sunscreen SPF 50": "beauty.skin_care.sunscreen",
    "Perfume": "beauty.fragrance.perfume",
    "Nail Polish Set": "beauty.makeup.nail",
    "Yoga Mat": "sport.fitness.mat",
    "Dumbbell Set": "sport.fitness.weights",
    "Hiking Backpack": "sport.outdoor.backpack",
    "Tent": "sport.outdoor.tent",
    "Cycling Helmet": "sport.bicycle.helmet",
    "Water Bottle": "sport.outdoor.bottle",
    "Running Watch": "electronics.clocks",
    "Building Set": "kids.toys.constructor",
    "Board Game": "kids.toys.board_game",
    "Jigsaw Puzzle": "kids.toys.puzzle",
    "Plush Bear": "kids.toys.plush",
    "RC Car": "kids.toys.rc_car",
    "Doll House": "kids.toys.doll",
    "Cookbook": "stationery.books.cooking",
    "Thriller Novel": "stationery.books.fiction",
    "Picture Book": "stationery.books.kids",
    "Travel Guide": "stationery.books.travel",
    "Biography": "stationery.books.nonfiction",
    "Sci-Fi Paperback": "stationery.books.fiction",
    "Coffee Beans": "grocery.drinks.coffee",
    "Green Tea": "grocery.drinks.tea",
    "Olive Oil": "grocery.pantry.oil",
    "Dark Chocolate": "grocery.sweets.chocolate",
    "Granola": "grocery.pantry.cereal",
    "Pasta": "grocery.pantry.pasta",
    "Hose Reel": "country_yard.watering.hose",
    "Lawn Mower": "appliances.garden.lawn_mower",
    "Planter Set": "country_yard.planting.pot",
    "Pruning Shears": "country_yard.tools.shears",
    "Garden Lights": "country_yard.lighting.lamp",
    "Seed Kit": "country_yard.planting.seeds",
}


@dataclass(frozen=True)
class ShopActivity:
    """What the demo's carts and orders did, by array index, for the event log to retell."""

    start: date
    end_s: int
    """Seconds from ``start`` to the end of the data (exclusive)."""
    cell_p: np.ndarray
    """Probability of each (day, hour) cell, days from ``start``: when people shop."""
    products: dict[str, np.ndarray]
    """The products table (product_id, name, category, brand, price)."""
    prod_cat: np.ndarray
    """Category index of each product."""
    prod_key: np.ndarray
    """Sorted ``category + cumulative popularity`` keys for searchsorted sampling."""
    cat_popularity: np.ndarray
    customer_ids: np.ndarray
    """customer_id by customer index; the extra last element is None (index -1: a guest)."""
    customer_weight: np.ndarray
    """How active each customer is."""
    signup_day: np.ndarray
    """Signup day of each customer, days from ``start`` (negative: before the data)."""
    cart_secs: np.ndarray
    cart_customer: np.ndarray
    """Customer index of each cart, -1 for a guest."""
    cart_status: np.ndarray
    """0 converted, 1 abandoned, 2 emptied, 3 open."""
    line_cart: np.ndarray
    """Cart index of each line (sorted), lines of emptied carts included."""
    line_prod: np.ndarray
    line_price: np.ndarray
    order_s: np.ndarray
    """Order time of each cart, meaningful for converted carts."""
    came_back: np.ndarray
    """Whether each (abandoned or emptied) cart's customer came back and ordered."""
    back_s: np.ndarray


def build_events(rng: np.random.Generator, shop: ShopActivity) -> dict[str, np.ndarray]:
    """Return the events table as columns, ordered by event_time."""
    n_carts = shop.cart_secs.size
    first_line = np.searchsorted(shop.line_cart, np.arange(n_carts))
    line_pos = np.arange(shop.line_cart.size) - first_line[shop.line_cart]
    n_lines = np.bincount(shop.line_cart, minlength=n_carts)
    # Five of the 40 dearest products draw many views and are never bought.
    dearest = np.argsort(shop.products["price"], kind="stable")[-40:]
    showroom = rng.choice(dearest, 5, replace=False)

    parts = [
        _cart_sessions(rng, shop, first_line, n_lines),
        *_purchases(rng, shop, line_pos, showroom, n_carts),
    ]
    sessions = sum(p.sessions for p in parts)
    views = sum(int((p.kind == _VIEW).sum()) for p in parts)
    browsing = _browsing(rng, shop, round(VIEWS_PER_CART * n_carts) - views, showroom, sessions)
    parts.append(browsing)
    sessions += browsing.sessions
    ev = _Events.concat(parts)

    # Tracker defects: an unmapped type, spelling variants, zero prices, exact copies.
    wish = np.flatnonzero((ev.kind == _VIEW) & (rng.random(ev.t.size) < 0.003))
    wish_t = np.minimum(ev.t[wish] + 5, shop.end_s - 1)
    ev = _Events.concat([ev, ev.take(wish).replace(t=wish_t, kind=_WISHLIST)])
    n = ev.t.size
    u = rng.random(n)
    kind = ev.kind.copy()
    kind[(ev.kind == _VIEW) & (u < 0.0004)] = _VIEW_VARIANT
    kind[(ev.kind == _CART) & (u < 0.002)] = _CART_VARIANT
    price = np.where((ev.kind == _VIEW) & (rng.random(n) < 0.001), 0.0, ev.price)
    ev = ev.replace(kind=kind, price=price)
    ev = _Events.concat([ev, ev.take(np.flatnonzero(rng.random(n) < 0.003))])
    ev = ev.take(np.lexsort((ev.seq, ev.session, ev.t)))
    return _columns(rng, shop, ev, sessions)


# --- event parts ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Events:
    """Events as parallel arrays; ``seq`` orders events of a session at the same second."""

    t: np.ndarray
    kind: np.ndarray
    prod: np.ndarray
    """Product index."""
    price: np.ndarray
    customer: np.ndarray
    """Customer index, -1 for a guest."""
    session: np.ndarray
    """Session number; numbers are global, assigned by the caller."""
    seq: np.ndarray
    sessions: int = 0
    """Session numbers this part opened."""

    @staticmethod
    def concat(parts: list[_Events]) -> _Events:
        return _Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in _COLUMNS))

    def take(self, idx: np.ndarray) -> _Events:
        return _Events(*(getattr(self, f)[idx] for f in _COLUMNS))

    def replace(self, **columns: np.ndarray | int) -> _Events:
        """Return a copy with some columns replaced (a number fills the whole column)."""
        n = self.t.size
        new = {name: np.broadcast_to(value, (n,)).copy() for name, value in columns.items()}
        return dataclasses.replace(self, **new)


_COLUMNS = ("t", "kind", "prod", "price", "customer", "session", "seq")


def _make(
    t: np.ndarray,
    kind: int | np.ndarray,
    prod: np.ndarray,
    price: np.ndarray,
    customer: np.ndarray,
    session: np.ndarray,
    seq: np.ndarray,
    sessions: int = 0,
) -> _Events:
    n = t.size
    return _Events(
        t.astype(np.int64),
        np.broadcast_to(np.asarray(kind, np.int64), (n,)).copy(),
        prod,
        price,
        customer,
        session,
        np.broadcast_to(seq, (n,)).astype(np.int64),
        sessions,
    )


def _cart_sessions(
    rng: np.random.Generator, shop: ShopActivity, first_line: np.ndarray, n_lines: np.ndarray
) -> _Events:
    """Return views before each cart, its cart events, and removals (session = cart index)."""
    n_carts = shop.cart_secs.size
    lc, lp, secs = shop.line_cart, shop.line_prod, shop.cart_secs
    list_price = shop.products["price"]

    # Views: each line's product 1-3 times, plus browsing around the main category.
    per_line = 1 + np.minimum(rng.poisson(0.5, lc.size), 2)
    seen = np.repeat(np.arange(lc.size), per_line)
    extra = rng.poisson(2.0, n_carts)
    extra_cart = np.repeat(np.arange(n_carts), extra)
    main_cat = shop.prod_cat[lp[first_line]][extra_cart]
    other = rng.choice(shop.cat_popularity.size, extra_cart.size, p=shop.cat_popularity)
    browse_cat = np.where(rng.random(extra_cart.size) < 0.7, main_cat, other)
    browse_prod = _sample_products(rng, shop, browse_cat)
    view_cart = np.concatenate([lc[seen], extra_cart])
    view_prod = np.concatenate([lp[seen], browse_prod])
    length = 30 + rng.gamma(2.0, 300.0, n_carts)
    ahead = 1 + np.floor(rng.random(view_cart.size) * length[view_cart])
    view_t = np.maximum(secs[view_cart] - ahead, _signup_s(shop)[shop.cart_customer[view_cart]])
    views = _make(
        view_t,
        _VIEW,
        view_prod,
        list_price[view_prod],
        shop.cart_customer[view_cart],
        view_cart,
        0,
    )

    # Cart events at created_at; some storefronts send add_to_cart.
    alias = np.where(rng.random(n_carts) < 0.12, _ADD, _CART)
    line_seq = np.arange(lc.size) - first_line[lc]
    carts = _make(
        secs[lc],
        alias[lc],
        lp,
        shop.line_price,
        shop.cart_customer[lc],
        lc,
        1 + line_seq,
    )

    # Emptied carts lose every line; a fifth of abandoned carts lose one.
    status = shop.cart_status
    emptied = status[lc] == 2
    one = (status == 1) & (rng.random(n_carts) < 0.2)
    pick = first_line + np.floor(rng.random(n_carts) * n_lines).astype(np.int64)
    removed = emptied.copy()
    removed[pick[one]] = True
    later = rng.gamma(2.0, 300.0, n_carts)
    wait = np.where(status == 2, 120 + rng.uniform(0, 2 * HOUR, n_carts), later)
    gone = np.flatnonzero(removed)
    remove_t = secs[lc[gone]] + np.floor(wait[lc[gone]]) + 4 * line_seq[gone]
    keep = remove_t < shop.end_s
    gone = gone[keep]
    removes = _make(
        remove_t[keep],
        _REMOVE,
        lp[gone],
        shop.line_price[gone],
        shop.cart_customer[lc[gone]],
        lc[gone],
        100 + line_seq[gone],
    )
    return dataclasses.replace(_Events.concat([views, carts, removes]), sessions=n_carts)


def _purchases(
    rng: np.random.Generator,
    shop: ShopActivity,
    line_pos: np.ndarray,
    showroom: np.ndarray,
    n_carts: int,
) -> list[_Events]:
    """Return purchase events of converted carts and of abandoners who came back.

    A converted cart's purchases are at its order time, in the cart's session when the
    order follows within two hours, else in a new session opened by a view. Returning
    abandoners buy their cart's lines in a new session at their order time.
    """
    lc, lp, secs, status = shop.line_cart, shop.line_prod, shop.cart_secs, shop.cart_status
    list_price = shop.products["price"]
    bought = ~np.isin(lp, showroom)  # showroom products are never bought

    conv_cart = status == 0
    new_session = conv_cart & (shop.order_s - secs >= 2 * HOUR)
    back_cart = shop.came_back
    opens = np.flatnonzero(new_session | back_cart)
    number = np.full(n_carts, -1)
    number[opens] = n_carts + np.arange(opens.size)
    session = np.where(new_session, number, np.arange(n_carts))
    buy_t = np.where(back_cart, shop.back_s, shop.order_s)
    session = np.where(back_cart, number, session)

    lines = np.flatnonzero((conv_cart | back_cart)[lc] & bought)
    last_t = shop.end_s - 1
    purchases = _make(
        np.minimum(buy_t[lc[lines]] + line_pos[lines], last_t),
        _PURCHASE,
        lp[lines],
        shop.line_price[lines],
        shop.cart_customer[lc[lines]],
        session[lc[lines]],
        200 + line_pos[lines],
    )
    # A new session starts with a view of the cart's first product a few minutes before.
    first = np.searchsorted(lc, opens)
    opener = _make(
        np.maximum(
            buy_t[opens] - rng.integers(60, 600, opens.size),
            _signup_s(shop)[shop.cart_customer[opens]],
        ),
        _VIEW,
        lp[first],
        list_price[lp[first]],
        shop.cart_customer[opens],
        number[opens],
        0,
        sessions=opens.size,
    )
    return [opener, purchases]


def _browsing(
    rng: np.random.Generator, shop: ShopActivity, views: int, showroom: np.ndarray, first: int
) -> _Events:
    """Return view-only sessions with about ``views`` views, numbered from ``first``.

    Sessions start when carts do (the day and hour weights), by customers already signed
    up, weighted by activity (1% guests); a session mostly stays in one category.
    """
    views = max(views, 0)
    per_session = 1.6
    n = round(views / per_session)
    drawn = round(n * 1.25) + 10
    cell = rng.choice(shop.cell_p.size, drawn, p=shop.cell_p)
    start = cell * HOUR + rng.integers(0, HOUR, drawn)
    weight = shop.customer_weight + 0.3
    customer = rng.choice(weight.size, drawn, p=weight / weight.sum())
    customer[rng.random(drawn) < 0.01] = -1
    signed_up = (customer < 0) | (shop.signup_day[customer] * DAY <= start)
    keep = np.flatnonzero(signed_up)[:n]
    start, customer = start[keep], customer[keep]
    n = keep.size

    size = rng.geometric(1 / per_session, n)
    session = np.repeat(np.arange(n), size)
    step = np.floor(rng.exponential(40.0, session.size)) + 1
    offset = np.cumsum(step)
    offset -= np.repeat(offset[np.cumsum(size) - size], size)  # restart at each session
    t = start[session] + offset
    cat = rng.choice(shop.cat_popularity.size, n, p=shop.cat_popularity)[session]
    other = rng.choice(shop.cat_popularity.size, session.size, p=shop.cat_popularity)
    prod = _sample_products(rng, shop, np.where(rng.random(session.size) < 0.75, cat, other))
    hero = rng.random(session.size) < 0.15
    prod[hero] = rng.choice(showroom, hero.sum())
    keep = t < shop.end_s
    return _make(
        t[keep],
        _VIEW,
        prod[keep],
        shop.products["price"][prod[keep]],
        customer[session[keep]],
        first + session[keep],
        0,
        sessions=n,
    )


def _signup_s(shop: ShopActivity) -> np.ndarray:
    """Return the earliest event time of each customer index (-1, a guest: the start)."""
    return np.append(np.maximum(shop.signup_day, 0) * DAY, 0)


def _sample_products(rng: np.random.Generator, shop: ShopActivity, cat: np.ndarray) -> np.ndarray:
    """Return a product index per category index, by popularity within the category."""
    idx = np.searchsorted(shop.prod_key, cat + rng.random(cat.size), side="right")
    return np.minimum(idx, shop.prod_key.size - 1)


# --- columns ----------------------------------------------------------------------------


def _columns(
    rng: np.random.Generator, shop: ShopActivity, ev: _Events, sessions: int
) -> dict[str, np.ndarray]:
    """Return the table's columns: REES46 text times, dotted categories, UUID sessions."""
    n = ev.t.size
    products = shop.products
    codes = _category_codes(products["name"], products["category"])
    category_code = codes[ev.prod]
    category_code[rng.random(n) < 0.004] = None
    brand = products["brand"][ev.prod].copy()
    brand[rng.random(n) < 0.012] = None
    return {
        "event_time": _utc_text(shop.start, ev.t),
        "event_type": np.array(EVENT_TYPES, object)[ev.kind],
        "product_id": products["product_id"][ev.prod],
        "category_code": category_code,
        "brand": brand,
        "price": ev.price,
        "user_id": shop.customer_ids[ev.customer],
        "session_id": _uuids(rng, sessions)[ev.session],
    }


def _category_codes(names: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Return each product's dotted category code from its noun; None without a category."""
    codes = np.empty(names.size, object)
    for i, (name, category) in enumerate(zip(names, categories, strict=True)):  # 400 rows
        if category is not None:
            codes[i] = next(c for noun, c in _CATEGORY_CODES.items() if name.endswith(noun))
    return codes


def _utc_text(start: date, secs: np.ndarray) -> np.ndarray:
    """Return ``YYYY-MM-DD HH:MM:SS UTC`` texts for seconds after ``start``."""
    # Formatting a million datetimes is slow: paste a day text and a time-of-day text.
    days = np.arange(secs.max() // DAY + 1 if secs.size else 1)
    day_text = (np.datetime64(start, "D") + days.astype("timedelta64[D]")).astype("U10")
    clock = (np.datetime64(0, "s") + np.arange(DAY).astype("timedelta64[s]")).astype("U19")
    clock.view(np.uint32).reshape(DAY, 19)[:, 10] = ord(" ")  # the ISO 'T' becomes a space
    parts = np.empty(secs.size, [("day", "U10"), ("clock", "U9"), ("zone", "U4")])
    parts["day"] = day_text[secs // DAY]
    parts["clock"] = clock.view([("date", "U10"), ("clock", "U9")])["clock"][secs % DAY]
    parts["zone"] = " UTC"
    return parts.view("U23")


def _uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return ``n`` random version-4 UUID texts."""
    nibbles = rng.integers(0, 16, (n, 32), dtype=np.uint8)
    nibbles[:, 12] = 4
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 3)
    text = np.full((n, 36), ord("-"), np.uint8)
    text[:, [i for i in range(36) if i not in (8, 13, 18, 23)]] = np.frombuffer(
        b"0123456789abcdef", np.uint8
    )[nibbles]
    return text.view("S36").ravel().astype("U36").astype(object)
