"""The event section's view: metrics.json → the display strings of ``_events.html``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reportgen.render.formatters import EN_DASH, fmt_category, fmt_number, fmt_percent, fmt_text
from reportgen.render.viewparts import Column, cards, figure, notes, number, table
from reportgen.sections.events.kpis import (
    EVENT_KPIS,
    FUNNEL_STAGES,
    PRODUCT_TABLES,
    SEGMENT_LABELS,
    drop_sentence,
    has_categories,
    is_empty_period,
    largest_drop,
    pipeline_rows,
    weekday_name,
    with_product_labels,
)

NO_EVENTS = "No events in this period."
NO_PURCHASES = "No purchases in this period."
DEFAULT_TOP_N = 10
DEFAULT_ZERO_PURCHASE_MIN_VIEWS = 200

PIPELINE_STEPS = (
    ("raw", "Events in the period", None, "Events dated in the period."),
    (
        "deduplicated",
        "Duplicates removed",
        "events.duplicates_removed",
        "Exact duplicate rows (identical in every column) are counted once.",
    ),
    (
        "valid_price",
        "Bad price or quantity removed",
        "events.bad_price_removed",
        "Rows with a missing, zero or negative price, or a zero or negative quantity.",
    ),
    (
        "mapped_type",
        "Unmapped event types removed",
        "events.unmapped_removed",
        "Events of a type that is none of the funnel steps: view, add to cart, remove "
        "from cart, purchase (listed below).",
    ),
    ("clean", "Counted in this section", None, "The events every figure below is based on."),
)
"""(stage, step, data_quality key of what it removed, why) for ``events.pipeline``."""

REVENUE_COLUMNS = (("purchases", "Purchases", "number"), ("revenue", "Revenue", "money"))
"""The measures the top product, brand and category tables share (METRICS.md §4)."""

TIME_COLUMNS = (
    ("views", "Views", "number"),
    ("carts", "Add to carts", "number"),
    ("purchases", "Purchases", "number"),
    ("revenue", "Revenue", "money"),
)
"""The measures of the hour, weekday and month tables."""

GAP_ATTRIBUTES = {"brand": "Brand", "category_code": "Category"}


@dataclass(frozen=True)
class _Context:
    """What every part reads: metrics.json, the charts and the skipped tables."""

    metrics: Mapping[str, Any]
    currency: str
    charts: Mapping[str, str]
    skipped: Mapping[str, str]
    empty: bool
    top_n: int

    def rows(self, key: str) -> list[Mapping[str, Any]]:
        """Return a table's rows (none when it is missing or not a list)."""
        found = (self.metrics.get("tables") or {}).get(key)
        return [row for row in found if isinstance(row, Mapping)] if isinstance(found, list) else []

    def figure(self, key: str, caption: str) -> dict[str, str] | None:
        """Return a chart, but none in an empty period (the note says why) or for a skipped
        table."""
        return None if self.empty or key in self.skipped else figure(self.charts, key, caption)

    def table(
        self,
        key: str,
        columns: Sequence[Column],
        shown: Sequence[Mapping[str, Any]] | None = None,
        **options: Any,
    ) -> dict[str, Any] | None:
        """Return a table of ``shown`` (default: all the table's rows), or none for a table
        skipped for a missing column (its note says why)."""
        found = self.rows(key) if shown is None else shown
        if key in self.skipped and not found:
            return None
        return table(found, columns, self.currency, **options)


# The event section (reportgen/sections/events/README.md).


def events_view(
    metrics: Mapping[str, Any],
    currency: str,
    charts: Mapping[str, str],
    skipped: Mapping[str, str],
) -> dict[str, Any]:
    """Return the view of the event section: eight parts, each with an id for the contents;
    the last, the cleaning audit, is laid out in the appendix.

    In a period with no events every part carries the note ``empty`` and draws no chart.
    """
    top_n = number((metrics.get("rules") or {}).get("top_n"))
    context = _Context(
        metrics,
        currency,
        charts,
        skipped,
        empty=is_empty_period(metrics),
        top_n=int(top_n) if top_n and top_n > 0 else DEFAULT_TOP_N,
    )
    parts = [
        _overview(context),
        _funnel(context),
        _merchandising(context),
        _timing(context),
        _segments(context),
        _abandonment(context),
        _catalog(context),
        _cleaning(context),  # the audit: in the appendix (Section.appendix_template)
    ]
    for part in parts:
        part["empty"] = NO_EVENTS if context.empty else None
    view: dict[str, Any] = {part["key"]: part for part in parts}
    view["empty"] = context.empty
    view["parts"] = parts
    return view


def _cleaning(context: _Context) -> dict[str, Any]:
    """The raw → clean pipeline: what each step removed and why."""
    quality = context.metrics.get("data_quality") or {}
    steps = []
    previous_rows = None
    for stage, step, removed_key, why in PIPELINE_STEPS:
        left = pipeline_rows(context.metrics, stage)
        removed = number(quality.get(removed_key)) if removed_key else None
        if removed_key and removed is None and left is not None and previous_rows is not None:
            removed = previous_rows - left
        steps.append(
            {
                "step": step,
                "why": why,
                "removed": fmt_number(removed) if removed_key else "",
                "rows": fmt_number(left),
            }
        )
        previous_rows = left
    unmapped = quality.get("events.unmapped_types")
    unmapped_rows = sorted(
        (
            {"type": name, "rows": count}
            for name, count in (unmapped.items() if isinstance(unmapped, Mapping) else ())
        ),
        key=lambda row: (-(number(row["rows"]) or 0), str(row["type"])),
    )
    unparsed = number(quality.get("events.unparsed_event_time"))
    if unparsed:
        unparsed_text = (
            f"{fmt_number(unparsed)} events in the whole log have a date and time that could "
            "not be read; they belong to no period and are not counted anywhere."
        )
    elif unparsed == 0:
        unparsed_text = "Every event's date and time in the log could be read."
    else:
        unparsed_text = "Events whose date and time could not be read: n/a."
    raw, clean = pipeline_rows(context.metrics, "raw"), pipeline_rows(context.metrics, "clean")
    all_removed = bool(raw) and clean == 0
    return {
        "key": "cleaning",
        "id": "events-cleaning",
        "title": "Event cleaning",
        "appendix": True,
        "notes": notes(context.skipped, ("events.pipeline",)),
        "intro": (
            "How the raw event log became the events this section counts, step by step. "
            "A missing brand or category becomes Unknown and a missing quantity counts as 1; "
            "neither removes a row."
        ),
        "steps": steps,
        "all_removed": (
            f"All {fmt_number(raw)} events of the period were removed by cleaning."
            if all_removed
            else None
        ),
        "unmapped_table": table(
            unmapped_rows,
            (("type", "Event type (trimmed, lower-cased)", "text"), ("rows", "Rows", "number")),
            context.currency,
            empty="Every event type in the period is mapped to a funnel step.",
            caption="Unmapped event types removed",
        ),
        "unparsed": unparsed_text,
    }


def _overview(context: _Context) -> dict[str, Any]:
    """Activity and money KPI cards with their change since the previous period."""
    return {
        "key": "overview",
        "id": "events-overview",
        "title": "Events at a glance",
        "notes": notes(context.skipped, ("events.kpis",)),
        "cards": cards(
            EVENT_KPIS,
            (
                "events.users",
                "events.sessions",
                "events.transactions",
                "events.revenue",
                "events.views",
                "events.carts",
                "events.removes",
                "events.purchases",
                "events.aov",
                "events.revenue_per_transaction",
            ),
            context.metrics,
            context.currency,
        ),
        "remarks": [
            "Average purchase value is revenue per purchase event; a transaction is a "
            "user's session with at least one purchase."
        ],
    }


def _funnel(context: _Context) -> dict[str, Any]:
    """The view → cart → purchase user funnel and its largest drop, named in words."""
    funnel = context.rows("events.funnel")
    drop = None if context.empty else largest_drop(funnel)
    return {
        "key": "funnel",
        "id": "events-funnel",
        "title": "User funnel",
        "notes": notes(context.skipped, ("events.funnel",)),
        "cards": cards(
            EVENT_KPIS,
            (
                "events.view_to_cart_rate",
                "events.cart_to_purchase_rate",
                "events.overall_conversion_rate",
                "events.user_conversion_rate",
                "events.cart_to_purchase_event_rate",
            ),
            context.metrics,
            context.currency,
        ),
        "drop": f"The largest drop is {drop_sentence(funnel, drop[0])}." if drop else None,
        "sources": _cart_figures_differ(context.metrics),
        "figure": context.figure(
            "events.funnel",
            "Users who viewed a product, added one to a cart and bought, with the share "
            "of the stage before who went on.",
        ),
        "table": table(
            [
                {**row, "stage": FUNNEL_STAGES.get(row.get("stage"), row.get("stage"))}
                for row in funnel
            ],
            (
                ("stage", "Stage", "text"),
                ("users", "Users", "number"),
                ("conversion_from_previous", "From the stage before", "rate"),
                ("drop_off", "Drop-off", "rate"),
                ("share_of_viewers", "Share of viewers", "rate"),
            ),
            context.currency,
            empty=NO_EVENTS,
            caption="Users at each funnel stage",
        ),
    }


def _cart_figures_differ(metrics: Mapping[str, Any]) -> str | None:
    """Say why the cart pages' abandonment and this page's differ, when the report has both.

    The cart section reads the shop's carts table (a cart is abandoned when no order
    followed it); this page reads the click stream (a shopper added to cart and never
    bought): two sources, two definitions, two populations.
    """
    kpis = metrics.get("kpis") or {}
    if "carts.abandonment_rate" not in kpis:
        return None
    carts = number(kpis.get("carts.abandonment_rate"))
    buying = number(kpis.get("events.cart_to_purchase_rate"))
    cart_share = f" ({fmt_percent(carts)} of carts)" if carts is not None else ""
    user_share = f" ({fmt_percent(1 - buying)} of shoppers)" if buying is not None else ""
    return (
        f"The cart pages' abandonment{cart_share} and the shoppers here who add to cart and "
        f"never buy{user_share} are different figures: the cart pages count the shop's saved "
        "carts that no order followed, this page counts shoppers in the click stream. "
        "Different sources, definitions and shoppers, so the two do not match."
    )


def _merchandising(context: _Context) -> dict[str, Any]:
    """The top products, brands and categories by purchase revenue."""
    blocks = []
    for key, field, name, plural in (
        ("events.top_products", "product", "Product", "products"),
        ("events.top_brands", "brand", "Brand", "brands"),
        ("events.top_categories", "category_code", "Category", "categories"),
    ):
        found = context.rows(key)[: context.top_n]
        shown, columns = _readable(key, found, ((field, name, "text"),))
        figure = (
            context.figure(key, f"Top {fmt_number(len(found))} {plural} by purchase revenue.")
            if found
            else None
        )
        blocks.append(
            {
                "title": plural.capitalize(),
                "notes": [_skipped_note(key, context.skipped[key])]
                if key in context.skipped
                else [],
                "figure": figure,
                # The chart labels each bar with its revenue and purchases: a table of the
                # same two numbers would only repeat it (the CSV export has every row).
                "table": None
                if figure
                else context.table(
                    key,
                    (*columns, *REVENUE_COLUMNS),
                    shown,
                    empty=NO_PURCHASES,
                    caption=f"Top {plural} by revenue",
                ),
            }
        )
    return {
        "key": "merchandising",
        "id": "events-merchandising",
        "title": "Merchandising",
        "notes": [],
        "intro": (
            f"What sold: the top {fmt_number(context.top_n)} of each by revenue from purchase "
            "events. Unknown collects purchases with no brand or category in the data."
        ),
        "blocks": blocks,
    }


def _timing(context: _Context) -> dict[str, Any]:
    """Activity by hour of day, day of week and month."""
    zone = (context.metrics.get("period") or {}).get("timezone") or "UTC"
    hours = context.rows("events.by_hour")
    busiest = []
    for field, what in (("views", "views"), ("purchases", "purchases")):
        peak = _peak(hours, field)
        if peak is not None:
            hour = peak.get("hour")
            when = (
                f"{hour:02d}:00{EN_DASH}{hour:02d}:59" if isinstance(hour, int) else fmt_text(hour)
            )
            busiest.append(f"Most {what} come at {when} ({fmt_number(peak.get(field))} {what}).")
    return {
        "key": "timing",
        "id": "events-timing",
        "title": "When shoppers are active",
        "notes": notes(context.skipped, ("events.by_hour", "events.by_weekday", "events.by_month")),
        "intro": (
            f"Views, add-to-carts, purchases and revenue by hour of day and by day of week "
            f"(local time, {zone}), each on its own scale. The data gives hours and weekdays "
            "separately, so there is no hour-by-weekday grid."
        ),
        "hour_figure": context.figure("events.by_hour", f"Activity by hour of day ({zone})."),
        "remarks": busiest,
        "weekday_figure": context.figure("events.by_weekday", "Activity by day of week."),
        "weekday_table": context.table(
            "events.by_weekday",
            (("weekday_name", "Day", "text"), *TIME_COLUMNS),
            [
                {**row, "weekday_name": weekday_name(row)}
                for row in context.rows("events.by_weekday")
            ],
            caption="Activity by day of week",
        ),
        "month_figure": context.figure(
            "events.by_month", "Activity by calendar month in the period."
        ),
        "month_table": context.table(
            "events.by_month",
            (("month", "Month", "text"), *TIME_COLUMNS),
            caption="Activity by month",
        ),
    }


def _segments(context: _Context) -> dict[str, Any]:
    """Users by behaviour: view only, abandoners, one or more transactions, high value."""
    found = [
        {**row, "label": SEGMENT_LABELS.get(row.get("segment"), row.get("segment"))}
        for row in context.rows("events.user_segments")
    ]
    segments_table = context.table(
        "events.user_segments",
        (
            ("label", "Segment", "text"),
            ("users", "Users", "number"),
            ("share", "Share of users", "rate"),
        ),
        found,
        empty=NO_EVENTS,
        caption="Users by segment",
    )
    return {
        "key": "segments",
        "id": "events-segments",
        "title": "User segments",
        "notes": notes(context.skipped, ("events.user_segments",)),
        "intro": (
            "View only: no add-to-cart and no purchase. Cart abandoners: added to cart, "
            "never bought. High value: the top 10% of buyers by revenue, who are also counted "
            "under one or two or more transactions, so shares add up to more than 100%."
        ),
        "figure": context.figure(
            "events.user_segments", "Users in each segment (share of all users)."
        ),
        "table": segments_table,
    }


def _abandonment(context: _Context) -> dict[str, Any]:
    """The brands and products left in carts most, top_n of each (all rows in the CSV)."""
    blocks = []
    for key, columns, name, plural, what in (
        (
            "events.abandoned_brands",
            (
                ("brand", "Brand", "text"),
                ("users", "Abandoners", "number"),
                ("cart_events", "Add-to-cart events", "number"),
                ("value", "Value left", "money"),
            ),
            "brand",
            "brands",
            "the add-to-cart events of users who never bought",
        ),
        (
            "events.abandoned_products",
            (
                ("product", "Product", "text"),
                ("pairs", "Users who left it", "number"),
                ("value", "Value left", "money"),
            ),
            "product",
            "products",
            "users who added the product to a cart and never bought it",
        ),
    ):
        found = context.rows(key)
        shown, columns = _readable(key, found[: context.top_n], columns)
        note = context.skipped.get(key)
        blocks.append(
            {
                "title": plural.capitalize(),
                "notes": [_skipped_note(key, note)] if note else [],
                "intro": f"Value left in carts, from {what}.",
                "figure": context.figure(
                    key, f"The {fmt_number(len(shown))} {plural} with the most value left in carts."
                )
                if shown
                else None,
                "table": None
                if note and not found
                else table(
                    shown,
                    columns,
                    context.currency,
                    empty=f"No {name} was left in a cart in this period.",
                    caption=f"{plural.capitalize()} left in carts, largest value first",
                ),
                "csv_note": _csv_note(len(shown), len(found), plural, key),
            }
        )
    return {
        "key": "abandonment",
        "id": "events-abandonment",
        "title": "Abandoned brands and products",
        "notes": [],
        "blocks": blocks,
    }


def _catalog(context: _Context) -> dict[str, Any]:
    """Products viewed often and never bought, and revenue hidden by missing attributes."""
    threshold = number((context.metrics.get("rules") or {}).get("zero_purchase_min_views"))
    threshold = DEFAULT_ZERO_PURCHASE_MIN_VIEWS if threshold is None else threshold
    never = context.rows("events.zero_purchase_products")
    shown, zero_columns = _readable(
        "events.zero_purchase_products",
        never[: context.top_n],
        (("product", "Product", "text"), ("views", "Views", "number")),
    )
    gaps = [
        {**row, "attribute": GAP_ATTRIBUTES.get(row.get("attribute"), row.get("attribute"))}
        for row in context.rows("events.catalog_gaps")
    ]
    return {
        "key": "catalog",
        "id": "events-catalog",
        "title": "Catalog alerts",
        "notes": [],
        "zero_notes": notes(context.skipped, ("events.zero_purchase_products",)),
        "zero_intro": (
            f"Products with at least {fmt_number(threshold)} views in the period and no purchase."
        ),
        "zero_table": table(
            shown,
            zero_columns,
            context.currency,
            empty=f"No product reached {fmt_number(threshold)} views without a purchase.",
            caption="Viewed often, never bought",
        ),
        "zero_csv_note": _csv_note(
            len(shown), len(never), "products", "events.zero_purchase_products"
        ),
        "gap_notes": notes(context.skipped, ("events.catalog_gaps",)),
        "gap_intro": (
            "Events with no brand or category: the brand and category tables show them as "
            "Unknown, so their revenue cannot be credited to a brand or category."
        ),
        "gap_table": context.table(
            "events.catalog_gaps",
            (
                ("attribute", "Missing", "text"),
                ("events_missing", "Events", "number"),
                ("share_of_events", "Share of events", "rate"),
                ("revenue_missing", "Revenue", "money"),
                ("share_of_revenue", "Share of revenue", "rate"),
            ),
            gaps,
            empty=NO_EVENTS,
            caption="Catalog gaps and the revenue they hide",
        ),
    }


def _readable(
    key: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]
) -> tuple[list[dict[str, Any]], tuple[Column, ...]]:
    """Return a table's rows and columns as a reader reads them: products by name (and
    their category, where the products table gives one), category codes in words."""
    if key == "events.top_categories":
        shown = [{**r, "category_code": fmt_category(r.get("category_code"))} for r in rows]
        return shown, tuple(columns)
    if key not in PRODUCT_TABLES:
        return [dict(r) for r in rows], tuple(columns)
    shown = with_product_labels(rows)
    if not has_categories(shown):
        return shown, tuple(columns)
    return shown, (columns[0], ("category", "Category", "text"), *columns[1:])


def _peak(rows: Sequence[Mapping[str, Any]], field: str) -> Mapping[str, Any] | None:
    """Return the first row with the largest positive ``field``, or None."""
    best = None
    for row in rows:
        value = number(row.get(field))
        if value and value > 0 and (best is None or value > best[field]):
            best = row
    return best


MISSING_ATTRIBUTE_TABLES = {
    "events.top_brands": "brand",
    "events.abandoned_brands": "brand",
    "events.top_categories": "category",
}
"""The tables the section leaves out when the event data records no brand or category."""


def _skipped_note(key: str, reason: str) -> str:
    """Say why a table is missing in words: the data has no brands, not a column name."""
    attribute = MISSING_ATTRIBUTE_TABLES.get(key)
    if attribute is not None:
        return f"Not shown: the event data records no {attribute} for its events."
    return f"Skipped because {reason.rstrip('.')}."


def _csv_note(shown: int, total: int, plural: str, key: str) -> str | None:
    if total <= shown:
        return None
    return (
        f"The {fmt_number(shown)} {plural} with the largest figures are shown, of "
        f"{fmt_number(total)}; the CSV export csv/{key}.csv lists them all."
    )
