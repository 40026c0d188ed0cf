"""Generate a REES46-like event log of N rows as CSV or Parquet, for benchmarks.

    python benchmarks/gen_events.py --rows 10000000 --out /tmp/ev10m.parquet
    python benchmarks/gen_events.py --rows 10000000 --out /tmp/ev10m.csv --seed 7

The columns are REES46's "eCommerce events history in electronics store", in its order:
event_time (``2020-10-01 08:15:02 UTC``), event_type, product_id, category_id,
category_code, brand, price, user_id, user_session (a UUID). Its proportions too: about
0.4 distinct users and 0.55 sessions per event, ~4% cart and ~3.5% purchase events, a
little remove_from_cart, views the rest; ~20% NULL brands, ~25% NULL category codes,
~0.5% exact duplicate rows and ~0.2% zero prices.

Algorithm: sessions are drawn chunk by chunk, each chunk a slice of the time range (so
the file comes out nearly sorted by time), with numpy; a session is a few views and, for
some, a cart and a purchase of the product viewed last. numpy produces only numbers;
they go into a temporary on-disk DuckDB table, which one streaming query turns into
text (times, types, categories, brands, md5-based session UUIDs) and copies to the output.
Memory stays under about 1.5 GB whatever N is.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
VIEW, CART, REMOVE, PURCHASE = range(4)

EVENTS_PER_SESSION = 1.8
"""REES46 electronics: 885,129 events in about 490,000 sessions."""
USER_POOL = 0.8
"""Users to draw sessions from, per event: about half of them get a session, 0.4 per event."""
BUY, CART_ONLY, REMOVE_AFTER_CART = 0.063, 0.044, 0.5
"""Shares of sessions ending in cart + purchase and in a cart; of carts then removed."""
DUPLICATES, ZERO_PRICES = 0.005, 0.002
CHUNK = 1_000_000
DAY = 86_400
_HOURS = np.array([2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 9, 9, 9, 8, 8, 8, 9, 10, 10, 8, 5, 3.0])
"""Sessions by hour of the day (UTC)."""

# Top levels and leaves of the dotted category codes.
_TAXONOMY = {
    "electronics": ("smartphone", "audio.headphone", "video.tv", "tablet", "clocks", "telephone"),
    "computers": (
        "notebook",
        "desktop",
        "peripherals.printer",
        "peripherals.monitor",
        "components.videocards",
        "components.cooler",
        "components.hdd",
    ),
    "appliances": ("kitchen.refrigerators", "environment.vacuum", "personal.scales"),
    "furniture": ("living_room.sofa", "bedroom.bed", "kitchen.table"),
    "auto": ("accessories.player", "accessories.videoregister"),
    "construction": ("tools.drill", "tools.light"),
    "apparel": ("shoes", "glove"),
    "sport": ("bicycle", "trainer"),
    "kids": ("toys", "carriage"),
    "stationery": ("cartrige", "paper"),
}
_BRANDS = (
    "samsung apple xiaomi huawei lenovo asus acer hp canon epson sony lg philips bosch "
    "logitech gigabyte msi zalman pantum kingston sandisk tp-link jbl garmin cameronsino "
    "nokia oppo dell toshiba seagate wd intel amd nvidia palit sven defender a4tech genius"
).split()


def generate(out: Path, rows: int, seed: int, start: date, end: date) -> None:
    """Write ``rows`` events between ``start`` and ``end`` (exclusive) to ``out``."""
    began = time.perf_counter()
    rng = np.random.default_rng(seed)
    catalogue = _catalogue(rng, rows)
    span = int((np.datetime64(end, "s") - np.datetime64(start, "s")).astype(np.int64))
    origin = int(np.datetime64(start, "s").astype(np.int64))
    n_chunks = max(1, -(-rows // CHUNK))
    users = max(1, round(USER_POOL * rows))

    with tempfile.TemporaryDirectory(prefix="gen_events_") as work:
        con = duckdb.connect(str(Path(work) / "events.duckdb"))
        con.execute("set memory_limit = '1GB'")
        con.execute(f"set temp_directory = '{work}'")
        sessions = 0
        for c in range(n_chunks):
            want = rows // n_chunks + (c < rows % n_chunks)
            lo, hi = origin + span * c // n_chunks, origin + span * (c + 1) // n_chunks
            chunk, used = _chunk(rng, catalogue, want, lo, hi, origin + span, users, sessions)
            sessions += used
            con.register("chunk", chunk)
            if c == 0:
                con.execute("create table numbers as select * from chunk")
            else:
                con.execute("insert into numbers select * from chunk")
            con.unregister("chunk")
        print(f"numbers: {sessions:,} sessions in {time.perf_counter() - began:.1f} s")
        lists = [list(EVENT_TYPES), catalogue.codes, catalogue.brands, seed]
        text = con.sql(_AS_TEXT, params=lists)
        if out.suffix == ".csv":
            # REES46 prints prices with two decimals.
            text = text.select("* replace (price::decimal(12, 2) as price)")
            text.to_csv(str(out), header=True)
        else:
            text.to_parquet(str(out))
        con.close()


# Numbers → REES46 text, in table order (a plain projection keeps the insertion order).
_AS_TEXT = """
select
    strftime(make_timestamp(t * 1000000), '%Y-%m-%d %H:%M:%S') || ' UTC' as event_time,
    list_extract($1::varchar[], kind + 1) as event_type,
    product_id,
    category_id,
    list_extract($2::varchar[], code + 1) as category_code,
    list_extract($3::varchar[], brand + 1) as brand,
    price,
    user_id,
    md5_number(session::varchar || ':' || $4::varchar)::uuid::varchar as user_session
from numbers
"""


class _Catalogue:
    """Products by index: ids, categories, codes, brands, list prices, popularity."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        leaves = [f"{top}.{leaf}" for top, subs in _TAXONOMY.items() for leaf in subs]
        n_cats = 60 + len(leaves)  # categories without a code (accessories) as REES46 has
        self.product_id = rng.choice(np.arange(1_000, 4_500_000), n, replace=False)
        cat_ids = 2144415920000000000 + rng.choice(10**10, n_cats, replace=False)
        # Coded categories are the popular ones: about 25% of events lack a code.
        cat_weight = (
            np.where(np.arange(n_cats) < len(leaves), 4.0, 1.0) / np.arange(1, n_cats + 1) ** 0.3
        )
        cat = rng.choice(n_cats, n, p=cat_weight / cat_weight.sum())
        self.category_id = cat_ids[cat]
        self.codes: list[str | None] = [*leaves, *([None] * (n_cats - len(leaves)))]
        self.code = cat
        self.brands: list[str | None] = [*_BRANDS, None]
        brand = rng.integers(0, len(_BRANDS), n)
        # Every fifth product by popularity rank, spread evenly: 20% of events too.
        brand[(np.arange(1, n + 1) * 0.6180339887498949) % 1.0 < 0.2] = len(_BRANDS)
        self.brand = brand
        raw = rng.lognormal(np.log(45.0), 1.2, n)
        self.price = np.round(np.clip(raw, 0.5, 5_000.0), 2)
        self.cumulative = np.cumsum(1 / np.arange(1, n + 1) ** 0.9)
        self.cumulative /= self.cumulative[-1]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` product indexes, a few best sellers and a long tail."""
        idx = np.searchsorted(self.cumulative, rng.random(n), side="right")
        return np.minimum(idx, self.cumulative.size - 1)


def _catalogue(rng: np.random.Generator, rows: int) -> _Catalogue:
    """Return about one product per 17 events (REES46: 53,000 products, 885,000 events)."""
    return _Catalogue(rng, max(200, min(rows // 17, 2_000_000)))


def _chunk(
    rng: np.random.Generator,
    catalogue: _Catalogue,
    rows: int,
    lo: int,
    hi: int,
    end: int,
    users: int,
    first_session: int,
) -> tuple[pd.DataFrame, int]:
    """Return ``rows`` events of sessions starting in [lo, hi) seconds, and their count."""
    base = rows - round(rows * DUPLICATES)
    size = rng.geometric(1 / EVENTS_PER_SESSION, round(base / EVENTS_PER_SESSION * 1.1) + 10)
    ends = np.cumsum(size)
    n_sessions = int(np.searchsorted(ends, base)) + 1
    size = size[:n_sessions]
    size[-1] -= ends[n_sessions - 1] - base  # the last session is cut to fit
    session = np.repeat(np.arange(n_sessions), size)
    first = np.cumsum(size) - size
    pos = np.arange(base) - first[session]

    # Roles from the end of the session: ... view, cart, purchase / ... view, cart[, remove].
    kind = np.full(base, VIEW, np.int8)
    fate = rng.random(n_sessions)
    buys, carts = fate < BUY, (fate >= BUY) & (fate < BUY + CART_ONLY)
    removes = carts & (size >= 3) & (rng.random(n_sessions) < REMOVE_AFTER_CART)
    from_end = size[session] - 1 - pos
    kind[buys[session] & (from_end == 0)] = PURCHASE
    kind[buys[session] & (from_end == 1)] = CART
    kind[carts[session] & ~removes[session] & (from_end == 0)] = CART
    kind[removes[session] & (from_end == 1)] = CART
    kind[removes[session] & (from_end == 0)] = REMOVE
    product = catalogue.sample(rng, base)
    # A cart, purchase or removal is of the product the previous event was about.
    follows = (kind != VIEW) & (pos > 0)
    for _ in range(2):  # purchase ← cart ← view
        at = np.flatnonzero(follows)
        product[at] = product[at - 1]

    # A day in the slice, an hour of the day by traffic, a second in the hour.
    day = lo + rng.integers(0, max(hi - lo, 1), n_sessions)
    hour = rng.choice(24, n_sessions, p=_HOURS / _HOURS.sum())
    start = day - day % DAY + hour * 3_600 + rng.integers(0, 3_600, n_sessions)
    gap = np.floor(rng.exponential(55.0, base)).astype(np.int64) * (pos > 0)
    offset = np.cumsum(gap)
    offset -= offset[first][session]
    t = np.minimum(start[session] + offset, end - 1)
    price = catalogue.price[product].copy()
    price[rng.random(base) < ZERO_PRICES] = 0.0
    user = (rng.integers(0, users, n_sessions) * 2654435761) % (1 << 32)

    copies = np.sort(rng.choice(base, rows - base, replace=False))
    idx = np.concatenate([np.arange(base), copies])
    idx = idx[np.argsort(t[idx], kind="stable")]
    chunk = pd.DataFrame(
        {
            "t": t[idx],
            "kind": kind[idx],
            "product_id": catalogue.product_id[product[idx]],
            "category_id": catalogue.category_id[product[idx]],
            "code": catalogue.code[product[idx]],
            "brand": catalogue.brand[product[idx]],
            "price": price[idx],
            "user_id": 1515915625400000000 + user[session[idx]],
            "session": first_session + session[idx],
        }
    )
    return chunk, n_sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Events to write.")
    parser.add_argument("--out", type=Path, required=True, help="A .csv or .parquet file.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2020, 10, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2021, 3, 1))
    args = parser.parse_args()
    if args.out.suffix not in (".csv", ".parquet"):
        parser.error(f"--out must end in .csv or .parquet, found {args.out.name!r}")
    began = time.perf_counter()
    generate(args.out, args.rows, args.seed, args.start, args.end)
    print(f"wrote {args.rows:,} events to {args.out} in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
