"""The cart & customer behaviour section (METRICS.md §3)."""

from __future__ import annotations

from typing import Any

from reportgen.sections import Recommendation, Section
from reportgen.sections.carts.compute import compute
from reportgen.sections.carts.kpis import CART_KPIS
from reportgen.sections.carts.view import carts_view


def _charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    # Imported on use: computing metrics must not pay for Altair and vl-convert.
    from reportgen.sections.carts.charts import build_charts

    return build_charts(metrics, currency)


def _recommend(metrics: dict[str, Any], currency: str) -> list[Recommendation]:
    from reportgen.sections.carts.recommend import recommend

    return recommend(metrics, currency)


def _readings(metrics: dict[str, Any]) -> list[dict[str, str]]:
    from reportgen.sections.carts.readings import cart_readings

    return cart_readings(metrics)


SECTION = Section(
    name="carts",
    title="Cart & customer behaviour",
    tables=("carts", "cart_items", "orders"),
    compute=compute,
    charts=_charts,
    recommend=_recommend,
    template="sections/_carts.html",
    kpis=CART_KPIS,
    view=carts_view,
    columns={
        "carts.top_abandoned_skus": (
            "product_id",
            "name",
            "category",
            "carts",
            "units",
            "abandoned_value",
            "share",
        ),
        "carts.top_abandoned_categories": (
            "category",
            "carts",
            "units",
            "abandoned_value",
            "share",
        ),
    },
    readings=_readings,
)
