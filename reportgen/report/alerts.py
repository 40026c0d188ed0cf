"""Data alerts: problems in the data too large to leave on the data-quality page.

The rule ``bad-row-share`` (docs/rules.md): a section's count of unreadable or dropped rows
above ``quality.max_bad_row_share`` of its table, an empty source table, or a table with
rows but none in the period. Computed from metrics.json alone, so the CLI, the cover banner
and delivery decide alike, on a fresh build or an archived one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from reportgen.config import Config, QualitySettings
from reportgen.errors import ReportgenError
from reportgen.plugin import Section
from reportgen.render.formatters import fmt_percent
from reportgen.sections import all_sections


@dataclass(frozen=True)
class DataAlert:
    """A data problem too large to leave on the data-quality page, read from metrics.json."""

    table: str
    """The source's canonical table the rows belong to."""
    key: str
    """The data_quality key counted (``carts.unparsed_created_at``), or the denominator's
    key for an empty table or period."""
    kind: Literal["bad_rows", "empty_table", "empty_period"]
    problem: str
    """What happened to the rows, completing "<count> of <total> <noun> (<share>) …"."""
    count: int
    total: int
    share: float | None
    """count / total (None when total is 0)."""
    message: str
    """The sentence the CLI, the cover banner and delivery show."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def data_alerts(
    metrics: Mapping[str, Any],
    quality: QualitySettings,
    sections: Sequence[Section] | None = None,
) -> list[DataAlert]:
    """Return the data problems of a metrics.json that the report must not bury.

    Pure: reads metrics.json only, so delivery can decide on an archived report. A count is
    an alert when its share of its table (or of the period's rows) exceeds
    ``quality.max_bad_row_share``; an empty source table, or a table with rows but none in
    the period, is one too. Counts whose keys are absent (a skipped section, an older
    metrics.json) are not judged. Each section declares its counts (``Section.bad_rows``,
    ``Section.table_rows``); ``sections`` defaults to the registered ones.
    """
    sections = all_sections() if sections is None else sections
    bad_rows = [check for section in sections for check in section.bad_rows]
    table_rows = [check for section in sections for check in section.table_rows]
    dq = metrics.get("data_quality") or {}
    kpis = metrics.get("kpis") or {}
    label = (metrics.get("period") or {}).get("label") or "the period"
    alerts: list[DataAlert] = []
    empty: set[str] = set()
    for rows in table_rows:
        if dq.get(rows.key) == 0:
            empty.add(rows.table)
            message = f"The {rows.table} table is empty: {rows.consequence}"
            alerts.append(
                DataAlert(rows.table, rows.key, "empty_table", "is empty", 0, 0, None, message)
            )
    for check in bad_rows:
        key, table, noun, problem = check.key, check.table, check.noun, check.problem
        count, total = _whole(dq.get(key)), _whole(dq.get(check.total))
        if count is None or total is None or not count or not total:
            continue
        share = count / total
        if share > quality.max_bad_row_share:
            message = f"{count:,} of {total:,} {noun} ({_percent(share)}) {problem}"
            alerts.append(DataAlert(table, key, "bad_rows", problem, count, total, share, message))
    for rows in table_rows:
        if rows.in_period is None:
            continue
        where, key = rows.in_period
        found = (kpis if where == "kpis" else dq).get(key)
        table, column, total = rows.table, rows.column, _whole(dq.get(rows.key))
        if found == 0 and total and table not in empty:
            rows = f"{total:,} row{'s' if total != 1 else ''}"
            message = (
                f"No {table} have {column} in {label} ({rows} in the {table} table): "
                f"the {table} figures are empty"
            )
            alerts.append(
                DataAlert(table, key, "empty_period", f"none in {label}", 0, total, 0.0, message)
            )
    return alerts


class DataAlertError(ReportgenError):
    """A strict build found data alerts: it publishes nothing, in one line naming them."""

    def __init__(self, config: Config, alerts: Sequence[DataAlert]) -> None:
        self.alerts = list(alerts)
        found = "; ".join(alert.message for alert in alerts)
        count = f"{len(alerts)} data alert{'s' if len(alerts) != 1 else ''}"
        super().__init__(f"{config.origin}: {count} (strict): {found}; nothing was published")


def _whole(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _percent(share: float) -> str:
    """1.0%, or 0.01% for a share too small for one decimal (never "0.0%")."""
    shown = fmt_percent(share)
    return shown if shown != "0.0%" else fmt_percent(share, places=2)
