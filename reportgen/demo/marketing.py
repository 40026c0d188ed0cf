"""The demo shop's campaigns: names, channels and daily clicks, cost and impressions.

The orders already carry a campaign_id (drawn from their customer's signup channel, the
holiday and summer sales, the cart-recovery reminder); this adds the campaign tables of
METRICS.md §1 beside them, read back from the written database so the activity follows
each campaign's attributed orders day by day. It draws from its own seeded generator and
touches no other table, so the cart and event figures are the same with or without it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class _Campaign:
    campaign_id: str
    name: str
    channel: str
    conversion: float
    """Attributed orders per click."""
    cpc: float
    """Cost per click."""
    ctr: float
    """Clicks per impression."""
    months: tuple[int, ...] = ()
    """Months (1-12) it runs in; empty: all year."""


# Cheap email converts best; affiliates cost more than they bring (a negative ROI); the
# TikTok test ran in the data's last month only and has too few clicks to rank.
CAMPAIGNS: tuple[_Campaign, ...] = (
    _Campaign("CMP-NEWSLETTER", "Monthly newsletter", "Email", 0.040, 1.10, 0.030),
    _Campaign("CMP-SOCIAL-ADS", "Always-on social ads", "Paid Social", 0.012, 2.10, 0.009),
    _Campaign("CMP-SEARCH-ADS", "Brand and generic search", "Paid Search", 0.030, 1.45, 0.045),
    _Campaign("CMP-AFFILIATE", "Affiliate network", "Affiliate", 0.015, 5.50, 0.012),
    _Campaign("CMP-CART-RECOVERY", "Abandoned-cart reminder", "Email", 0.050, 1.80, 0.120),
    _Campaign("CMP-HOLIDAY", "Holiday sale", "Paid Social", 0.035, 2.20, 0.015, (11, 12)),
    _Campaign("CMP-SUMMER-SALE", "Summer sale", "Display", 0.020, 2.60, 0.006, (7,)),
)
TEST_CAMPAIGN = _Campaign("CMP-TIKTOK-TEST", "TikTok creator test", "Paid Social", 0.0, 1.30, 0.011)
"""Runs in the last month with a few clicks a day and no attributed order."""

_SCHEMA = """
create table campaigns (campaign_id text, name text, channel text);
create table campaign_activity (
    campaign_id text, activity_date text, clicks integer, cost real, impressions integer
);
"""


def add_campaigns(path: Path, *, seed: int, start: date, end: date) -> int:
    """Write ``campaigns`` and ``campaign_activity`` into the demo database at ``path``;
    return the number of activity rows. Days run from ``start`` to ``end`` (exclusive)."""
    rng = np.random.default_rng([seed, 6])  # its own stream: the shop's draws stay as they were
    con = sqlite3.connect(path)
    try:
        orders = {
            (campaign, day): count
            for campaign, day, count in con.execute(
                "select campaign_id, substr(order_date, 1, 10), count(*) from orders "
                "where campaign_id is not null group by 1, 2"
            )
        }
        days = [start + timedelta(days=i) for i in range((end - start).days)]
        activity = []
        for campaign in CAMPAIGNS:
            running = [d for d in days if not campaign.months or d.month in campaign.months]
            if not running:
                continue
            mean = sum(orders.get((campaign.campaign_id, d.isoformat()), 0) for d in running)
            mean /= len(running)
            for day in running:
                attributed = orders.get((campaign.campaign_id, day.isoformat()), 0)
                # Clicks follow the day's orders, smoothed towards the campaign's average.
                expected = (0.6 * attributed + 0.4 * mean) / campaign.conversion
                activity.append(_row(rng, campaign, day, expected))
        last_month = [d for d in days if (d.year, d.month) == (days[-1].year, days[-1].month)]
        for day in last_month:
            activity.append(_row(rng, TEST_CAMPAIGN, day, 2.0))
        con.executescript(_SCHEMA)
        con.executemany(
            "insert into campaigns values (?, ?, ?)",
            [(c.campaign_id, c.name, c.channel) for c in (*CAMPAIGNS, TEST_CAMPAIGN)],
        )
        con.executemany("insert into campaign_activity values (?, ?, ?, ?, ?)", activity)
        con.execute("create index campaign_activity_date on campaign_activity (activity_date)")
        con.commit()
    finally:
        con.close()
    return len(activity)


def _row(
    rng: np.random.Generator, campaign: _Campaign, day: date, expected_clicks: float
) -> tuple[str, str, int, float, int]:
    """Return one day's (campaign_id, activity_date, clicks, cost, impressions)."""
    clicks = int(rng.poisson(max(expected_clicks, 0.5)))
    impressions = round(clicks / campaign.ctr * rng.uniform(0.9, 1.1)) + int(rng.poisson(20))
    cost = round(clicks * campaign.cpc * rng.uniform(0.9, 1.1), 2)
    return campaign.campaign_id, day.isoformat(), clicks, cost, impressions
