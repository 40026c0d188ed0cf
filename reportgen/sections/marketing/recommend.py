"""Turn the marketing section's metrics into recommendations a director can act on.

Each rule is a small function ``(metrics, currency) -> Recommendation | None`` listed in
``RULES``. A rule reads only ``metrics.json`` (the section README), formats every number
with ``reportgen.render.formatters``, and does not fire when what it needs is missing,
empty or null. Thresholds and priorities are the constants below (lower comes first).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from reportgen.plugin import Recommendation
from reportgen.render.formatters import fmt_delta, fmt_money, fmt_number, fmt_percent
from reportgen.report import reading as read
from reportgen.sections.marketing.charts import month_label
from reportgen.sections.marketing.kpis import window_open
from reportgen.sections.marketing.view import ranked_campaigns

SECTION = "marketing"

# Thresholds. Rates are fractions, as in metrics.json (0.02 = 2 pp).
RATE_CHANGE = 0.02
"""A fall in retention or repeat purchase rate vs the previous period worth acting on."""
ROI_MIN_GAP = 0.25
"""The best campaign's ROI must beat the worst one's by this much (25 pp) to move budget."""
BUDGET_SHIFT_SHARE = 0.5
"""The share of the worst campaign's cost the budget advice moves (or cuts) ...
... at most the best campaign's own cost: a budget doubled is as far as its return per unit
spent can be taken to hold."""
COHORT_BASELINE = 3
"""A cohort is compared with this many cohorts before it ..."""
COHORT_MIN_GAP = 0.05
"""... and flagged when its month-1 share is this much (5 pp) below their mean ..."""
COHORT_MIN_CUSTOMERS = 20
"""... and it holds at least this many customers."""
EPSILON = 1e-9
"""Slack for "at least" comparisons, so 0.31 - 0.29 counts as 2 pp."""

PRIORITY_EMPTY_PERIOD = 0
PRIORITY_BUDGET_SHIFT = 15
PRIORITY_RETENTION_FELL = 22
PRIORITY_REPEAT_FELL = 27
PRIORITY_WEAK_COHORT = 35
PRIORITY_PROVISIONAL = 92

Metrics = dict[str, Any]
Rule = Callable[[Metrics, str], Recommendation | None]


def _at_least(value: float, threshold: float) -> bool:
    return value >= threshold - EPSILON


def _fell(metrics: Metrics, key: str) -> tuple[float, float] | None:
    """Return (current, previous) of a rate KPI that fell by RATE_CHANGE or more."""
    current, previous = read.kpi(metrics, key), read.previous_kpi(metrics, key)
    if current is None or previous is None or not _at_least(previous - current, RATE_CHANGE):
        return None
    return current, previous


def period_revenue(metrics: Metrics) -> float | None:
    """Return the period's order revenue from ``marketing.by_month``, when the period is
    made of whole months (a month, or a custom window from a 1st to a 1st); else None."""
    period = read.mapping(metrics.get("period"))
    try:
        start = date.fromisoformat(str(period.get("start"))[:10])
        end = date.fromisoformat(str(period.get("end"))[:10])
    except ValueError:
        return None
    if start.day != 1 or end.day != 1 or period.get("to_date"):
        return None
    first, last = f"{start:%Y-%m}", f"{end:%Y-%m}"
    inside = [
        row
        for row in read.rows(metrics, "marketing.by_month")
        if first <= str(row.get("month")) < last
    ]
    months = (end.year - start.year) * 12 + end.month - start.month
    values = [read.number(row.get("revenue")) for row in inside]
    if len(inside) != months or any(value is None for value in values):
        return None
    return float(sum(values))  # type: ignore[arg-type]


def _per(total: float | None, count: float | None) -> float | None:
    return total / count if total is not None and count else None


def empty_period(metrics: Metrics, currency: str) -> Recommendation | None:
    """Say there is nothing to analyse when the period has no orders."""
    orders = read.kpi(metrics, "marketing.orders")
    if orders is None or orders > 0:
        return None
    period = read.period(metrics, "period", "in this period")
    return Recommendation(
        SECTION,
        "Check the orders feed before reading the marketing section.",
        f"No orders were placed {period}, so there is no repeat purchase, retention or "
        "campaign revenue to analyse. Confirm that the orders table is still being loaded.",
        {"marketing.orders": orders},
        PRIORITY_EMPTY_PERIOD,
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _named(row: dict[str, Any]) -> str:
    """Return a campaign as a sentence names it: its name, else ``campaign <id>``."""
    return row["label"] if row.get("name") not in (None, "") else f"campaign {row['label']}"


def budget_shift(metrics: Metrics, currency: str) -> Recommendation | None:
    """Move budget from the worst-ROI campaign with enough clicks to the best one."""
    rules = read.mapping(metrics.get("rules"))
    rows = ranked_campaigns(
        read.rows(metrics, "marketing.campaigns"), rules.get("campaign_min_clicks")
    )
    ranked = [row for row in rows if str(row.get("rank", "")).isdigit()]
    if len(ranked) < 2:
        return None
    best, worst = ({**row, "label": _named(row)} for row in (ranked[0], ranked[-1]))
    gap = best["roi"] - worst["roi"]
    if not _at_least(gap, ROI_MIN_GAP):
        return None
    # No campaign with enough data pays back: moving money only moves the loss; cutting
    # the worst one's spend keeps what its revenue does not cover.
    cut = best["roi"] <= 0
    moved = (read.number(worst.get("cost")) or 0) * BUDGET_SHIFT_SHARE
    if not cut:
        moved = min(moved, read.number(best.get("cost")) or 0)
    gain = -worst["roi"] if cut else gap
    expected = moved * gain if moved > 0 else None

    def described(row: dict[str, Any]) -> str:
        return (
            f"{row['label']} returned an ROI of {fmt_percent(row['roi'])} "
            f"({fmt_money(row.get('revenue'), currency)} of attributed revenue on "
            f"{fmt_money(row.get('cost'), currency)} of cost, "
            f"{fmt_number(row.get('clicks'))} clicks)"
        )

    detail = _sentence(f"{described(worst)}; {described(best)}.")
    if cut:
        headline = f"Cut the spend on {worst['label']}: no ranked campaign paid back its cost."
        if expected is not None:
            detail += (
                f" Halving {worst['label']}'s spend ({fmt_money(moved, currency)} less) would "
                f"save about {fmt_money(expected, currency)} net of the revenue it brings, "
                "if its revenue falls in proportion."
            )
    else:
        headline = f"Move budget from {worst['label']} to {best['label']}."
        if expected is not None:
            detail += (
                f" Moving {fmt_money(moved, currency)} of {worst['label']}'s spend to "
                f"{best['label']} (half of it, at most doubling {best['label']}'s budget) "
                f"could bring about {fmt_money(expected, currency)} more revenue, if each extra "
                "unit spent returns what the campaign returns today."
            )
    return Recommendation(
        SECTION,
        headline,
        detail,
        {
            "marketing.campaigns.worst": {
                "campaign_id": worst.get("campaign_id"),
                "roi": worst["roi"],
                "cost": worst.get("cost"),
                "revenue": worst.get("revenue"),
                "clicks": worst.get("clicks"),
            },
            "marketing.campaigns.best": {
                "campaign_id": best.get("campaign_id"),
                "roi": best["roi"],
                "cost": best.get("cost"),
                "revenue": best.get("revenue"),
                "clicks": best.get("clicks"),
            },
            "rules.campaign_min_clicks": rules.get("campaign_min_clicks"),
        },
        PRIORITY_BUDGET_SHIFT,
        expected_value=expected,
        expected_value_basis=(
            None
            if expected is None
            else "half of the worst campaign's cost times its loss per unit spent"
            if cut
            else "half of the worst campaign's cost (at most the best one's cost) times the "
            "gap between the two ROIs"
        ),
    )


def retention_fell(metrics: Metrics, currency: str) -> Recommendation | None:
    """Flag a retention rate that fell by 2 pp or more since the previous period."""
    moved = _fell(metrics, "marketing.retention_rate")
    if moved is None:
        return None
    current, previous = moved
    base = read.previous_kpi(metrics, "marketing.customers")
    before = read.period(metrics, "previous_period", "the previous period")
    lost = (previous - current) * base if base else None
    value_per_customer = _per(period_revenue(metrics), read.kpi(metrics, "marketing.customers"))
    expected = lost * value_per_customer if lost and value_per_customer is not None else None
    detail = (
        f"Retention fell from {fmt_percent(previous)} to {fmt_percent(current)} "
        f"({fmt_delta(current, previous, 'rate')}): of the {fmt_number(base)} customers who "
        f"ordered {before}, {fmt_number(round(current * base) if base else None)} ordered "
        "again in this period."
    )
    if expected is not None:
        detail += (
            f" Back at the earlier rate, about {fmt_number(lost)} more would have ordered, worth "
            f"about {fmt_money(expected, currency)} at this period's revenue per customer."
        )
    return Recommendation(
        SECTION,
        "Win back last period's customers: retention fell.",
        detail + " Send them a reminder or an offer before they lapse for good.",
        {
            "marketing.retention_rate": current,
            "previous.marketing.retention_rate": previous,
            "previous.marketing.customers": base,
        },
        PRIORITY_RETENTION_FELL,
        kpi="marketing.retention_rate",
        pull="up",
        expected_value=expected,
        expected_value_basis=(
            "customers lost against the earlier rate times this period's revenue per customer"
            if expected is not None
            else None
        ),
    )


def repeat_fell(metrics: Metrics, currency: str) -> Recommendation | None:
    """Flag a repeat purchase rate that fell by 2 pp or more since the previous period."""
    moved = _fell(metrics, "marketing.repeat_purchase_rate")
    if moved is None:
        return None
    current, previous = moved
    customers = read.kpi(metrics, "marketing.customers")
    missing = (previous - current) * customers if customers else None
    order_value = _per(period_revenue(metrics), read.kpi(metrics, "marketing.orders"))
    expected = missing * order_value if missing and order_value is not None else None
    detail = (
        f"The repeat purchase rate fell from {fmt_percent(previous)} to {fmt_percent(current)} "
        f"({fmt_delta(current, previous, 'rate')}) among {fmt_number(customers)} ordering "
        "customers."
    )
    if expected is not None:
        detail += (
            f" At the earlier rate about {fmt_number(missing)} more customers would have ordered "
            f"twice, worth about {fmt_money(expected, currency)} at this period's average order "
            "value."
        )
    return Recommendation(
        SECTION,
        "Give first-time buyers a reason to order again.",
        detail + " A follow-up offer soon after the first order is the usual lever.",
        {
            "marketing.repeat_purchase_rate": current,
            "previous.marketing.repeat_purchase_rate": previous,
            "marketing.customers": customers,
        },
        PRIORITY_REPEAT_FELL,
        kpi="marketing.repeat_purchase_rate",
        pull="up",
        expected_value=expected,
        expected_value_basis=(
            "missing repeat customers times this period's average order value"
            if expected is not None
            else None
        ),
    )


def _month_index(text: str) -> int | None:
    try:
        return int(text[:4]) * 12 + int(text[5:7]) - 1
    except ValueError:
        return None


def weak_cohort(metrics: Metrics, currency: str) -> Recommendation | None:
    """Flag the newest cohort with a whole month 1 that came back less than the ones before."""
    period = read.mapping(metrics.get("period"))
    end = _month_index(str(period.get("end") or ""))
    if end is None:
        return None
    # Month 1 of cohort c has ended when month c + 2 starts at or before the period end.
    last_complete = end - 2
    month_one: dict[str, tuple[float, int]] = {}
    for row in read.rows(metrics, "marketing.cohorts"):
        cohort = str(row.get("cohort"))
        index = _month_index(cohort)
        share, size = read.number(row.get("share")), read.number(row.get("customers"))
        if row.get("months_since") == 1 and index is not None and index <= last_complete:
            if share is not None and size:
                month_one[cohort] = (share, int(size))
    names = sorted(month_one)
    if len(names) < COHORT_BASELINE + 1:
        return None
    newest, earlier = names[-1], names[-1 - COHORT_BASELINE : -1]
    share, size = month_one[newest]
    baseline = sum(month_one[name][0] for name in earlier) / len(earlier)
    if size < COHORT_MIN_CUSTOMERS or not _at_least(baseline - share, COHORT_MIN_GAP):
        return None
    missing = (baseline - share) * size
    order_value = _per(period_revenue(metrics), read.kpi(metrics, "marketing.orders"))
    expected = missing * order_value if order_value is not None else None
    shown = ", ".join(f"{month_label(name)} {fmt_percent(month_one[name][0])}" for name in earlier)
    detail = (
        f"{fmt_percent(share)} of the {fmt_number(size)} customers whose first order was in "
        f"{month_label(newest)} ordered again the month after, against "
        f"{fmt_percent(baseline)} for the {COHORT_BASELINE} cohorts before ({shown})."
    )
    if expected is not None:
        detail += (
            f" Matching them would mean about {fmt_number(missing)} more returning customers, "
            f"worth about {fmt_money(expected, currency)} at this period's average order value."
        )
    return Recommendation(
        SECTION,
        f"Find out why customers who first ordered in {month_label(newest)} came back less.",
        detail + " Check which campaigns and offers brought them in.",
        {
            f"marketing.cohorts[{newest}, 1].share": share,
            f"marketing.cohorts[{newest}].customers": size,
            "baseline_share": baseline,
            "baseline_cohorts": earlier,
        },
        PRIORITY_WEAK_COHORT,
        kpi="marketing.retention_rate",
        pull="up",
        expected_value=expected,
        expected_value_basis=(
            "missing returning customers times this period's average order value"
            if expected is not None
            else None
        ),
    )


def provisional(metrics: Metrics, currency: str) -> Recommendation | None:
    """Note that retention and repeat purchase are provisional while the period is open."""
    reason = window_open(metrics)
    if reason is None:
        return None
    return Recommendation(
        SECTION,
        "Read the retention and repeat purchase rates as provisional.",
        reason,
        {
            "marketing.newest_order": read.mapping(metrics.get("data_quality")).get(
                "marketing.newest_order"
            )
        },
        PRIORITY_PROVISIONAL,
    )


RULES: tuple[Rule, ...] = (
    empty_period,
    budget_shift,
    retention_fell,
    repeat_fell,
    weak_cohort,
    provisional,
)


def recommend(metrics: Metrics, currency: str) -> list[Recommendation]:
    """Return the marketing recommendations, by priority and then by rule order.

    An empty period gets only the note that there is nothing to analyse.
    """
    empty = empty_period(metrics, currency)
    if empty is not None:
        return [empty]
    fired = [rec for rule in RULES if (rec := rule(metrics, currency)) is not None]
    return sorted(fired, key=lambda rec: rec.priority)
