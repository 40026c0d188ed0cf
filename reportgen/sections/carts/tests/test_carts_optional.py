"""Optional tables and columns: what is missing drops only what needs it (METRICS.md §1, §8)."""

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import build_report

CARTS = [
    ("c1", "u1", "2024-03-05 10:00:00", "abandoned"),
    ("c2", "u2", "2024-03-06 10:00:00", "converted"),
]
LINES = [("c1", "p1", 2, 10.0), ("c2", "p1", 1, 10.0)]


def test_a_missing_segment_column_drops_its_table_and_nulls_its_savable_column(make_db, compute):
    db = make_db(
        carts=CARTS,
        cart_items=LINES,
        customers=[("u1", "Email", "Gold"), ("u2", "Direct", "Silver")],
        columns={"customers": ("customer_id", "signup_channel", "loyalty_tier")},
    )
    metrics = compute(db)
    assert "carts.segment.clv_bucket" not in metrics["tables"]
    assert metrics["tables"]["carts.segment.signup_channel"][0]["segment"] in ("Email", "Direct")
    assert metrics["tables"]["carts.savable_customers"] == [
        {
            "customer_id": "u1",
            "signup_channel": "Email",
            "loyalty_tier": "Gold",
            "clv_bucket": None,
            "abandoned_carts": 1,
            "abandoned_value": 20.0,
        }
    ]
    assert {
        "section": "carts.segment.clv_bucket",
        "reason": (
            "column clv_bucket missing from customers: no segment table; "
            "savable customers show it as null"
        ),
    } in metrics["skipped"]


def test_without_customers_and_products_the_report_still_builds(tmp_path, make_db):
    db = make_db(carts=CARTS, cart_items=LINES)
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("drop table customers")
        conn.execute("drop table products")
    config = config_from_dict(
        {"source": {"url": f"sqlite:///{db}"}, "report": {"output": str(tmp_path / "r")}},
        base_dir=tmp_path,
    )
    result = build_report(config, month_period("2024-03"))
    metrics = result.metrics
    assert metrics["kpis"]["carts.carts_total"] == 2
    assert metrics["tables"]["carts.top_abandoned_skus"][0]["name"] is None
    assert metrics["tables"]["carts.top_abandoned_categories"][0]["category"] == "Unknown"
    skipped = {s["section"] for s in metrics["skipped"]}
    assert {"carts.segment.signup_channel", "carts.products"} <= skipped
    assert result.pdf.is_file()


def test_a_view_builds_a_canonical_table_from_any_schema(make_db, compute):
    db = make_db(
        cart_items=LINES,
        extra={
            "sessions": (
                ("id", "shopper", "opened", "state"),
                [
                    ("c1", "u1", "2024-03-05 10:00:00", "ABANDONED"),
                    ("c2", "u2", "2024-03-06 10:00:00", "paid"),
                ],
            )
        },
    )
    view = (
        "select id as cart_id, shopper as customer_id, opened as created_at, "
        "case when state = 'paid' then 'converted' else state end as status from sessions"
    )
    metrics = compute(db, source={"views": {"carts": view}})
    assert metrics["kpis"]["carts.carts_total"] == 2
    assert metrics["kpis"]["carts.carts_converted"] == 1
    assert metrics["kpis"]["carts.abandoned_cart_value"] == 20.0


def test_when_every_order_is_older_than_the_period_all_abandoned_carts_are_immature(
    make_db, compute
):
    # Newest order 2024-01-10: every March cart's 7-day window ends after it (§8).
    db = make_db(
        carts=CARTS,
        cart_items=LINES,
        orders=[("o1", "u9", "2024-01-10 10:00:00")],
    )
    metrics = compute(db)
    assert metrics["kpis"]["carts.reengagement_immature_carts"] == 1


def test_one_id_stored_as_number_and_as_text_is_one_cart(make_db, compute):
    # Ids compare as text (§8): 5 and '5' are the same cart; converted wins.
    db = make_db(
        carts=[
            (5, "u1", "2024-03-05 10:00:00", "abandoned"),
            ("5", "u1", "2024-03-06 10:00:00", "converted"),
            ("6", "u2", "2024-03-07 10:00:00", "abandoned"),
        ],
    )
    metrics = compute(db)
    assert metrics["kpis"]["carts.carts_total"] == 2
    assert metrics["kpis"]["carts.carts_converted"] == 1
    assert metrics["data_quality"]["carts.duplicate_cart_ids"] == 1
    assert metrics["data_quality"]["carts.duplicate_cart_rows"] == 1


def test_duplicate_customers_and_products_take_the_max_non_null_attribute(make_db, compute):
    db = make_db(
        carts=CARTS,
        cart_items=LINES,
        customers=[("u1", "Email", None), ("u1", None, "Gold"), ("u1", " ", "Bronze")],
        products=[("p1", None, "Kitchen"), ("p1", "Mug", None), ("p1", "Cup", "")],
    )
    metrics = compute(db)
    (savable,) = metrics["tables"]["carts.savable_customers"]
    # max over non-null (blank after strip is NULL): Email; max('Bronze', 'Gold') = 'Gold'.
    assert (savable["signup_channel"], savable["loyalty_tier"]) == ("Email", "Gold")
    (sku,) = metrics["tables"]["carts.top_abandoned_skus"]
    assert (sku["name"], sku["category"]) == ("Mug", "Kitchen")
    assert metrics["data_quality"]["carts.duplicate_customer_ids"] == 1
    assert metrics["data_quality"]["carts.duplicate_product_ids"] == 1
