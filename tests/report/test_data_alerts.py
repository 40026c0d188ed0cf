"""``data_alerts(metrics, quality)``: the rule bad-row-share over a metrics.json, by hand."""

from __future__ import annotations

from typing import Any

import pytest

from reportgen.config import QualitySettings
from reportgen.report.alerts import DataAlert, data_alerts
from reportgen.sections import all_sections

RULE = QualitySettings()  # 0.5%


def metrics(**quality: Any) -> dict[str, Any]:
    """A metrics.json of March 2024 whose tables all have rows and whose period is not empty."""
    data_quality = {
        "carts.table_rows": 1000,
        "cart_items.table_rows": 3000,
        "orders.table_rows": 400,
        "events.table_rows": 10_000,
        "events.period_rows": 2000,
        "carts.period_lines": 200,
        **quality,
    }
    return {
        "period": {"label": "2024-03"},
        "kpis": {"carts.carts_total": 100},
        "data_quality": data_quality,
    }


def messages(found: list[DataAlert]) -> list[str]:
    return [alert.message for alert in found]


def test_nothing_to_say_about_clean_data():
    assert data_alerts(metrics(), RULE) == []


def test_the_share_must_exceed_the_rule():
    # 5 of 1,000 is exactly 0.5%: not above the rule. 6 of 1,000 is.
    assert data_alerts(metrics(**{"carts.unparsed_created_at": 5}), RULE) == []
    (alert,) = data_alerts(metrics(**{"carts.unparsed_created_at": 6}), RULE)
    assert alert == DataAlert(
        table="carts",
        key="carts.unparsed_created_at",
        kind="bad_rows",
        problem="have an unreadable created_at and are in no period",
        count=6,
        total=1000,
        share=0.006,
        message="6 of 1,000 carts (0.6%) have an unreadable created_at and are in no period",
    )


def test_a_zero_rule_flags_any_bad_row_and_a_tiny_share_keeps_two_decimals():
    found = data_alerts(
        metrics(**{"events.unparsed_event_time": 1}), QualitySettings(max_bad_row_share=0)
    )
    assert messages(found) == [
        "1 of 10,000 events (0.01%) have a date and time that cannot be read and are in no period"
    ]


@pytest.mark.parametrize(
    ("key", "count", "message"),
    [
        ("carts.null_cart_ids", 10, "10 of 1,000 carts (1.0%) have no cart_id and are left out"),
        (
            "carts.future_created_at",
            10,
            "10 of 1,000 carts (1.0%) are dated after this report was built and are in no "
            "past period",
        ),
        (
            "carts.invalid_lines",
            2,
            "2 of 200 cart lines of the period (1.0%) have a bad quantity or price and are "
            "left out of cart values",
        ),
        (
            "orders.unparsed_order_date",
            4,
            "4 of 400 orders (1.0%) have an unreadable order_date and link to no cart",
        ),
        (
            "orders.future_order_date",
            4,
            "4 of 400 orders (1.0%) are dated after this report was built",
        ),
        (
            "events.future_event_time",
            100,
            "100 of 10,000 events (1.0%) are dated after this report was built and are in no "
            "past period",
        ),
        (
            "events.bad_price_removed",
            20,
            "20 of 2,000 events of the period (1.0%) were removed for a missing or bad price "
            "or quantity",
        ),
    ],
)
def test_every_counted_problem(key, count, message):
    assert messages(data_alerts(metrics(**{key: count}), RULE)) == [message]


def test_the_rule_covers_the_listed_counts_only():
    counted = [check.key for section in all_sections() for check in section.bad_rows]
    assert counted == [
        "carts.unparsed_created_at",
        "carts.null_cart_ids",
        "carts.future_created_at",
        "carts.invalid_lines",
        "orders.unparsed_order_date",
        "orders.future_order_date",
        "events.unparsed_event_time",
        "events.future_event_time",
        "events.bad_price_removed",
    ]
    # Duplicates are collapsed, not lost; unmapped types are listed by name.
    assert data_alerts(metrics(**{"events.duplicates_removed": 900}), RULE) == []
    assert data_alerts(metrics(**{"events.unmapped_removed": 900}), RULE) == []


def test_empty_tables_and_periods():
    found = data_alerts(
        {
            "period": {"label": "2024-03"},
            "kpis": {"carts.carts_total": 0},
            "data_quality": {
                "carts.table_rows": 0,
                "cart_items.table_rows": 0,
                "orders.table_rows": 5,
                "events.table_rows": 7,
                "events.period_rows": 0,
            },
        },
        RULE,
    )
    assert [(a.table, a.kind) for a in found] == [
        ("carts", "empty_table"),
        ("cart_items", "empty_table"),
        ("events", "empty_period"),  # no "empty period" for carts: the table is empty
    ]
    assert found[2].message == (
        "No events have a date in 2024-03 (7 rows in the events table): "
        "the events figures are empty"
    )


def test_a_skipped_section_or_an_older_metrics_json_is_not_judged():
    assert data_alerts({"kpis": {}, "data_quality": {"carts.unparsed_created_at": 50}}, RULE) == []
    assert data_alerts({}, RULE) == []
