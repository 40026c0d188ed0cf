"""Plain-English descriptions of the rules behind the numbers, for the Assumptions appendix.

Two kinds: the configurable rules (each section's rules model, as metrics.json records them
in ``rules``, plus settings a section owns such as ``segments``) and the fixed readings of
METRICS.md every report applies (the core's named rules and each section's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportgen.plugin import Section
from reportgen.render.formatters import fmt_rule_value


def rules_in_force(metrics: Mapping[str, Any], sections: Sequence[Section]) -> list[dict[str, str]]:
    """Return the rules of the report's sections with their value and meaning.

    Each section's rules in the order its texts list them (a rule two sections read is
    listed once); a rule without a text is listed after them as is.
    """
    rules = metrics.get("rules") or {}
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for section in sections:
        if section.rules is None:
            continue
        keys = [k for k in section.rule_texts if k in section.rules.model_fields]
        keys += [k for k in section.rules.model_fields if k not in section.rule_texts]
        for key in keys:
            if key in seen or key not in rules:
                continue
            seen.add(key)
            text = section.rule_texts.get(key)
            out.append(
                {
                    "key": f"rules.{key}",
                    "name": text.name if text else key.replace("_", " ").capitalize(),
                    "value": fmt_rule_value(rules[key]),
                    "meaning": text.meaning(rules[key]) if text else "",
                }
            )
    for section in sections:
        if section.extra_rules is not None:
            out.extend(section.extra_rules(metrics))
    return out


NAMED_RULES: tuple[tuple[str, str], ...] = (
    (
        "comparison-coverage",
        "A change against the previous period is shown, summarised or acted on only when "
        "the data covers at least 95% of that period (from the first to the last timestamp "
        "of the section's data); otherwise it reads n/a, and the usual range leaves out "
        "every earlier period the data does not cover that much.",
    ),
    (
        "provisional-figures",
        "A figure whose window has not closed for every row behind it (re-engagement "
        "within its window of the data's end, carts that may still change) is marked "
        "provisional: it shows no change against the previous period, which was measured "
        "when older, and no recommendation rests on its change.",
    ),
    (
        "to-date",
        "A report to date covers the whole days of the current month or week before the "
        "day it is built, compared with the same number of days from the start of the one "
        "before (cut at its end); it is archived under month-to-date/ or week-to-date/.",
    ),
    (
        "largest-moves",
        "The summary's largest moves are the headline figures that changed by 2% or more, "
        "those outside their usual range first, then by relative change; why names the "
        "group of the section's contribution table that pushed the figure furthest the way "
        "it moved (when that group moved it more than the whole change, the report says so "
        "and gives what the other groups did together).",
    ),
    (
        "headline-money",
        "Money on the summary page and in the email is rounded to three significant "
        "figures ($904k); tables, CSV and metrics.json keep the full value.",
    ),
    (
        "ids-as-text",
        "Ids (cart, customer, product, order) are compared as their text, not "
        "stripped; an empty-text id is NULL. Output ids are integers when every id in the "
        'table is plain integer text ("007" stays text).',
    ),
    (
        "labels-stripped",
        "Category, brand, product name and segment values are stripped like "
        "statuses; empty after stripping is NULL, shown as Unknown.",
    ),
    (
        "default-period",
        "A build with no period option covers the last complete month (or week) before "
        "the newest timestamp of the first registered section whose table the source has "
        "(carts.created_at, else events.event_time, as each section's README says).",
    ),
    (
        "money-rounding",
        "Money sums keep full precision to 1e-6 in metrics.json and CSV (the "
        "float noise below that differs between engines); they are rounded half-up to cents "
        "only where shown.",
    ),
    (
        "lower-ascii-on-sqlite",
        "On SQLite, lower() folds ASCII letters only: statuses with "
        "non-ASCII capitals must be listed in the config as they appear.",
    ),
    (
        "zoned-timestamps",
        "A timestamp column typed with a time zone (timestamptz) is read as its instant, "
        "as if written with a UTC suffix, then shown in report.timezone.",
    ),
    (
        "csv-as-text",
        "CSV files are read with every value as text, then parsed by the timestamp and "
        "number rules like a text column (a sniffed type would drop a UTC suffix or fail on "
        "one odd value).",
    ),
    (
        "usual-range",
        "A cover sparkline shows a headline KPI over the last report.trend_periods periods, "
        "recomputed from the source (trends.json beside metrics.json); its delta is within "
        "the usual range when the value lies between the lowest and highest of the 8 "
        "periods before (at least 3 of them known). A sparkline needs 3 known periods; "
        "periods the data does not cover are unknown.",
    ),
    (
        "year-ago",
        "Where the data covers at least 95% of the same period a year before (the same "
        "month, the ISO week of the same number, or the window a year back), its headline "
        "figures stand beside the previous period's on the cover (trends.json year_ago); "
        "none for a provisional figure.",
    ),
    (
        "history-kept",
        "Building a period that already exists moves the old report to "
        "reports/history/<kind>/<label>/<built at>/; --force replaces it.",
    ),
    (
        "bad-row-share",
        "A data alert is raised when unreadable or dropped rows exceed "
        "quality.max_bad_row_share (default 0.5%) of their denominator: "
        "carts.unparsed_created_at, carts.null_cart_ids and carts.future_created_at of "
        "carts.table_rows; carts.invalid_lines of carts.period_lines (the period's merged"
        " lines); orders.unparsed_order_date and orders.future_order_date of "
        "orders.table_rows; events.unparsed_event_time and events.future_event_time of "
        "events.table_rows; events.bad_price_removed of events.period_rows. An empty "
        "carts, cart_items, orders or events table, and a period with no carts or no "
        "events, are alerts too. Not weighed: duplicates (collapsed, not lost), unmapped "
        "event types (listed by name), orphan lines (no cart's figure loses them) and "
        "other statuses (counted as other). Alerts are warnings from the CLI, a banner on"
        " the cover and data_alerts in build.json; build --strict publishes nothing "
        "instead.",
    ),
    (
        "future-dated-rows",
        "carts.future_created_at, orders.future_order_date and events.future_event_time "
        "count rows of the whole table (carts with a cart_id) whose timestamp is later "
        "than the moment the build started, compared as local time in report.timezone; "
        "they stay in whatever period they fall in.",
    ),
    (
        "out-of-range-instants",
        "A timestamp whose instant or local time falls outside the years 1 to 9999 in "
        "report.timezone (9999-12-31 23:30 UTC seen from Asia/Tokyo) is unparsed.",
    ),
    (
        "csv-encoding",
        "CSV files are read in their source.files entry's encoding, else source.encoding "
        "(default utf-8). DuckDB reads utf-8, utf-16 and latin-1 itself; any other Python"
        " codec (cp1252…) is first copied to UTF-8 a chunk at a time. Bytes that do not "
        "decode are an error naming the file and the encoding, never silently replaced.",
    ),
    (
        "mixed-sources",
        "With a database beside files (source.url and source.files), each section runs on "
        "the engine holding its main table, and the tables one section reads together come "
        "from one of them; a files entry for a table the database also has is an error (with "
        "files alone, or a DuckDB database, the file replaces the table as METRICS.md §8 "
        "says). Event product names, looked up by id in a query of their own, come from "
        "whichever engine has the products table.",
    ),
    (
        "partial-buckets",
        "A chart bucket the period covers only in part (the first and last ISO week of "
        "a month, the last month of the marketing history when the period ends inside "
        "it, the first and last month of a custom window) is drawn lighter, and a note "
        "under the chart names the days it counts.",
    ),
    (
        "no-overprint",
        "Chart labels stay level; when they do not fit side by side they break onto two "
        "lines at their spaces, and when they still do not fit only every second, "
        "third... label is shown.",
    ),
    (
        "no-single-bar-chart",
        "A chart with one bar or one point is left out (a one-month activity chart, a "
        "one-bucket trend, a one-row ranking); its table stays.",
    ),
    (
        "tight-axis",
        "A value axis starts at zero and ends at a round value at most 25% beyond the "
        "largest bar or point (100% at most for shares); a label that has no room after "
        "its bar is printed inside the bar's end.",
    ),
    (
        "chart-money",
        "Money on chart axes and labels is rounded to three significant figures "
        "($904k), as on the summary page; tables, CSV and metrics.json keep the full "
        "value.",
    ),
)
"""Readings the core adds where METRICS.md is silent (mirrored in docs/rules.md); each
section adds its own (``Section.named_rules``, listed in its README)."""


def interpretive_rules(
    metrics: Mapping[str, Any], sections: Sequence[Section]
) -> list[dict[str, str]]:
    """Return the fixed rules the report applies (METRICS.md §8) in plain English: the
    time zone, each section's readings, then the core's and the sections' named rules."""
    zone = (metrics.get("period") or {}).get("timezone") or "UTC"
    readings = [
        reading
        for section in sections
        if section.readings is not None
        for reading in section.readings(metrics)
    ]
    named = [*NAMED_RULES, *(rule for section in sections for rule in section.named_rules)]
    return [
        {
            "name": "Time zone",
            "meaning": (
                f"Timestamps without a zone are read as local times in {zone}; those with an "
                "offset or UTC are converted to it. A period runs from its start up to, but "
                "not including, its end."
            ),
        },
        *readings,
        {
            "name": "Zero denominators",
            "meaning": "A rate whose denominator is zero is shown as n/a, never as 0.",
        },
        *({"name": _title(slug), "key": slug, "meaning": text} for slug, text in named),
    ]


def _title(slug: str) -> str:
    """``comparison-coverage`` → ``Comparison coverage``: the name a reader sees (the slug,
    which docs/rules.md and the sections' READMEs list, goes in small print)."""
    words = slug.replace("-", " ")
    return words[:1].upper() + words[1:]
