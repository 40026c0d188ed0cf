"""Which cart figures are not final yet (named rules provisional-reengagement and
provisional-open-carts), and what that does to the cards and the recommendations."""

from __future__ import annotations

from typing import Any

from reportgen.render.viewparts import card
from reportgen.sections.carts.kpis import CART_KPIS, carts_open, window_open
from reportgen.sections.carts.recommend import recommend

SPECS = {spec.key: spec for spec in CART_KPIS}


def _metrics(**kpis: Any) -> dict[str, Any]:
    base = {
        "carts.carts_total": 1000,
        "carts.carts_abandoned": 600,
        "carts.carts_open": 0,
        "carts.reengagement_immature_carts": 0,
        "carts.reengagement_rate": 0.15,
        "carts.abandonment_rate": 0.6,
    }
    previous = dict(base, **{"carts.reengagement_rate": 0.2, "carts.abandonment_rate": 0.7})
    return {
        "period": {
            "kind": "week",
            "label": "2026-W48",
            "start": "2026-11-23T00:00:00",
            "end": "2026-11-30T00:00:00",
            "timezone": "UTC",
        },
        "rules": {"reengagement_days": 7},
        "kpis": {**base, **kpis, "previous": previous},
        "tables": {},
    }


def test_reengagement_is_final_only_when_no_abandoned_cart_is_inside_its_window():
    assert window_open(_metrics()) is None
    reason = window_open(_metrics(**{"carts.reengagement_immature_carts": 873}))
    assert reason == (
        "873 of 600 abandoned carts are still inside their 7-day window: final once the data "
        "runs to 6 Dec 2026."
    )


def test_rates_are_provisional_from_one_percent_of_carts_still_open():
    assert carts_open(_metrics(**{"carts.carts_open": 9})) is None
    assert "10 of 1,000 carts are still open (1.0%)" in carts_open(
        _metrics(**{"carts.carts_open": 10})
    )


def test_a_provisional_card_shows_no_change():
    metrics = _metrics(**{"carts.reengagement_immature_carts": 50, "carts.carts_open": 80})
    for key in ("carts.reengagement_rate", "carts.abandonment_rate"):
        shown = card(SPECS[key], metrics, "USD")
        assert shown["provisional"]
        assert "pp" not in shown["comparison"]


def test_the_recovery_campaign_is_valued_at_the_last_final_rate_while_the_window_is_open():
    metrics = _metrics(**{"carts.reengagement_immature_carts": 50})
    metrics["tables"]["carts.savable_customers"] = [
        {"customer_id": "C1", "abandoned_carts": 1, "abandoned_value": 1000.0}
    ]
    campaign = [r for r in recommend(metrics, "USD") if "campaign" in r.headline]
    assert campaign
    assert campaign[0].expected_value == 200.0
    assert "the previous period's 20.0%" in campaign[0].expected_value_basis
