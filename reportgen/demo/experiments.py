"""Demo A/B experiments: sessions of the demo shop's customers, inside its window (§1).

Seven experiments around the month a default demo report covers (the last complete month
before the data's end), each showing one thing the experiment section must get right:

========  ===========================  ====================================================
EXP-099   Homepage hero video          ended before that month: not in its report
EXP-101   One-page checkout            a real gain in click-through, for Bronze and Silver
                                       customers (none for Gold, a loss for Platinum): ship
EXP-102   Free-shipping banner         no effect: keep running; 40 sessions crossed over
EXP-103   Recommendation carousel      a broken 55/45 split (SRM) whose variant looks better
EXP-104   Search autocomplete          three variants, control named by the experiments
                                       table; still collecting sessions after the month
EXP-105   Gift-wrap upsell             a few hundred sessions: too small to read
EXP-106   Exit-intent pop-up           a real loss: stop
========  ===========================  ====================================================

The generator reads the customers already written and draws from its own random stream,
so adding it changes no other table.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

DAY = 86_400
SIGNED_IN_SHARE = 0.85
"""Sessions of a signed-in customer; the others have no user_id."""
CROSSOVERS = 40
"""EXP-102 sessions that also appear under the other variant (a bucketing bug)."""
ADD_TO_CART_AFTER_CLICK = 0.32
PURCHASE_AFTER_CART = 0.38
TIER_UPLIFT = {"Bronze": 2.0, "Silver": 1.5, "Gold": 0.0, "Platinum": -0.5}
"""EXP-101's gain per loyalty tier, as a multiple of its designed gain (anonymous: 1.0)."""

_SCHEMA = """
create table experiment_sessions (
    experiment_id text, variant text, session_id text, started_at text, clicked integer,
    added_to_cart integer, purchased integer, user_id text, revenue real
);
create table experiments (
    experiment_id text, name text, description text, control_variant text
);
"""


@dataclass(frozen=True)
class _Design:
    experiment_id: str
    name: str
    description: str
    variants: tuple[str, ...]
    """The control first."""
    shares: tuple[float, ...]
    """Traffic share of each variant (a broken split is an unequal one)."""
    ctr: tuple[float, ...]
    sessions: int
    first_day: int
    """Days from the report month's start (negative: before it)."""
    last_day: int | None
    """Days from the month after it; None: until the data ends."""
    control_variant: str | None = None
    """What the experiments table names as control (None: left to the ``A`` rule)."""
    by_tier: bool = False
    """The gain varies by loyalty tier (``TIER_UPLIFT``): a persona story."""


_DESIGNS = (
    _Design(
        "EXP-099",
        "Homepage hero video",
        "A looping video replaces the hero image.",
        ("A", "B"),
        (0.5, 0.5),
        (0.10, 0.105),
        4_000,
        -75,
        -52,
    ),
    _Design(
        "EXP-101",
        "One-page checkout",
        "Address, delivery and payment on a single page.",
        ("A", "B"),
        (0.5, 0.5),
        (0.12, 0.15),
        16_000,
        -21,
        -4,
        by_tier=True,
    ),
    _Design(
        "EXP-102",
        "Free-shipping banner",
        "A banner announcing free shipping over $50.",
        ("A", "B"),
        (0.5, 0.5),
        (0.09, 0.09),
        9_000,
        -14,
        -2,
    ),
    _Design(
        "EXP-103",
        "Recommendation carousel",
        "Personalised picks under the product photos.",
        ("A", "B"),
        (0.55, 0.45),
        (0.10, 0.12),
        9_000,
        -7,
        -1,
    ),
    _Design(
        "EXP-104",
        "Search autocomplete",
        "Suggestions while typing: prefix or semantic.",
        ("control", "fast", "smart"),
        (1 / 3, 1 / 3, 1 / 3),
        (0.14, 0.145, 0.15),
        9_000,
        9,
        None,
        control_variant="control",
    ),
    _Design(
        "EXP-105",
        "Gift-wrap upsell",
        "Offer gift wrapping at checkout.",
        ("A", "B"),
        (0.5, 0.5),
        (0.08, 0.10),
        600,
        3,
        -10,
    ),
    _Design(
        "EXP-106",
        "Exit-intent pop-up",
        "A discount pop-up when the pointer leaves the page.",
        ("A", "B"),
        (0.5, 0.5),
        (0.11, 0.08),
        8_000,
        -10,
        -6,
    ),
)


def report_month(end: date) -> tuple[date, date]:
    """Return (start, end) of the month a default demo report covers: the last complete
    month before the data's last day."""
    last = end - timedelta(days=1)
    month_end = last.replace(day=1)
    month_start = (month_end - timedelta(days=1)).replace(day=1)
    return month_start, month_end


def add_experiments(path: Path, *, seed: int, start: date, end: date) -> int:
    """Write ``experiment_sessions`` and ``experiments`` into the demo database at ``path``
    (its customers already written) and return the number of session rows."""
    rng = np.random.default_rng([seed, 0xAB])
    month_start, month_end = report_month(end)
    con = sqlite3.connect(path)
    try:
        customers = con.execute(
            "select customer_id, signup_date, loyalty_tier from customers order by signup_date"
        ).fetchall()
        con.executescript(_SCHEMA)
        rows: list[tuple[object, ...]] = []
        for design in _DESIGNS:
            first = max(start, month_start + timedelta(days=design.first_day))
            last = end if design.last_day is None else month_end + timedelta(days=design.last_day)
            last = min(last, end)
            if last <= first:
                continue
            rows += _sessions(rng, design, first, last, customers, len(rows))
        con.executemany("insert into experiment_sessions values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.executemany(
            "insert into experiments values (?, ?, ?, ?)",
            [(d.experiment_id, d.name, d.description, d.control_variant) for d in _DESIGNS],
        )
        con.execute("create index experiment_sessions_id on experiment_sessions (experiment_id)")
        con.commit()
    finally:
        con.close()
    return len(rows)


def _sessions(
    rng: np.random.Generator,
    design: _Design,
    first: date,
    last: date,
    customers: list[tuple[str, str, str]],
    numbered: int,
) -> list[tuple[object, ...]]:
    """Return one experiment's session rows (and its crossover copies)."""
    n = design.sessions
    seconds = rng.integers(0, (last - first).days * DAY, n)
    order = np.argsort(seconds, kind="stable")
    seconds = seconds[order]
    variant = rng.choice(len(design.variants), n, p=np.array(design.shares) / sum(design.shares))
    # A signed-in session belongs to a customer who had signed up by its day.
    signups = np.array([c[1] for c in customers], dtype="datetime64[D]")
    day = np.datetime64(first, "D") + (seconds // DAY).astype("timedelta64[D]")
    eligible = np.searchsorted(signups, day, side="right")
    signed_in = (rng.random(n) < SIGNED_IN_SHARE) & (eligible > 0)
    who = (rng.random(n) * np.maximum(eligible, 1)).astype(np.int64)
    tiers = np.array([c[2] for c in customers], dtype=object)
    uplift = np.array([TIER_UPLIFT.get(t, 1.0) for t in tiers])[who]
    uplift = np.where(signed_in & design.by_tier, uplift, 1.0)
    base = design.ctr[0]
    gain = np.array(design.ctr)[variant] - base
    ctr = np.clip(base + gain * uplift, 0, 1)
    clicked = rng.random(n) < ctr
    carted = clicked & (rng.random(n) < ADD_TO_CART_AFTER_CLICK)
    bought = carted & (rng.random(n) < PURCHASE_AFTER_CART)
    revenue = np.round(rng.lognormal(np.log(55), 0.6, n), 2)
    stamps = (np.datetime64(first, "s") + seconds.astype("timedelta64[s]")).astype("U19")
    rows = []
    for i in range(n):
        rows.append(
            (
                design.experiment_id,
                design.variants[variant[i]],
                f"XS{numbered + i + 1:07d}",
                stamps[i].replace("T", " "),
                int(clicked[i]),
                int(carted[i]),
                int(bought[i]),
                customers[who[i]][0] if signed_in[i] else None,
                float(revenue[i]) if bought[i] else None,
            )
        )
    if design.experiment_id == "EXP-102":
        for i in rng.choice(n, CROSSOVERS, replace=False):
            other = design.variants[1 - variant[i]]
            rows.append((*rows[i][:1], other, *rows[i][2:]))
    return rows
