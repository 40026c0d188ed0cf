"""The marketing section's view: metrics.json → the display strings of ``_marketing.html``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.render.formatters import fmt_number, fmt_text
from reportgen.render.viewparts import cards, figure, notes, number, table
from reportgen.report import reading as read
from reportgen.sections.marketing.charts import HEATMAP_COHORTS, month_label
from reportgen.sections.marketing.kpis import MARKETING_KPIS

DEFAULT_MIN_CLICKS = 100
"""METRICS.md-style default of ``rules.campaign_min_clicks`` when metrics.json has none."""
TOO_LITTLE_DATA = "too little data"
NO_COST = "no cost"

CAMPAIGN_COLUMNS = (
    ("rank", "Rank", "text"),
    ("label", "Campaign", "text"),
    ("channel", "Channel", "text"),
    ("clicks", "Clicks", "number"),
    ("cost", "Cost", "money"),
    ("cpc", "CPC", "money"),
    ("ctr", "CTR", "rate"),
    ("orders", "Orders", "number"),
    ("revenue", "Revenue", "money"),
    ("roi", "ROI", "rate"),
)


def campaign_label(row: Mapping[str, Any]) -> str:
    """Return a campaign's display name: its name, else its id."""
    name = row.get("name")
    return fmt_text(name) if name not in (None, "") else fmt_text(row.get("campaign_id"))


def ranked_campaigns(rows: Sequence[Mapping[str, Any]], min_clicks: Any) -> list[dict[str, Any]]:
    """Return the campaigns in report order with a ``rank`` text and a display ``label``.

    Campaigns with at least ``min_clicks`` clicks and an ROI come first, best ROI first
    (ties in campaign_id order, as metrics.json lists them); then those with enough clicks
    but no cost to divide by; then those with too few clicks, shown as too little data.
    """
    threshold = number(min_clicks)
    threshold = DEFAULT_MIN_CLICKS if threshold is None else threshold
    ranked, no_cost, little = [], [], []
    for row in rows:
        clicks = number(row.get("clicks"))
        entry = {**row, "label": campaign_label(row)}
        if clicks is None or clicks < threshold:
            little.append(entry)
        elif number(row.get("roi")) is None:
            no_cost.append(entry)
        else:
            ranked.append(entry)
    ranked.sort(key=lambda row: -row["roi"])
    for place, row in enumerate(ranked, start=1):
        row["rank"] = fmt_number(place)
    for row in no_cost:
        row["rank"] = NO_COST
    for row in little:
        row["rank"] = TOO_LITTLE_DATA
    return ranked + no_cost + little


def _decimal_card(key: str, metrics: Mapping[str, Any], currency: str) -> dict[str, str]:
    """Return a card whose value needs two decimals (orders per customer: 1.34, not 1)."""
    spec = next(spec for spec in MARKETING_KPIS if spec.key == key)
    found = cards(MARKETING_KPIS, (key,), metrics, currency)[0]
    current, previous = read.kpi(metrics, key), read.previous_kpi(metrics, key)
    found["value"] = fmt_number(current, 2)
    found["previous"] = fmt_number(previous, 2)
    if current is None or previous is None:
        found["comparison"] = (
            "previous period n/a" if previous is None else f"n/a vs {fmt_number(previous, 2)}"
        )
        return found
    change = current - previous
    shown = fmt_number(abs(change), 2)
    direction = "flat" if shown == "0.00" else ("up" if change > 0 else "down")
    found["direction"] = direction
    found["arrow"] = {"up": "\u25b2", "down": "\u25bc"}.get(direction, "")
    found["tone"] = (
        "neutral"
        if direction == "flat" or spec.better == "neutral"
        else ("good" if direction == spec.better else "bad")
    )
    sign = "+" if change >= 0 else "-"
    found["comparison"] = f"{sign}{shown} vs {fmt_number(previous, 2)}"
    return found


def provisional_notes(metrics: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """Return the KPIs' ``provisional_when`` sentences, each once."""
    found: list[str] = []
    for spec in MARKETING_KPIS:
        if spec.key in keys and spec.provisional_when is not None:
            reason = spec.provisional_when(metrics)
            if reason and reason not in found:
                found.append(reason)
    return found


def marketing_view(
    metrics: Mapping[str, Any],
    currency: str,
    charts: Mapping[str, str],
    skipped: Mapping[str, str],
) -> dict[str, Any]:
    """Return the view of the marketing section: four parts, each with an id for the contents."""
    tables = read.mapping(metrics.get("tables"))
    rules = read.mapping(metrics.get("rules"))
    by_month = read.rows(metrics, "marketing.by_month")
    orders = read.kpi(metrics, "marketing.orders")

    section_cards = cards(
        MARKETING_KPIS,
        ("marketing.orders", "marketing.customers"),
        metrics,
        currency,
    )
    section_cards.append(_decimal_card("marketing.orders_per_customer", metrics, currency))
    section_cards += cards(
        MARKETING_KPIS,
        (
            "marketing.repeat_purchase_rate",
            "marketing.retention_rate",
            "marketing.order_abandonment_rate",
        ),
        metrics,
        currency,
    )
    customers = {
        "id": "marketing-customers",
        "title": "Repeat purchase and retention",
        "intro": (
            "Repeat purchase rate: the period's ordering customers with two or more orders in "
            "it. Retention: the previous period's ordering customers who ordered again in this "
            "one. Orders of any status count; orders without a customer count only as orders."
        ),
        "notes": notes(skipped, ("marketing.order_abandonment_rate",)),
        "provisional": provisional_notes(
            metrics, ("marketing.retention_rate", "marketing.repeat_purchase_rate")
        ),
        "empty": "No orders were placed in this period." if not orders else None,
        "cards": section_cards,
        "figure": figure(
            charts,
            "marketing.by_month",
            "Each month's repeat purchase rate, and the share of the month before's customers "
            "who ordered again in it.",
        ),
        "table": table(
            [{**row, "month": month_label(row.get("month"))} for row in by_month],
            (
                ("month", "Month", "text"),
                ("orders", "Orders", "number"),
                ("customers", "Customers", "number"),
                ("repeat_purchase_rate", "Repeat purchase", "rate"),
                ("retention_rate", "Retention vs month before", "rate"),
            ),
            currency,
            caption="Orders and customers by month (the last month stops at the period end)",
        ),
    }

    cohort_rows = read.rows(metrics, "marketing.cohorts")
    cohort_names = sorted({str(row.get("cohort")) for row in cohort_rows})
    cohorts = {
        "id": "marketing-cohorts",
        "title": "Cohort retention",
        "intro": (
            "Customers grouped by the month of their first order (size in brackets); each "
            "cell is the share of the cohort that ordered in the month that many months "
            "later. Month 0 is 100% by definition; the latest cells may be months still "
            "under way."
        ),
        "figure": figure(
            charts,
            "marketing.cohorts",
            "Share of each first-order cohort ordering again, by months since the first order.",
        )
        if cohort_rows
        else None,
        "empty": None if cohort_rows else "No customer had ordered before the period end.",
        "csv_note": (
            f"The {HEATMAP_COHORTS} most recent of {fmt_number(len(cohort_names))} cohorts are "
            "shown; csv/marketing.cohorts.csv lists them all."
            if len(cohort_names) > HEATMAP_COHORTS
            else None
        ),
    }

    min_clicks = rules.get("campaign_min_clicks", DEFAULT_MIN_CLICKS)
    campaign_rows = ranked_campaigns(read.rows(metrics, "marketing.campaigns"), min_clicks)
    campaigns_skipped = skipped.get("marketing.campaigns")
    campaigns = {
        "id": "marketing-campaigns",
        "title": "Campaigns",
        "skipped": f"Skipped because {campaigns_skipped.rstrip('.')}."
        if campaigns_skipped
        else None,
        "intro": (
            f"Campaigns ranked by ROI, (attributed revenue - cost) / cost. Campaigns with "
            f"fewer than {fmt_number(number(min_clicks))} clicks in the period are too little "
            "data to rank. Orders of any status count for their campaign."
        ),
        "notes": notes(
            skipped,
            (
                "marketing.campaign_activity",
                "marketing.campaign_names",
                "marketing.campaigns.name",
                "marketing.campaigns.channel",
                "marketing.campaign_orders",
                "marketing.campaigns.impressions",
                "marketing.revenue",
            ),
        ),
        "figure": figure(
            charts,
            "marketing.campaigns",
            "Cost and attributed revenue of each campaign in the period, in ranking order.",
        )
        if "marketing.campaigns" in tables
        else None,
        "table": table(
            campaign_rows,
            CAMPAIGN_COLUMNS,
            currency,
            empty="No campaign had activity or attributed orders in this period.",
            caption="Campaigns, best ROI first",
        )
        if not campaigns_skipped
        else None,
    }

    discounts = {
        "id": "marketing-discounts",
        "title": "Discount codes",
        "notes": notes(skipped, ("marketing.discount_revenue_share", "marketing.revenue")),
        "cards": cards(MARKETING_KPIS, ("marketing.discount_revenue_share",), metrics, currency),
        "figure": figure(
            charts,
            "marketing.discount_by_month",
            "Revenue of orders with and without a discount code by month; the line is the "
            "share with a code (right-hand axis).",
        ),
        "table": table(
            [{**row, "month": month_label(row.get("month"))} for row in by_month],
            (
                ("month", "Month", "text"),
                ("discount_revenue", "With a discount code", "money"),
                ("other_revenue", "Without", "money"),
                ("revenue", "All orders", "money"),
                ("discount_revenue_share", "Share with a code", "rate"),
            ),
            currency,
            caption="Revenue with and without a discount code by month",
        ),
    }
    return {
        "customers": customers,
        "cohorts": cohorts,
        "campaigns": campaigns,
        "discounts": discounts,
        "parts": [customers, cohorts, campaigns, discounts],
    }
