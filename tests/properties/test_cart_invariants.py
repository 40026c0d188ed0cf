"""Invariants of the cart section (METRICS.md §3, §7, §8) on random dirty shops.

Each property draws a shop (``shopgen.shops``) and a config (``shopgen.cart_configs``),
computes March 2024 from a SQLite file and checks relations that the spec makes true
for every dataset: counts that partition, rates that are their ratios, tables that add
up to the KPIs, and no NaN anywhere.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st
from shopgen import (
    assert_fraction,
    assert_json_clean,
    cart_configs,
    close,
    compute_sqlite,
    examples,
    ratio,
    shops,
)

STATUS_COUNTS = ("carts_converted", "carts_abandoned", "carts_open", "carts_other")
HIST_BUCKETS = ["<1d", "1d", "2-3d", "4-7d", "8-14d", "15d+"]
HIST_BOUNDS = {
    "<1d": (0, 1),
    "1d": (1, 2),
    "2-3d": (2, 4),
    "4-7d": (4, 8),
    "8-14d": (8, 15),
    "15d+": (15, math.inf),
}


def run(shop, config) -> dict[str, Any]:
    metrics = compute_sqlite(shop.tables(), config)
    note(f"kpis: {metrics['kpis']}")
    return metrics


def kpi_invariants(k: dict[str, Any]) -> None:
    """Relations between the cart KPIs alone (current or previous period)."""
    total = k["carts.carts_total"]
    assert sum(k[f"carts.{name}"] for name in STATUS_COUNTS) == total
    assert close(k["carts.cart_conversion_rate"], ratio(k["carts.carts_converted"], total))
    assert close(k["carts.abandonment_rate"], ratio(k["carts.carts_abandoned"], total))
    assert close(
        k["carts.avg_abandoned_cart_value"],
        ratio(k["carts.abandoned_cart_value"], k["carts.carts_abandoned"]),
    )
    assert k["carts.abandoned_cart_value"] >= 0  # negative prices and quantities are left out
    assert k["carts.converted_cart_value"] >= 0
    assert 0 <= k["carts.reengaged"] <= k["carts.abandoners"] <= k["carts.carts_abandoned"]
    assert close(k["carts.reengagement_rate"], ratio(k["carts.reengaged"], k["carts.abandoners"]))
    assert 0 <= k["carts.reengagement_immature_carts"] <= k["carts.carts_abandoned"]
    assert 0 <= k["carts.converted_unlinked"] <= k["carts.carts_converted"]
    for name in ("cart_conversion_rate", "abandonment_rate", "reengagement_rate"):
        assert_fraction(k[f"carts.{name}"], name)
    median, p90, mean = (k[f"carts.{s}_time_to_order_days"] for s in ("median", "p90", "mean"))
    assert (median is None) == (p90 is None) == (mean is None)
    if median is not None:
        assert 0 <= median <= p90 + 1e-12
        assert mean >= 0


def quality_invariants(m: dict[str, Any], config: dict[str, Any]) -> None:
    """The data-quality counts agree with the KPIs they qualify."""
    k, dq = m["kpis"], m["data_quality"]
    total = k["carts.carts_total"]
    assert dq["carts.duplicate_cart_rows"] >= dq["carts.duplicate_cart_ids"] >= 0
    assert dq["carts.duplicate_cart_ids"] <= total
    assert dq["carts.null_customer_carts"] + dq["carts.unknown_customer_carts"] <= total
    assert dq["carts.carts_without_lines"] <= total
    assert dq["carts.order_before_cart"] <= k["carts.carts_converted"]
    # The other statuses are counted once per cart of the period, by normalised status.
    other = dq["carts.other_statuses"]
    assert sum(other.values()) == k["carts.carts_other"]
    known = {
        s for name in ("converted", "abandoned", "open") for s in m["rules"][f"{name}_statuses"]
    }
    assert not set(other) & known
    assert all(key == "NULL" or key == key.strip().lower() != "" for key in other), other


def trend_and_time_invariants(m: dict[str, Any]) -> None:
    """funnel_trend sums to the KPIs; time_to_order_hist holds every linked cart."""
    k, tables, dq = m["kpis"], m["tables"], m["data_quality"]

    # funnel_trend: the ISO weeks of March 2024 (02-26 .. 03-25), summing to the KPIs.
    trend = tables["carts.funnel_trend"]
    assert [r["bucket_start"] for r in trend] == [
        "2024-02-26",
        "2024-03-04",
        "2024-03-11",
        "2024-03-18",
        "2024-03-25",
    ]
    for row in trend:
        assert (
            row["converted"] + row["abandoned"] + row["open"] + row["other"] == row["carts_total"]
        )
        assert close(row["conversion_rate"], ratio(row["converted"], row["carts_total"]))
    for column, kpi in [
        ("carts_total", "carts_total"),
        ("converted", "carts_converted"),
        ("abandoned", "carts_abandoned"),
        ("open", "carts_open"),
        ("other", "carts_other"),
    ]:
        assert sum(r[column] for r in trend) == k[f"carts.{kpi}"], column

    # time_to_order_hist: 6 buckets holding every linked converted cart.
    hist = tables["carts.time_to_order_hist"]
    assert [r["bucket"] for r in hist] == HIST_BUCKETS
    linked = (
        k["carts.carts_converted"] - k["carts.converted_unlinked"] - dq["carts.order_before_cart"]
    )
    assert sum(r["carts"] for r in hist) == linked
    assert dq["carts.linked_by_cart_id"] + dq["carts.linked_by_next_order"] == linked
    median, p90 = k["carts.median_time_to_order_days"], k["carts.p90_time_to_order_days"]
    assert (median is None) == (linked == 0)
    if linked:
        filled = [r["bucket"] for r in hist if r["carts"]]
        low = HIST_BOUNDS[filled[0]][0]
        high = HIST_BOUNDS[filled[-1]][1]
        for value in (median, p90, k["carts.mean_time_to_order_days"]):
            assert low - 1e-9 <= value < high, (value, filled)


def segment_invariants(m: dict[str, Any], config: dict[str, Any]) -> None:
    """Every cart and every abandoner is in exactly one segment of each segment table."""
    k, tables = m["kpis"], m["tables"]
    total = k["carts.carts_total"]
    for column in config["segments"]:
        rows = tables[f"carts.segment.{column}"]
        assert sum(r["carts_total"] for r in rows) == total, column
        assert sum(r["abandoners"] for r in rows) == k["carts.abandoners"], column
        assert sum(r["reengaged"] for r in rows) == k["carts.reengaged"], column
        assert math.isclose(
            sum(r["abandoned_value"] for r in rows), k["carts.abandoned_cart_value"], abs_tol=1e-6
        )
        abandoned = sum(r["abandonment_rate"] * r["carts_total"] for r in rows if r["carts_total"])
        converted = sum(
            r["cart_conversion_rate"] * r["carts_total"] for r in rows if r["carts_total"]
        )
        assert math.isclose(abandoned, k["carts.carts_abandoned"], abs_tol=1e-6), column
        assert math.isclose(converted, k["carts.carts_converted"], abs_tol=1e-6), column
        segments = [r["segment"] for r in rows]
        assert len(set(segments)) == len(segments)
        assert None not in segments  # missing values are "Unknown"
        keys = [(-r["carts_total"], r["segment"]) for r in rows]
        assert keys == sorted(keys), "ordered by carts_total desc, then segment"
        for r in rows:
            assert r["reengaged"] <= r["abandoners"]
            assert close(r["reengagement_rate"], ratio(r["reengaged"], r["abandoners"]))
            for rate in ("cart_conversion_rate", "abandonment_rate", "reengagement_rate"):
                assert_fraction(r[rate], f"{column}.{rate}")


def savable_invariants(m: dict[str, Any], config: dict[str, Any]) -> None:
    """savable_customers are the abandoners not re-engaged, segment by segment."""
    k, tables, dq = m["kpis"], m["tables"], m["data_quality"]
    savable = tables["carts.savable_customers"]
    assert len(savable) == k["carts.abandoners"] - k["carts.reengaged"]
    ids = [str(r["customer_id"]) for r in savable]
    assert None not in [r["customer_id"] for r in savable]  # NULL customers are never savable
    assert len(set(ids)) == len(ids)
    assert all(r["abandoned_carts"] >= 1 for r in savable)
    keys = [(-r["abandoned_value"], r["customer_id"]) for r in savable]
    assert keys == sorted(keys), "ordered by abandoned_value desc, then customer_id"
    value = sum(r["abandoned_value"] for r in savable)
    carts = sum(r["abandoned_carts"] for r in savable)
    assert value <= k["carts.abandoned_cart_value"] + 1e-6
    assert carts <= k["carts.carts_abandoned"]
    if k["carts.reengaged"] == 0 and dq["carts.null_customer_carts"] == 0:
        # Nobody re-engaged and every cart has a customer: all abandoned carts are savable.
        assert math.isclose(value, k["carts.abandoned_cart_value"], abs_tol=1e-6)
        assert carts == k["carts.carts_abandoned"]
    # Per segment value, the savable rows are that segment's abandoners not re-engaged.
    for column in config["segments"]:
        per_segment = Counter(r[column] for r in savable)
        expected = {
            r["segment"]: r["abandoners"] - r["reengaged"]
            for r in tables[f"carts.segment.{column}"]
            if r["abandoners"] - r["reengaged"]
        }
        assert dict(per_segment) == expected, column


def top_table_invariants(m: dict[str, Any], config: dict[str, Any]) -> None:
    """The SKU and category tables are cut, ordered and shared as §3 and §8 say."""
    k, tables = m["kpis"], m["tables"]
    top_n = config["rules"]["top_n"]
    value = k["carts.abandoned_cart_value"]
    for name, key in [
        ("carts.top_abandoned_skus", "product_id"),
        ("carts.top_abandoned_categories", "category"),
    ]:
        rows = tables[name]
        assert len(rows) <= top_n
        keys = [row[key] for row in rows]
        assert len(set(keys)) == len(keys)
        order = [(-row["abandoned_value"], row[key]) for row in rows]
        assert order == sorted(order), f"{name} ordered by abandoned_value desc, then {key}"
        shares = [row["share"] for row in rows]
        for row in rows:
            assert row["abandoned_value"] >= 0
            assert 1 <= row["carts"] <= k["carts.carts_abandoned"]
            assert close(row["share"], ratio(row["abandoned_value"], value))
            assert_fraction(row["share"], f"{name}.share")
        assert sum(row["abandoned_value"] for row in rows) <= value + 1e-6
        if value and all(s is not None for s in shares):
            assert sum(shares) <= 1 + 1e-9
    categories = tables["carts.top_abandoned_categories"]
    assert None not in [row["category"] for row in categories]  # missing = "Unknown"
    if len(categories) < top_n:
        # The table holds every category: it covers every valid line of every abandoned cart.
        assert math.isclose(sum(r["abandoned_value"] for r in categories), value, abs_tol=1e-6)
        if value:
            assert math.isclose(sum(r["share"] for r in categories), 1.0, rel_tol=1e-9)
        skus = tables["carts.top_abandoned_skus"]
        if len(skus) < top_n:
            # Lines with a NULL product_id are in the categories only.
            assert sum(r["units"] for r in skus) <= sum(r["units"] for r in categories)


@given(shop=shops(), config=cart_configs())
@examples(60)
def test_cart_invariants(shop, config):
    m = run(shop, config)
    assert_json_clean(m)
    kpi_invariants(m["kpis"])
    kpi_invariants(m["kpis"]["previous"])
    assert set(m["kpis"]["previous"]) == set(m["kpis"]) - {"previous"}
    quality_invariants(m, config)
    trend_and_time_invariants(m)
    segment_invariants(m, config)
    savable_invariants(m, config)
    top_table_invariants(m, config)


@given(shop=shops(), config=cart_configs(), order=st.randoms(use_true_random=False))
@examples(15)
def test_row_order_does_not_change_the_metrics(shop, config, order):
    # Ties between duplicate carts are broken by the data (§8), never by storage order.
    shuffled = type(shop)(
        **{name: order.sample(rows, len(rows)) for name, (_, rows) in shop.tables().items()}
    )
    assert run(shuffled, config) == run(shop, config)
