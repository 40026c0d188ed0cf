"""The event KPIs and tables equal those of a small Python reading of METRICS.md §4 and §8.

``reference`` is written from the spec alone: window by instants, drop exact duplicates
(identical after type coercion, before any default or normalisation), drop bad prices
and quantities, map the event types, then count. Random dirty logs must give the same
pipeline, KPIs, funnel, user segments, top tables and hour buckets from reportgen.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, note
from shopgen import (
    EVENT_COLUMNS,
    close,
    compute_sqlite,
    event_configs,
    event_logs,
    examples,
    ident,
    instant,
    number,
)

EVENT_TYPES = {
    "view": ["view", "page_view", "product_view"],
    "cart": ["cart", "add_to_cart"],
    "remove": ["remove_from_cart", "remove"],
    "purchase": ["purchase", "purchase_cart"],
}
KIND = {spelling: kind for kind, spellings in EVENT_TYPES.items() for spelling in spellings}


def label(value: Any) -> str:
    """Brands and category codes are stripped; NULL or empty is Unknown (§4, rules.md)."""
    text = None if value is None else str(value).strip()
    return text or "Unknown"


def id_order(values) -> Any:
    """Ids sort numerically when every one is an integer, else as text (§8)."""
    texts = [str(v) for v in values]
    numeric = all(t.lstrip("-").isdigit() for t in texts)
    return (lambda v: int(v)) if numeric else (lambda v: str(v))


def reference(log: list[tuple], config: dict[str, Any]) -> dict[str, Any]:
    zone = ZoneInfo(config["report"]["timezone"])
    lo, hi = datetime(2024, 3, 1, tzinfo=zone), datetime(2024, 4, 1, tzinfo=zone)
    raw = []
    for row in log:
        when = instant(row[0], zone)
        if when is not None and lo <= when < hi:
            raw.append((when, *row[1:]))

    def coerced(row: tuple) -> tuple:
        when, event_type, user, session, product, price, category, brand, quantity = row
        return (
            when,
            event_type,
            ident(user),
            ident(session),
            ident(product),
            number(price),
            category,
            brand,
            number(quantity),
        )

    unique = list(dict.fromkeys(coerced(row) for row in raw))
    valid = [r for r in unique if r[5] is not None and r[5] > 0 and (r[8] is None or r[8] > 0)]
    clean = []
    for r in valid:
        kind = KIND.get(None if r[1] is None else r[1].strip().lower())
        if kind:
            quantity = 1.0 if r[8] is None else r[8]
            clean.append(
                {
                    "kind": kind,
                    "when": r[0],
                    "user": r[2],
                    "session": r[3],
                    "product": r[4],
                    "price": r[5],
                    "category": r[6],
                    "brand": r[7],
                    "quantity": quantity,
                }
            )

    purchases = [e for e in clean if e["kind"] == "purchase"]
    users = {e["user"] for e in clean if e["user"] is not None}
    stage = {
        kind: {e["user"] for e in clean if e["kind"] == kind and e["user"] is not None}
        for kind in ("view", "cart", "purchase")
    }
    revenue = sum(e["price"] * e["quantity"] for e in purchases)
    transactions = {(e["user"], e["session"]) for e in purchases}

    per_user_tx = Counter(u for u, _ in transactions if u is not None)
    spent = defaultdict(float)
    for e in purchases:
        if e["user"] is not None:
            spent[e["user"]] += e["price"] * e["quantity"]
    segments = {
        "view_only": len(users - stage["cart"] - stage["purchase"]),
        "cart_abandoners": len(stage["cart"] - stage["purchase"]),
        "single_purchase": sum(1 for n in per_user_tx.values() if n == 1),
        "multi_purchase": sum(1 for n in per_user_tx.values() if n >= 2),
        "high_value": math.ceil(len(stage["purchase"]) / 10),
    }

    def top(key: str, name: str, skip_null: bool) -> list[dict[str, Any]]:
        groups: dict[Any, list[float]] = defaultdict(lambda: [0, 0.0])
        for e in purchases:
            value = e[key] if key == "product" else label(e[key])
            if value is None and skip_null:
                continue
            groups[value][0] += 1
            groups[value][1] += e["price"] * e["quantity"]
        order = id_order(groups) if key == "product" else str
        ranked = sorted(groups.items(), key=lambda kv: (-kv[1][1], order(kv[0])))
        return [
            {name: k, "purchases": p, "revenue": r}
            for k, (p, r) in ranked[: config["rules"]["top_n"]]
        ]

    by_hour = [[0, 0, 0, 0.0] for _ in range(24)]
    for e in clean:
        hour = e["when"].astimezone(zone).hour
        slot = {"view": 0, "cart": 1, "purchase": 2}.get(e["kind"])
        if slot is not None:
            by_hour[hour][slot] += 1
        if e["kind"] == "purchase":
            by_hour[hour][3] += e["price"] * e["quantity"]

    kinds = Counter(e["kind"] for e in clean)
    return {
        "pipeline": [len(raw), len(unique), len(valid), len(clean), len(clean)],
        "kpis": {
            "events.users": len(users),
            "events.sessions": len({e["session"] for e in clean if e["session"] is not None}),
            "events.views": kinds["view"],
            "events.carts": kinds["cart"],
            "events.removes": kinds["remove"],
            "events.purchases": kinds["purchase"],
            "events.transactions": len(transactions),
            "events.revenue": revenue,
        },
        "funnel": [len(stage[k]) for k in ("view", "cart", "purchase")],
        "segments": segments,
        "top_products": top("product", "product_id", True),
        "top_brands": top("brand", "brand", False),
        "top_categories": top("category", "category_code", False),
        "by_hour": by_hour,
    }


def strip_ids(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Ids may come back as numbers or text (§8 Output): compare them as text."""
    return [{**row, key: str(row[key])} for row in rows]


LOG_EDGES = [
    # 2 and "2" are one quantity after coercion: a duplicate.
    ("2024-03-05 10:00:00", "purchase", 1, "s1", 1, 2.5, "a.b", "acme", 2),
    ("2024-03-05 10:00:00", "purchase", 1, "s1", 1, 2.5, "a.b", "acme", "2"),
    # One instant written two ways: a duplicate.
    ("2024-03-05 11:00:00", "view", 2, "s2", 1, 2.5, "a.b", "acme", 1),
    ("2024-03-05T11:00Z", "view", 2, "s2", 1, 2.5, "a.b", "acme", 1),
    # A NULL quantity is not 1 before defaults: two rows.
    ("2024-03-05 12:00:00", "cart", 3, "s3", 2, 4.0, "", None, None),
    ("2024-03-05 12:00:00", "cart", 3, "s3", 2, 4.0, "", None, 1),
]


@given(log=event_logs(), config=event_configs())
@example(log=LOG_EDGES, config={"rules": {"top_n": 10}, "report": {"timezone": "UTC"}}).via(
    "coercion edges"
)
@examples(60)
def test_event_metrics_match_the_reference_reading(log, config):
    m = compute_sqlite({"events": (EVENT_COLUMNS, log)}, config)
    expected = reference(log, config)
    note(f"reference: {expected}")
    tables = m["tables"]
    assert [row["rows"] for row in tables["events.pipeline"]] == expected["pipeline"]
    wrong = {
        key: (m["kpis"][key], value)
        for key, value in expected["kpis"].items()
        if not close(m["kpis"][key], value)
    }
    assert not wrong, f"reportgen vs reference: {wrong}"
    assert [row["users"] for row in tables["events.funnel"]] == expected["funnel"]
    segments = {row["segment"]: row["users"] for row in tables["events.user_segments"]}
    assert segments == expected["segments"]
    for name, key in [
        ("top_products", "product_id"),
        ("top_brands", "brand"),
        ("top_categories", "category_code"),
    ]:
        found = tables[f"events.{name}"]
        if name == "top_products":
            # No products table in the log: names and categories are null (rule
            # events-product-names); the rest is the reference's.
            assert all(row["name"] is None and row["category"] is None for row in found)
            found = [
                {k: v for k, v in row.items() if k not in ("name", "category")} for row in found
            ]
        actual = strip_ids(found, key)
        assert actual == strip_ids(expected[name], key), name
    hours = [
        [row["views"], row["carts"], row["purchases"], row["revenue"]]
        for row in tables["events.by_hour"]
    ]
    assert hours == expected["by_hour"]
