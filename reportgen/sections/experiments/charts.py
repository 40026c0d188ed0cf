"""The experiment section's charts: forest plots of the primary metric's lift, as inline SVG.

``experiments.forest``: one row per variant against control, every experiment in the
report, its lift as a dot and the 95% interval as a bar, coloured by the experiment's
status (a failed gate is grey: no verdict). ``experiments.personas.<id>``: the same for
the readable personas of each experiment with a ship or stop verdict (exploratory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import altair as alt

from reportgen.render import charts
from reportgen.render.formatters import fmt_text
from reportgen.sections.experiments.kpis import DIMENSION_LABELS
from reportgen.sections.experiments.words import capitalised, persona_label

Rows = Sequence[Mapping[str, Any]]

LEGEND = {
    "ship": ("Ship", charts.GOOD),
    "stop": ("Stop", charts.BAD),
    "keep_running": ("Keep running", charts.ACCENT),
}
"""A decided experiment's legend entry and colour; any other status is a failed gate."""
NO_VERDICT = ("No verdict (a gate failed)", charts.NEUTRAL)
ROW_HEIGHT = 15
"""Height of one comparison's row in a forest plot (CSS px)."""
LABEL_LIMIT = 260
"""Room for the row labels (experiment, variant) before they are cut with an ellipsis."""


def build_charts(metrics: dict[str, Any], currency: str) -> dict[str, str]:
    """Return the forest plot of every experiment and a persona plot per shipped or stopped one."""
    tables = metrics.get("tables") or {}

    def rows(key: str) -> list[Mapping[str, Any]]:
        found = tables.get(key)
        return [row for row in found if isinstance(row, Mapping)] if isinstance(found, list) else []

    gates = {str(row.get("experiment_id")): row for row in rows("experiments.gates")}
    verdicts = rows("experiments.verdicts")
    jobs: dict[str, Callable[[], str]] = {
        "experiments.forest": lambda: forest_chart(verdicts, gates),
    }
    personas = rows("experiments.segments")
    for eid, gate in gates.items():
        if gate.get("status") not in ("ship", "stop"):
            continue
        mine = [r for r in personas if str(r.get("experiment_id")) == eid and r.get("readable")]
        if mine:
            jobs[f"experiments.personas.{eid}"] = lambda mine=mine: persona_chart(mine)
    return charts.render_all(jobs)


def forest_chart(verdicts: Rows, gates: Mapping[str, Mapping[str, Any]]) -> str:
    """Draw each variant's lift on the primary metric with its 95% interval."""
    data = []
    for row in verdicts:
        if not _has_interval(row):
            continue
        gate = gates.get(str(row.get("experiment_id"))) or {}
        status = LEGEND.get(str(gate.get("status")), NO_VERDICT)[0]
        name = fmt_text(gate.get("name") or row.get("experiment_id"))
        data.append(
            {
                "row": f"{name}: {fmt_text(row.get('variant'))} vs {gate.get('control_variant')}",
                "lift": row["lift"],
                "low": row["lift_ci_low"],
                "high": row["lift_ci_high"],
                "status": status,
            }
        )
    if not data:
        return charts.placeholder("No experiment to compare in this period")
    present = {row["status"] for row in data}
    shown = [entry for entry in (*LEGEND.values(), NO_VERDICT) if entry[0] in present]
    return charts.to_svg(_forest(data, [s for s, _ in shown], [c for _, c in shown]))


def persona_chart(rows: Rows) -> str:
    """Draw the primary metric's lift per readable persona (exploratory), a colour per
    dimension."""
    data = [
        {
            "row": persona_label(r.get("dimension"), r.get("segment"))
            + (f" ({fmt_text(r.get('variant'))})" if _variants(rows) > 1 else ""),
            "lift": r["lift"],
            "low": r["ci_low"] / r["control_rate"],
            "high": r["ci_high"] / r["control_rate"],
            "status": capitalised(DIMENSION_LABELS.get(str(r.get("dimension")), "other")),
        }
        for r in rows
        if _number(r.get("lift")) is not None
        and _number(r.get("control_rate"))
        and _number(r.get("ci_low")) is not None
        and _number(r.get("ci_high")) is not None
    ]
    if not data:
        return charts.placeholder("No persona large enough to read")
    groups = list(dict.fromkeys(row["status"] for row in data))
    colors = [charts.SERIES[i % len(charts.SERIES)] for i in range(len(groups))]
    return charts.to_svg(_forest(data, groups, colors))


def _forest(
    data: list[dict[str, Any]], statuses: list[str], colors: list[str]
) -> alt.TopLevelMixin:
    order = [row["row"] for row in data]
    y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    x_axis = alt.Axis(format="+.0%", tickCount=5, title="Lift against control (95% interval)")
    color = alt.Color(
        "status:N",
        scale=alt.Scale(domain=statuses, range=colors),
        legend=alt.Legend(title=None),
    )
    base = alt.Chart(alt.Data(values=data)).encode(y=y)
    bars = base.mark_rule(strokeWidth=2.5).encode(
        x=alt.X("low:Q", axis=x_axis), x2="high:Q", color=color
    )
    dots = base.mark_point(filled=True, size=60, opacity=1).encode(x="lift:Q", color=color)
    zero = (
        alt.Chart(alt.Data(values=[{"zero": 0}]))
        .mark_rule(color=charts.INK, strokeDash=[3, 3])
        .encode(x="zero:Q")
    )
    chart = alt.layer(bars, dots, zero).properties(
        width=charts.WIDTH,
        height=max(60, ROW_HEIGHT * len(data)),
        autosize=alt.AutoSizeParams(type="fit", contains="padding"),
    )
    return chart


def _has_interval(row: Mapping[str, Any]) -> bool:
    return all(_number(row.get(k)) is not None for k in ("lift", "lift_ci_low", "lift_ci_high"))


def _variants(rows: Rows) -> int:
    return len({(r.get("experiment_id"), r.get("variant")) for r in rows})


def _number(value: object) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None
