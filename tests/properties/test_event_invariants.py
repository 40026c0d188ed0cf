"""Invariants of the event section (METRICS.md §4, §7, §8) on random dirty event logs.

``event_logs`` draws any log; ``journey_logs`` draws logs whose funnel is nested (every
cart user viewed, every buyer carted), where the stages must shrink and every user rate
is a fraction. The log is computed for March 2024 from a SQLite file.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st
from shopgen import (
    EVENT_COLUMNS,
    assert_fraction,
    assert_json_clean,
    close,
    compute_sqlite,
    event_configs,
    event_logs,
    examples,
    journey_logs,
    ratio,
)

STAGES = ["raw", "deduplicated", "valid_price", "mapped_type", "clean"]
SEGMENTS = ["view_only", "cart_abandoners", "single_purchase", "multi_purchase", "high_value"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def run(rows: list[tuple], config: dict[str, Any]) -> dict[str, Any]:
    metrics = compute_sqlite({"events": (EVENT_COLUMNS, rows)}, config)
    note(f"kpis: {metrics['kpis']}")
    return metrics


def funnel_users(m: dict[str, Any]) -> tuple[int, int, int]:
    funnel = m["tables"]["events.funnel"]
    assert [row["stage"] for row in funnel] == ["view", "cart", "purchase"]
    return tuple(row["users"] for row in funnel)


def segment_users(m: dict[str, Any]) -> dict[str, int]:
    rows = m["tables"]["events.user_segments"]
    assert [row["segment"] for row in rows] == SEGMENTS
    return {row["segment"]: row["users"] for row in rows}


def money_kpi_invariants(k: dict[str, Any]) -> None:
    """Relations between the event-count and money KPIs (current or previous period)."""
    assert k["events.revenue"] >= 0
    assert k["events.transactions"] <= k["events.purchases"]
    assert (k["events.transactions"] == 0) == (k["events.purchases"] == 0)
    assert close(k["events.aov"], ratio(k["events.revenue"], k["events.purchases"]))
    assert close(
        k["events.revenue_per_transaction"], ratio(k["events.revenue"], k["events.transactions"])
    )
    assert close(
        k["events.cart_to_purchase_event_rate"], ratio(k["events.purchases"], k["events.carts"])
    )
    assert_fraction(k["events.user_conversion_rate"], "user_conversion_rate")


def pipeline_and_funnel_invariants(m: dict[str, Any]) -> None:
    """The cleaning stages shrink and match data quality; funnel rates are user ratios."""
    k, dq = m["kpis"], m["data_quality"]

    pipeline = m["tables"]["events.pipeline"]
    assert [row["stage"] for row in pipeline] == STAGES
    rows = {row["stage"]: row["rows"] for row in pipeline}
    assert rows["raw"] >= rows["deduplicated"] >= rows["valid_price"] >= rows["mapped_type"]
    assert rows["mapped_type"] == rows["clean"]
    assert dq["events.duplicates_removed"] == rows["raw"] - rows["deduplicated"]
    assert dq["events.bad_price_removed"] == rows["deduplicated"] - rows["valid_price"]
    assert dq["events.unmapped_removed"] == rows["valid_price"] - rows["mapped_type"]
    assert sum(dq["events.unmapped_types"].values()) == dq["events.unmapped_removed"]
    # Every clean row is a view, cart, remove or purchase event.
    counts = ("views", "carts", "removes", "purchases")
    assert sum(k[f"events.{name}"] for name in counts) == rows["clean"]
    assert k["events.sessions"] <= rows["clean"]

    view, cart, purchase = funnel_users(m)
    users = k["events.users"]
    assert max(view, cart, purchase) <= users
    assert close(k["events.user_conversion_rate"], ratio(purchase, users))
    assert close(k["events.view_to_cart_rate"], ratio(cart, view))
    assert close(k["events.cart_to_purchase_rate"], ratio(purchase, cart))
    assert close(k["events.overall_conversion_rate"], ratio(purchase, view))
    funnel = m["tables"]["events.funnel"]
    assert funnel[0]["conversion_from_previous"] is None
    assert funnel[0]["drop_off"] is None
    for before, row in itertools.pairwise(funnel):
        conversion = ratio(row["users"], before["users"])
        assert close(row["conversion_from_previous"], conversion)
        assert close(row["drop_off"], None if conversion is None else 1 - conversion)
    for row in funnel:
        assert close(row["share_of_viewers"], ratio(row["users"], view))


def segment_invariants(m: dict[str, Any]) -> None:
    """view_only, cart_abandoners, single and multi purchase partition the users."""
    k = m["kpis"]
    users = k["events.users"]
    seg = segment_users(m)
    four = seg["view_only"] + seg["cart_abandoners"] + seg["single_purchase"]
    assert four + seg["multi_purchase"] == users
    buyers = seg["single_purchase"] + seg["multi_purchase"]
    _view, cart, purchase = funnel_users(m)
    assert buyers == purchase
    assert seg["high_value"] == math.ceil(buyers / 10)
    assert seg["cart_abandoners"] <= cart
    # Each buyer has a transaction of their own, a multi-purchase buyer two or more.
    assert k["events.transactions"] >= seg["single_purchase"] + 2 * seg["multi_purchase"]
    rows = m["tables"]["events.user_segments"]
    for row in rows:
        assert close(row["share"], ratio(row["users"], users))
        assert_fraction(row["share"], f"user_segments.{row['segment']}.share")
    if users:
        assert math.isclose(sum(row["share"] for row in rows[:4]), 1.0, rel_tol=1e-9)


def time_and_top_table_invariants(m: dict[str, Any], config: dict[str, Any]) -> None:
    """by_hour, by_weekday, by_month and the top tables add up to the KPIs."""
    k, tables = m["kpis"], m["tables"]
    revenue = k["events.revenue"]

    by_hour, by_weekday = tables["events.by_hour"], tables["events.by_weekday"]
    assert [row["hour"] for row in by_hour] == list(range(24))
    assert [row["weekday"] for row in by_weekday] == list(range(7))
    assert [row["weekday_name"] for row in by_weekday] == WEEKDAYS
    assert [row["month"] for row in tables["events.by_month"]] == ["2024-03"]
    for name in ("events.by_hour", "events.by_weekday", "events.by_month"):
        for column in ("views", "carts", "purchases"):
            assert sum(row[column] for row in tables[name]) == k[f"events.{column}"], name
        assert math.isclose(
            sum(row["revenue"] for row in tables[name]), revenue, rel_tol=1e-9, abs_tol=1e-9
        ), name

    top_n = config["rules"]["top_n"]
    gaps = {row["attribute"]: row for row in tables["events.catalog_gaps"]}
    for name, key, attribute in [
        ("events.top_products", "product_id", None),
        ("events.top_brands", "brand", "brand"),
        ("events.top_categories", "category_code", "category_code"),
    ]:
        rows = tables[name]
        assert len(rows) <= top_n
        keys = [row[key] for row in rows]
        assert None not in keys
        assert len(set(keys)) == len(keys)
        order = [(-row["revenue"], row[key]) for row in rows]
        assert order == sorted(order), f"{name} ordered by revenue desc, then {key}"
        assert all(row["purchases"] >= 1 for row in rows)
        assert sum(row["purchases"] for row in rows) <= k["events.purchases"]
        assert sum(row["revenue"] for row in rows) <= revenue + 1e-9
        if attribute and len(rows) < top_n:
            # Every brand (category) fits: the table holds every purchase, NULL products too.
            assert sum(row["purchases"] for row in rows) == k["events.purchases"], name
            assert math.isclose(
                sum(row["revenue"] for row in rows), revenue, rel_tol=1e-9, abs_tol=1e-9
            ), name
            unknown = sum(row["revenue"] for row in rows if row[key] == "Unknown")
            assert math.isclose(unknown, gaps[attribute]["revenue_missing"], abs_tol=1e-9)

    clean = m["tables"]["events.pipeline"][-1]["rows"]
    assert [row["attribute"] for row in tables["events.catalog_gaps"]] == [
        "brand",
        "category_code",
    ]
    for row in tables["events.catalog_gaps"]:
        assert 0 <= row["events_missing"] <= clean
        assert close(row["share_of_events"], ratio(row["events_missing"], clean))
        assert 0 <= row["revenue_missing"] <= revenue + 1e-9
        assert close(row["share_of_revenue"], ratio(row["revenue_missing"], revenue))


def abandonment_invariants(m: dict[str, Any], config: dict[str, Any]) -> None:
    """abandoned_brands, abandoned_products and zero_purchase_products fit the KPIs."""
    k, tables = m["kpis"], m["tables"]
    abandoners = segment_users(m)["cart_abandoners"]
    brands = tables["events.abandoned_brands"]
    assert bool(brands) == bool(abandoners)
    assert sum(row["cart_events"] for row in brands) <= k["events.carts"]
    assert sum(row["users"] for row in brands) >= abandoners
    for name, rows, key in [
        ("abandoned_brands", brands, "brand"),
        ("abandoned_products", tables["events.abandoned_products"], "product_id"),
    ]:
        order = [(-row["value"], row[key]) for row in rows]
        assert order == sorted(order), f"{name} ordered by value desc, then {key}"
        assert all(row["value"] > 0 for row in rows), name
    assert all(1 <= row["users"] <= abandoners for row in brands)
    assert all(row["pairs"] >= 1 for row in tables["events.abandoned_products"])
    zero = tables["events.zero_purchase_products"]
    min_views = config["rules"]["zero_purchase_min_views"]
    assert all(row["views"] >= min_views for row in zero)
    assert sum(row["views"] for row in zero) <= k["events.views"]
    bought = {row["product_id"] for row in tables["events.top_products"]}
    assert not bought & {row["product_id"] for row in zero}


@given(log=event_logs(), config=event_configs())
@examples(100)
def test_event_invariants(log, config):
    m = run(log, config)
    assert_json_clean(m)
    money_kpi_invariants(m["kpis"])
    money_kpi_invariants(m["kpis"]["previous"])
    assert set(m["kpis"]["previous"]) == set(m["kpis"]) - {"previous"}
    pipeline_and_funnel_invariants(m)
    segment_invariants(m)
    time_and_top_table_invariants(m, config)
    abandonment_invariants(m, config)


@given(log=journey_logs(), config=event_configs())
@examples(50)
def test_nested_funnel_shrinks_and_its_rates_are_fractions(log, config):
    m = run(log, config)
    k = m["kpis"]
    view, cart, purchase = funnel_users(m)
    assert view >= cart >= purchase
    for name in (
        "user_conversion_rate",
        "view_to_cart_rate",
        "cart_to_purchase_rate",
        "overall_conversion_rate",
    ):
        assert_fraction(k[f"events.{name}"], name)
    for row in m["tables"]["events.funnel"]:
        assert_fraction(row["drop_off"], "drop_off")
        assert_fraction(row["share_of_viewers"], "share_of_viewers")
    seg = segment_users(m)
    assert seg["cart_abandoners"] == cart - purchase
    assert seg["view_only"] == k["events.users"] - cart


@given(log=event_logs(max_rows=25), config=event_configs(), order=st.randoms(use_true_random=False))
@examples(15)
def test_row_order_does_not_change_the_event_metrics(log, config, order):
    assert run(order.sample(log, len(log)), config) == run(log, config)
