"""Reading metrics.json without ever raising: a missing key, a null or a malformed value
reads as absent. The recommendation rules of every section use these."""

from __future__ import annotations

import math
from typing import Any

Metrics = dict[str, Any]


def mapping(value: object) -> dict[str, Any]:
    """Return ``value`` if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def number(value: object) -> int | float | None:
    """Return ``value`` if it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def kpi(metrics: Metrics, key: str) -> int | float | None:
    """Return a current-period KPI, or None when missing or null."""
    return number(mapping(mapping(metrics).get("kpis")).get(key))


def previous_kpi(metrics: Metrics, key: str) -> int | float | None:
    """Return a previous-period KPI, or None when missing or null."""
    previous = mapping(mapping(mapping(metrics).get("kpis")).get("previous"))
    return number(previous.get(key))


def rows(metrics: Metrics, table: str) -> list[dict[str, Any]]:
    """Return a table's rows (a non-dict row becomes ``{}`` so indices still match)."""
    rows = mapping(mapping(metrics).get("tables")).get(table)
    if not isinstance(rows, list):
        return []
    return [mapping(row) for row in rows]


def label(value: object) -> str:
    """Return a table value as display text; missing or blank is ``Unknown``."""
    text = "" if value is None else str(value).strip()
    return text or "Unknown"


def period(metrics: Metrics, key: str, fallback: str) -> str:
    """Return ``in 2026-10`` for a period's label, or the fallback phrase."""
    label = mapping(mapping(metrics).get(key)).get("label")
    return f"in {label}" if label else fallback
