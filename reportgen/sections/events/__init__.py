"""The event-log funnel section (METRICS.md §4): clickstream → funnel, merchandising, gaps."""

from __future__ import annotations

from typing import Any

from reportgen.sections import Recommendation, Section
from reportgen.sections.events.compute import TABLE_COLUMNS, compute
from reportgen.sections.events.kpis import EVENT_KPIS
from reportgen.sections.events.view import events_view


def _charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    # Imported on use: computing metrics must not pay for Altair and vl-convert.
    from reportgen.sections.events.charts import build_charts

    return build_charts(metrics, currency)


def _recommend(metrics: dict[str, Any], currency: str) -> list[Recommendation]:
    from reportgen.sections.events.recommend import recommend

    return recommend(metrics, currency)


def _readings(metrics: dict[str, Any]) -> list[dict[str, str]]:
    from reportgen.sections.events.readings import event_readings

    return event_readings(metrics)


SECTION = Section(
    name="events",
    title="Event funnels",
    tables=("events",),
    compute=compute,
    charts=_charts,
    recommend=_recommend,
    template="sections/_events.html",
    kpis=EVENT_KPIS,
    view=events_view,
    columns=TABLE_COLUMNS,
    readings=_readings,
)
