"""Tests for the event section's pages: a hand-built metrics.json, its view, charts and HTML.

Every expected string is worked out by hand from ``event_metrics()`` below.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from bs4 import BeautifulSoup

from reportgen.render.html import ReportContent, render_html
from reportgen.sections.events import SECTION
from reportgen.sections.events.charts import build_charts
from reportgen.sections.events.kpis import EVENT_KPIS, is_empty_period, largest_drop
from reportgen.sections.events.recommend import recommend
from reportgen.sections.events.view import NO_EVENTS, events_view

CURRENCY = "USD"

HOURS_VIEWS = [100] * 8 + [500] * 12 + [700] + [500] * 3
HOURS_CARTS = [0] * 8 + [35] * 12 + [75] + [35] * 3
HOURS_PURCHASES = [0] * 8 + [5] * 13 + [25] + [5] * 2
HOURS_REVENUE = [0.0] * 8 + [600.0] * 13 + [3345.67] + [600.0] * 2
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def event_metrics() -> dict[str, Any]:
    """Return a month of events whose every figure adds up.

    10,000 raw events lose 100 duplicates, 50 bad prices and 30 unmapped types (25
    ``wishlist``, 5 NULL): 9,820 are clean. 950 users viewed, 200 added to cart (21.1% of
    viewers; a drop of 78.9%) and 50 bought (25.0% of cart users; a drop of 75.0%).
    Hours, weekdays and the month each sum to 9,000 views, 600 carts, 100 purchases
    and $12,345.67. ``rules.top_n`` is 3, so the four-row tables are cut.
    """
    assert sum(HOURS_VIEWS) == 9000
    assert sum(HOURS_CARTS) == 600
    assert sum(HOURS_PURCHASES) == 100
    assert round(sum(HOURS_REVENUE), 2) == 12345.67
    return {
        "period": {
            "kind": "month",
            "label": "2026-10",
            "start": "2026-10-01T00:00:00",
            "end": "2026-11-01T00:00:00",
            "timezone": "Europe/Berlin",
        },
        "previous_period": {
            "kind": "month",
            "label": "2026-09",
            "start": "2026-09-01T00:00:00",
            "end": "2026-10-01T00:00:00",
            "timezone": "Europe/Berlin",
        },
        "rules": {"top_n": 3, "zero_purchase_min_views": 200},
        "kpis": {
            "events.users": 1000,
            "events.sessions": 1500,
            "events.views": 9000,
            "events.carts": 600,
            "events.removes": 120,
            "events.purchases": 100,
            "events.transactions": 80,
            "events.revenue": 12345.67,
            "events.aov": 123.4567,
            "events.revenue_per_transaction": 154.320875,
            "events.user_conversion_rate": 0.05,
            "events.view_to_cart_rate": 200 / 950,
            "events.cart_to_purchase_rate": 0.25,
            "events.overall_conversion_rate": 50 / 950,
            "events.cart_to_purchase_event_rate": 100 / 600,
            "previous": {
                "events.users": 800,
                "events.sessions": 1200,
                "events.views": 8000,
                "events.carts": 500,
                "events.removes": 100,
                "events.purchases": 90,
                "events.transactions": 70,
                "events.revenue": 10000.0,
                "events.aov": 10000 / 90,
                "events.revenue_per_transaction": None,
                "events.user_conversion_rate": 0.05,
                "events.view_to_cart_rate": 0.2,
                "events.cart_to_purchase_rate": 0.2,
                "events.overall_conversion_rate": 0.04,
                "events.cart_to_purchase_event_rate": 0.18,
            },
        },
        "tables": {
            "events.pipeline": [
                {"stage": "raw", "rows": 10000},
                {"stage": "deduplicated", "rows": 9900},
                {"stage": "valid_price", "rows": 9850},
                {"stage": "mapped_type", "rows": 9820},
                {"stage": "clean", "rows": 9820},
            ],
            "events.funnel": [
                {
                    "stage": "view",
                    "users": 950,
                    "conversion_from_previous": None,
                    "drop_off": None,
                    "share_of_viewers": 1.0,
                },
                {
                    "stage": "cart",
                    "users": 200,
                    "conversion_from_previous": 200 / 950,
                    "drop_off": 750 / 950,
                    "share_of_viewers": 200 / 950,
                },
                {
                    "stage": "purchase",
                    "users": 50,
                    "conversion_from_previous": 0.25,
                    "drop_off": 0.75,
                    "share_of_viewers": 50 / 950,
                },
            ],
            "events.top_products": [
                {"product_id": 1001, "purchases": 30, "revenue": 6000.0},
                {"product_id": 1002, "purchases": 20, "revenue": 3000.5},
                {"product_id": 1003, "purchases": 10, "revenue": 1000.0},
            ],
            "events.top_brands": [
                {"brand": "samsung", "purchases": 40, "revenue": 7000.0},
                {"brand": "apple", "purchases": 20, "revenue": 4000.0},
                {"brand": "Unknown", "purchases": 5, "revenue": 345.67},
            ],
            "events.top_categories": [
                {"category_code": "electronics.smartphone", "purchases": 50, "revenue": 9000.0},
                {"category_code": "Unknown", "purchases": 30, "revenue": 2000.0},
                {"category_code": "appliances.kitchen.kettle", "purchases": 20, "revenue": 1345.67},
            ],
            "events.by_hour": [
                {"hour": hour, "views": v, "carts": c, "purchases": p, "revenue": r}
                for hour, (v, c, p, r) in enumerate(
                    zip(HOURS_VIEWS, HOURS_CARTS, HOURS_PURCHASES, HOURS_REVENUE, strict=True)
                )
            ],
            "events.by_weekday": [
                {
                    "weekday": day,
                    "weekday_name": WEEKDAYS[day],
                    "views": v,
                    "carts": c,
                    "purchases": p,
                    "revenue": r,
                }
                for day, (v, c, p, r) in enumerate(
                    zip(
                        (1000, 1200, 1300, 1400, 1500, 1600, 1000),
                        (60, 70, 80, 90, 100, 120, 80),
                        (10, 12, 14, 15, 16, 20, 13),
                        (1200.0, 1500.0, 1700.0, 1900.0, 2000.0, 2545.67, 1500.0),
                        strict=True,
                    )
                )
            ],
            "events.by_month": [
                {
                    "month": "2026-10",
                    "views": 9000,
                    "carts": 600,
                    "purchases": 100,
                    "revenue": 12345.67,
                }
            ],
            "events.user_segments": [
                {"segment": "view_only", "users": 750, "share": 0.75},
                {"segment": "cart_abandoners", "users": 150, "share": 0.15},
                {"segment": "single_purchase", "users": 40, "share": 0.04},
                {"segment": "multi_purchase", "users": 10, "share": 0.01},
                {"segment": "high_value", "users": 5, "share": 0.005},
            ],
            "events.abandoned_brands": [
                {"brand": "samsung", "users": 60, "cart_events": 90, "value": 5000.0},
                {"brand": "apple", "users": 40, "cart_events": 50, "value": 3000.0},
                {"brand": "xiaomi", "users": 30, "cart_events": 35, "value": 1500.0},
                {"brand": "Unknown", "users": 10, "cart_events": 12, "value": 500.0},
            ],
            "events.abandoned_products": [
                {"product_id": 1001, "pairs": 50, "value": 2500.0},
                {"product_id": 1004, "pairs": 30, "value": 1200.0},
                {"product_id": 1005, "pairs": 20, "value": 800.0},
                {"product_id": 1006, "pairs": 5, "value": 100.0},
            ],
            "events.zero_purchase_products": [
                {"product_id": 1007, "views": 450},
                {"product_id": 1008, "views": 300},
                {"product_id": 1009, "views": 200},
                {"product_id": 1010, "views": 200},
            ],
            "events.catalog_gaps": [
                {
                    "attribute": "brand",
                    "events_missing": 500,
                    "share_of_events": 500 / 9820,
                    "revenue_missing": 345.67,
                    "share_of_revenue": 345.67 / 12345.67,
                },
                {
                    "attribute": "category_code",
                    "events_missing": 1200,
                    "share_of_events": 1200 / 9820,
                    "revenue_missing": 2000.0,
                    "share_of_revenue": 2000 / 12345.67,
                },
            ],
        },
        "data_quality": {
            "events.unparsed_event_time": 7,
            "events.duplicates_removed": 100,
            "events.bad_price_removed": 50,
            "events.unmapped_removed": 30,
            "events.unmapped_types": {"NULL": 5, "wishlist": 25},
        },
        "skipped": [],
    }


def empty_metrics() -> dict[str, Any]:
    """Return a month with no events: zero counts, null rates and money, zero-filled buckets."""
    metrics = event_metrics()
    kpis = metrics["kpis"]
    for spec in EVENT_KPIS:
        kpis[spec.key] = None if spec.kind == "rate" else 0
    kpis["events.aov"] = kpis["events.revenue_per_transaction"] = None
    tables = metrics["tables"]
    tables["events.pipeline"] = [{**row, "rows": 0} for row in tables["events.pipeline"]]
    tables["events.funnel"] = [
        {
            "stage": stage,
            "users": 0,
            "conversion_from_previous": None,
            "drop_off": None,
            "share_of_viewers": None,
        }
        for stage in ("view", "cart", "purchase")
    ]
    for key in ("events.by_hour", "events.by_weekday", "events.by_month"):
        tables[key] = [
            {**row, "views": 0, "carts": 0, "purchases": 0, "revenue": 0} for row in tables[key]
        ]
    tables["events.user_segments"] = [
        {**row, "users": 0, "share": None} for row in tables["events.user_segments"]
    ]
    tables["events.catalog_gaps"] = [
        {
            **row,
            "events_missing": 0,
            "share_of_events": None,
            "revenue_missing": 0,
            "share_of_revenue": None,
        }
        for row in tables["events.catalog_gaps"]
    ]
    for key in (
        "events.top_products",
        "events.top_brands",
        "events.top_categories",
        "events.abandoned_brands",
        "events.abandoned_products",
        "events.zero_purchase_products",
    ):
        tables[key] = []
    metrics["data_quality"] = {
        "events.unparsed_event_time": 0,
        "events.duplicates_removed": 0,
        "events.bad_price_removed": 0,
        "events.unmapped_removed": 0,
        "events.unmapped_types": {},
    }
    return metrics


def without_brand() -> dict[str, Any]:
    """Return the month as computed from events with no brand column (the section README)."""
    metrics = event_metrics()
    del metrics["tables"]["events.top_brands"]
    del metrics["tables"]["events.abandoned_brands"]
    metrics["tables"]["events.catalog_gaps"][0] |= {
        "events_missing": None,
        "share_of_events": None,
        "revenue_missing": None,
        "share_of_revenue": None,
    }
    reason = "no column brand in events"
    metrics["skipped"] = [
        {"section": "events.top_brands", "reason": reason},
        {"section": "events.abandoned_brands", "reason": reason},
    ]
    return metrics


def skipped_reasons(metrics: dict[str, Any]) -> dict[str, str]:
    return {entry["section"]: entry["reason"] for entry in metrics["skipped"]}


def view_of(metrics: dict[str, Any], charts: dict[str, str] | None = None) -> dict[str, Any]:
    return events_view(metrics, CURRENCY, charts or {}, skipped_reasons(metrics))


def texts(table: dict[str, Any]) -> list[list[str]]:
    """Return a view table's cells as text, row by row."""
    return [[cell["text"] for cell in row] for row in table["rows"]]


EVENTS_SECTION = dataclasses.replace(
    SECTION,
    compute=lambda *args: pytest.fail("no computing in a view test"),
    charts=build_charts,
    recommend=recommend,
)
"""The section as its package declares it, minus the computation."""


def render(metrics: dict[str, Any]) -> BeautifulSoup:
    content = ReportContent(
        metrics=metrics,
        sections=[EVENTS_SECTION],
        charts=build_charts(metrics, CURRENCY),
        recommendations=recommend(metrics, CURRENCY),
        generated_at=datetime(2026, 11, 2, 6, 0, tzinfo=UTC),
        currency=CURRENCY,
        title="Event funnels",
        author="Analytics",
    )
    return BeautifulSoup(render_html(content), "html.parser")


@pytest.fixture(scope="module")
def charts() -> dict[str, str]:
    return build_charts(event_metrics(), CURRENCY)


@pytest.fixture(scope="module")
def soup() -> BeautifulSoup:
    return render(event_metrics())


# The view


def test_parts_have_ids_and_titles_for_the_contents():
    view = view_of(event_metrics())
    assert [(part["id"], part["title"]) for part in view["parts"]] == [
        ("events-overview", "Events at a glance"),
        ("events-funnel", "User funnel"),
        ("events-merchandising", "Merchandising"),
        ("events-timing", "When shoppers are active"),
        ("events-segments", "User segments"),
        ("events-abandonment", "Abandoned brands and products"),
        ("events-catalog", "Catalog alerts"),
        ("events-cleaning", "Event cleaning"),
    ]
    # The cleaning audit is technical: it goes to the appendix.
    assert [part["id"] for part in view["parts"] if part.get("appendix")] == ["events-cleaning"]
    assert all(part["notes"] == [] for part in view["parts"])
    assert all(part["empty"] is None for part in view["parts"])
    assert view["empty"] is False


def test_cleaning_audit_says_what_each_step_removed():
    part = view_of(event_metrics())["cleaning"]
    assert [(s["step"], s["removed"], s["rows"]) for s in part["steps"]] == [
        ("Events in the period", "", "10,000"),
        ("Duplicates removed", "100", "9,900"),
        ("Bad price or quantity removed", "50", "9,850"),
        ("Unmapped event types removed", "30", "9,820"),
        ("Counted in this section", "", "9,820"),
    ]
    # Largest first; NULL is the stored name of a missing type.
    assert texts(part["unmapped_table"]) == [["wishlist", "25"], ["NULL", "5"]]
    assert part["unparsed"].startswith("7 events in the whole log have a date and time that")
    assert part["empty"] is None
    assert part["all_removed"] is None


def test_cleaning_falls_back_to_the_pipeline_when_a_count_is_missing():
    metrics = event_metrics()
    del metrics["data_quality"]["events.bad_price_removed"]
    steps = view_of(metrics)["cleaning"]["steps"]
    assert steps[2]["removed"] == "50"  # 9,900 - 9,850


def test_kpi_cards_show_values_and_changes():
    cards = {card["key"]: card for card in view_of(event_metrics())["overview"]["cards"]}
    assert len(cards) == 10
    assert cards["events.users"]["value"] == "1,000"
    assert cards["events.users"]["comparison"] == "+200 (+25.0%) vs 800"
    assert cards["events.users"]["tone"] == "good"
    assert cards["events.revenue"]["value"] == "$12,345.67"
    assert cards["events.revenue"]["delta"] == "+$2,345.67 (+23.5%)"
    assert cards["events.aov"]["value"] == "$123.46"
    assert cards["events.removes"]["tone"] == "neutral"
    # No previous figure: the card says so rather than inventing a change.
    assert cards["events.revenue_per_transaction"]["value"] == "$154.32"
    assert cards["events.revenue_per_transaction"]["comparison"] == "previous period n/a"


def test_every_kpi_has_a_card_and_three_are_headlines():
    view = view_of(event_metrics())
    shown = [card["key"] for key in ("overview", "funnel") for card in view[key]["cards"]]
    assert sorted(shown) == sorted(spec.key for spec in EVENT_KPIS)
    assert len(EVENT_KPIS) == 15
    assert [spec.key for spec in EVENT_KPIS if spec.headline] == [
        "events.users",
        "events.overall_conversion_rate",
        "events.revenue",
    ]


def test_funnel_names_the_largest_drop():
    part = view_of(event_metrics())["funnel"]
    assert part["drop"] == (
        "The largest drop is from view to cart: 78.9% of viewers never add to cart."
    )
    assert texts(part["table"]) == [
        ["Viewed", "950", "n/a", "n/a", "100.0%"],
        ["Added to cart", "200", "21.1%", "78.9%", "21.1%"],
        ["Purchased", "50", "25.0%", "75.0%", "5.3%"],
    ]
    rates = {card["key"]: card for card in part["cards"]}
    assert rates["events.overall_conversion_rate"]["value"] == "5.3%"
    assert rates["events.overall_conversion_rate"]["delta"] == "+1.3 pp"


def test_funnel_drop_into_purchase_reads_as_buyers():
    metrics = event_metrics()
    funnel = metrics["tables"]["events.funnel"]
    funnel[2] |= {"users": 20, "conversion_from_previous": 0.1, "drop_off": 0.9}
    assert largest_drop(funnel) == (2, funnel[2])
    assert view_of(metrics)["funnel"]["drop"] == (
        "The largest drop is from cart to purchase: 90.0% of users who add to cart never buy."
    )


def test_merchandising_tables_show_formatted_rows():
    blocks = view_of(event_metrics())["merchandising"]["blocks"]
    assert [block["title"] for block in blocks] == ["Products", "Brands", "Categories"]
    assert texts(blocks[0]["table"]) == [
        ["1001", "30", "$6,000.00"],
        ["1002", "20", "$3,000.50"],
        ["1003", "10", "$1,000.00"],
    ]
    # Category codes read as words; metrics.json keeps the code.
    assert texts(blocks[2]["table"])[2] == [
        "Appliances \u203a Kitchen \u203a Kettle",
        "20",
        "$1,345.67",
    ]


def test_products_are_named_where_the_products_table_names_them():
    metrics = event_metrics()
    tables = metrics["tables"]
    tables["events.top_products"][0] |= {"name": "Galaxy A51", "category": "electronics.smartphone"}
    tables["events.top_products"][1] |= {"name": None, "category": None}
    tables["events.zero_purchase_products"][0] |= {"name": "Showroom TV", "category": None}
    view = view_of(metrics)
    products = view["merchandising"]["blocks"][0]["table"]
    assert [column["label"] for column in products["columns"]][:2] == ["Product", "Category"]
    assert texts(products)[:2] == [
        ["Galaxy A51 (id 1001)", "Electronics \u203a Smartphone", "30", "$6,000.00"],
        ["1002", "\u2014", "20", "$3,000.50"],  # not in the products table: its id
    ]
    # No category in any shown row: no category column.
    assert texts(view["catalog"]["zero_table"])[0] == ["Showroom TV (id 1007)", "450"]
    assert [row[0] for row in texts(view["abandonment"]["blocks"][1]["table"])] == [
        "1001",
        "1004",
        "1005",
    ]


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("computers.components.hdd", "Computers \u203a Components \u203a HDD"),
        ("furniture.living_room.sofa", "Furniture \u203a Living Room \u203a Sofa"),
        ("electronics.video.tv", "Electronics \u203a Video \u203a TV"),
        ("Unknown", "Unknown"),
        ("Home & Garden", "Home & Garden"),
        (None, "\u2014"),
    ],
)
def test_category_codes_read_as_words(code, shown):
    from reportgen.render.formatters import fmt_category

    assert fmt_category(code) == shown


def test_funnel_says_why_cart_and_event_abandonment_differ_when_both_are_there():
    metrics = event_metrics()
    assert view_of(metrics)["funnel"]["sources"] is None  # no cart section in the report
    metrics["kpis"]["carts.abandonment_rate"] = 0.682
    sentence = view_of(metrics)["funnel"]["sources"]
    assert sentence.startswith("The cart pages' abandonment (68.2% of carts) and the shoppers")
    assert "(75.0% of shoppers)" in sentence  # 1 - the 25.0% cart-to-purchase rate
    assert "Different sources, definitions and shoppers" in sentence
    assert "carts.abandonment_rate" not in sentence


def test_timing_names_the_busiest_hours_and_lists_weekdays():
    part = view_of(event_metrics())["timing"]
    assert part["remarks"] == [
        "Most views come at 20:00\u201320:59 (700 views).",
        "Most purchases come at 21:00\u201321:59 (25 purchases).",
    ]
    assert texts(part["weekday_table"])[5] == ["Saturday", "1,600", "120", "20", "$2,545.67"]
    assert texts(part["month_table"]) == [["2026-10", "9,000", "600", "100", "$12,345.67"]]
    assert "Europe/Berlin" in part["intro"]


def test_weekday_names_come_from_the_index_when_missing():
    metrics = event_metrics()
    for row in metrics["tables"]["events.by_weekday"]:
        del row["weekday_name"]
    rows = texts(view_of(metrics)["timing"]["weekday_table"])
    assert [row[0] for row in rows] == list(WEEKDAYS)


def test_segments_use_readable_names():
    assert texts(view_of(event_metrics())["segments"]["table"]) == [
        ["View only", "750", "75.0%"],
        ["Cart abandoners", "150", "15.0%"],
        ["One transaction", "40", "4.0%"],
        ["Two or more transactions", "10", "1.0%"],
        ["High value (top 10% of buyers)", "5", "0.5%"],
    ]


def test_abandoned_tables_show_top_n_and_point_to_the_csv():
    brands, products = view_of(event_metrics())["abandonment"]["blocks"]
    assert texts(brands["table"]) == [
        ["samsung", "60", "90", "$5,000.00"],
        ["apple", "40", "50", "$3,000.00"],
        ["xiaomi", "30", "35", "$1,500.00"],
    ]
    assert brands["csv_note"] == (
        "The 3 brands with the largest figures are shown, of 4; the CSV export "
        "csv/events.abandoned_brands.csv lists them all."
    )
    assert [row[0] for row in texts(products["table"])] == ["1001", "1004", "1005"]


def test_catalog_alerts_state_the_threshold_and_the_hidden_revenue():
    part = view_of(event_metrics())["catalog"]
    assert part["zero_intro"].startswith("Products with at least 200 views in the period")
    assert texts(part["zero_table"]) == [["1007", "450"], ["1008", "300"], ["1009", "200"]]
    assert "of 4;" in part["zero_csv_note"]
    assert texts(part["gap_table"]) == [
        ["Brand", "500", "5.1%", "$345.67", "2.8%"],
        ["Category", "1,200", "12.2%", "$2,000.00", "16.2%"],
    ]


def test_threshold_follows_the_rules():
    metrics = event_metrics()
    metrics["rules"]["zero_purchase_min_views"] = 1500
    metrics["tables"]["events.zero_purchase_products"] = []
    part = view_of(metrics)["catalog"]
    assert part["zero_intro"].startswith("Products with at least 1,500 views")
    assert part["zero_table"]["empty"] == "No product reached 1,500 views without a purchase."
    assert part["zero_csv_note"] is None


# Null values, skipped tables and the empty period


def test_null_kpis_show_na():
    metrics = event_metrics()
    metrics["kpis"]["events.cart_to_purchase_rate"] = None
    metrics["kpis"]["events.aov"] = None
    view = view_of(metrics)
    cards = {card["key"]: card for key in ("overview", "funnel") for card in view[key]["cards"]}
    assert cards["events.cart_to_purchase_rate"]["value"] == "n/a"
    assert cards["events.cart_to_purchase_rate"]["delta"] == "n/a"
    assert cards["events.aov"]["value"] == "n/a"


def test_skipped_tables_show_their_reason():
    view = view_of(without_brand())
    brands = view["merchandising"]["blocks"][1]
    assert brands["notes"] == ["Not shown: the event data records no brand for its events."]
    assert brands["table"] is None
    assert brands["figure"] is None
    abandoned = view["abandonment"]["blocks"][0]
    assert abandoned["notes"] == ["Not shown: the event data records no brand for its events."]
    assert abandoned["table"] is None
    # The other tables are untouched; the brand row of the gaps shows n/a.
    assert view["merchandising"]["blocks"][0]["notes"] == []
    assert texts(view["catalog"]["gap_table"])[0] == ["Brand", "n/a", "n/a", "n/a", "n/a"]


def test_empty_period_says_so_and_draws_nothing():
    metrics = empty_metrics()
    assert is_empty_period(metrics)
    view = view_of(metrics, build_charts(metrics, CURRENCY))
    assert view["empty"] is True
    assert {part["empty"] for part in view["parts"]} == {NO_EVENTS}
    assert view["cleaning"]["empty"] == NO_EVENTS == "No events in this period."
    assert view["overview"]["empty"] == NO_EVENTS
    assert view["funnel"]["drop"] is None
    assert view["funnel"]["figure"] is None
    assert view["timing"]["hour_figure"] is None
    assert view["timing"]["remarks"] == []
    assert view["segments"]["figure"] is None
    for block in view["merchandising"]["blocks"] + view["abandonment"]["blocks"]:
        assert block["figure"] is None
        assert block["table"]["rows"] == []
    assert texts(view["funnel"]["table"])[1] == ["Added to cart", "0", "n/a", "n/a", "n/a"]
    cards = {card["key"]: card for card in view["funnel"]["cards"]}
    assert {card["value"] for card in cards.values()} == {"n/a"}
    assert view["cleaning"]["unparsed"] == "Every event's date and time in the log could be read."


def test_all_zero_kpis_count_as_an_empty_period():
    metrics = empty_metrics()
    metrics["tables"]["events.pipeline"] = []
    assert is_empty_period(metrics)
    assert not is_empty_period(event_metrics())


def test_events_all_removed_by_cleaning_are_explained():
    metrics = empty_metrics()
    metrics["tables"]["events.pipeline"][0]["rows"] = 40
    metrics["data_quality"]["events.duplicates_removed"] = 40
    part = view_of(metrics)["cleaning"]
    assert part["empty"] == NO_EVENTS
    assert part["all_removed"] == "All 40 events of the period were removed by cleaning."


# Charts


def test_every_chart_is_an_inline_svg(charts: dict[str, str]):
    # No events.by_month: the fixture's period is one month, and a one-bar chart is left
    # out (no-single-bar-chart); its table stays.
    assert set(charts) == {
        "events.funnel",
        "events.top_products",
        "events.top_brands",
        "events.top_categories",
        "events.by_hour",
        "events.by_weekday",
        "events.user_segments",
        "events.abandoned_brands",
        "events.abandoned_products",
    }
    for name, svg in charts.items():
        assert svg.startswith("<svg"), name
        assert "<script" not in svg
        assert "placeholder" not in svg, name


def test_funnel_chart_labels_conversion(charts: dict[str, str]):
    svg = charts["events.funnel"]
    assert "950 viewers" in svg
    assert "200 cart users (21.1% of viewers)" in svg
    assert "50 buyers (25.0% of cart users)" in svg


def test_charts_carry_formatted_labels(charts: dict[str, str]):
    assert "$6k  (30 purchases)" in charts["events.top_products"]  # chart money is compact
    assert "Electronics \u203a Smartphone" in charts["events.top_categories"]  # codes in words
    assert "750  (75.0%)" in charts["events.user_segments"]
    assert "$5k" in charts["events.abandoned_brands"]
    assert "xiaomi" in charts["events.abandoned_brands"]
    assert "Unknown" not in charts["events.abandoned_brands"]  # cut by top_n = 3
    assert "Saturday" in charts["events.by_weekday"]


def test_empty_tables_give_placeholders_not_errors():
    charts = build_charts(empty_metrics(), CURRENCY)
    assert set(charts) == set(build_charts(event_metrics(), CURRENCY))
    for svg in charts.values():
        assert 'class="placeholder"' in svg


# The partial, rendered


def test_partial_renders_every_part_with_its_heading(soup: BeautifulSoup):
    section = soup.select_one("section.section-events")
    headings = [h2.get_text(strip=True) for h2 in section.find_all("h2")]
    parts = view_of(event_metrics())["parts"]
    assert headings == [part["title"] for part in parts if not part.get("appendix")]
    for href in (a["href"] for a in soup.select("nav.contents a")):
        assert soup.find(id=href.removeprefix("#")) is not None, href


def test_partial_shows_the_pipeline_and_the_drop(soup: BeautifulSoup):
    rows = soup.select("#part-events-cleaning table.pipeline tbody tr")
    assert [td.get_text(strip=True) for td in rows[1].find_all("td")][2:] == ["100", "9,900"]
    assert "78.9% of viewers never add to cart" in soup.select_one("#part-events-funnel .lead").text
    assert len(soup.select("section.section-events figure.chart svg")) == 9  # not by month


def test_cover_shows_the_headline_kpis(soup: BeautifulSoup):
    """Headline money is rounded on the cover (headline-money rule); the tables keep cents."""
    values = [card.get_text(strip=True) for card in soup.select(".kpis-headline .kpi-value")]
    assert values == ["1,000", "5.3%", "$12.3k"]


def test_empty_period_renders_without_charts():
    soup = render(empty_metrics())
    section = soup.select_one("section.section-events")
    assert section.select("figure") == []
    assert len(section.select(".empty-period")) == 7  # the eighth part is in the appendix
    assert "No events in this period." in section.select_one("#part-events-funnel").text


def test_skipped_table_renders_its_note():
    soup = render(without_brand())
    text = soup.select_one("#part-events-merchandising").get_text(" ", strip=True)
    assert "Not shown: the event data records no brand for its events." in text
    # Products and categories keep their charts, which carry the numbers: no table repeats them.
    assert len(soup.select("#part-events-merchandising figure")) == 2
    assert soup.select("#part-events-merchandising table") == []


def test_a_copy_is_not_modified():
    metrics = event_metrics()
    before = copy.deepcopy(metrics)
    view_of(metrics)
    recommend(metrics, CURRENCY)
    assert metrics == before


# Plain words: the director's pages name no setting, column or rule


def technical_words() -> re.Pattern[str]:
    """A config key, a column name, a snake_case name, §, or any named rule's slug."""
    from reportgen.report.assumptions import NAMED_RULES

    slugs = {slug for slug, _ in NAMED_RULES} | {slug for slug, _ in SECTION.named_rules}
    listed = "|".join(re.escape(slug) for slug in sorted(slugs, key=len, reverse=True))
    return re.compile(rf"rules\.|§|\b[a-z]+_[a-z_]+\b|\b(?:{listed})\b")


@pytest.mark.parametrize("metrics", [event_metrics(), without_brand(), empty_metrics()])
def test_the_event_pages_speak_plain_words(metrics):
    section = render(metrics).select_one("section.section-events")
    for node in section.find_all(["p", "th", "td", "h2", "h3", "caption", "figcaption"]):
        text = node.get_text(" ", strip=True)
        text = re.sub(r"csv/\S+\.csv", "", text)  # the export's file name is a name
        assert not technical_words().search(text), text


def test_the_cleaning_audit_is_laid_out_in_the_appendix(soup: BeautifulSoup):
    audit = soup.select_one("#part-events-cleaning")
    assert audit is not None
    assert audit.find_parent("section", class_="section-events") is None
    assert "section-events-appendix" in audit.find_parent("section")["class"]
    # After every director's page, before data quality and the assumptions.
    order = [tag.get("id") for tag in soup.find_all(id=True)]
    assert order.index("events-cleaning") > order.index("events-catalog")
    appendix = next(entry for entry in soup.select("nav.contents a") if "Appendix" in entry.text)
    assert appendix["href"] == "#events-cleaning"


def test_product_charts_name_the_products_where_the_catalog_does():
    metrics = event_metrics()
    for key in ("events.top_products", "events.abandoned_products"):
        for index, row in enumerate(metrics["tables"][key]):
            row["name"] = f"Kettle model {index}"
    charts = build_charts(metrics, CURRENCY)
    assert "Kettle model 0" in charts["events.top_products"]
    assert "Kettle model 0" in charts["events.abandoned_products"]
