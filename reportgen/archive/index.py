"""The archive's front page: ``<output>/index.html`` listing every report, and the links
between one report and the previous and next report of its kind.

The index is rebuilt from the folders alone (no database, no config), so it can be
regenerated at any time and stays right when folders are copied, moved or deleted. Every
link in it is relative, so the whole archive can be moved as one folder.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reportgen import __version__
from reportgen.archive.publish import write_atomic
from reportgen.errors import PeriodError
from reportgen.periods import Period, custom_period, month_period, week_period
from reportgen.plugin import KpiSpec
from reportgen.render.formatters import (
    NA,
    fmt_date,
    fmt_date_range,
    fmt_datetime,
    fmt_number,
    fmt_value,
)
from reportgen.sections import all_sections

KINDS: tuple[str, ...] = ("month", "week", "custom", "month-to-date", "week-to-date")
"""The archive's folders of reports, as ``Period.folder_kind`` names them."""
KIND_TITLES = {
    "month": "Monthly",
    "week": "Weekly",
    "custom": "Custom",
    "month-to-date": "Month to date",
    "week-to-date": "Week to date",
}
INDEX_NAME = "index.html"


@dataclass(frozen=True)
class ArchivedReport:
    """One report folder of the archive, as read from its files."""

    period: Period
    """Parsed from the folder name, which is the period's label."""
    folder: Path
    metrics: dict[str, Any] | None
    """metrics.json, or None when it is missing or not valid JSON (see ``note``)."""
    generated_at: str | None
    """build.json's ``generated_at`` as written (ISO text), if readable."""
    has_html: bool
    has_pdf: bool
    has_csv: bool
    superseded: tuple[Path, ...]
    """Earlier builds of the same period under ``history/``, newest first."""
    note: str | None = None
    """Why the folder could not be read in full, in a few words."""


def period_from_label(kind: str, label: str) -> Period | None:
    """Return the period a folder name stands for, or None if it names no period of ``kind``."""
    if kind.endswith("-to-date"):
        found = period_from_label(kind.removesuffix("-to-date"), label)
        return None if found is None else dataclasses.replace(found, to_date=True)
    try:
        if kind == "month":
            return month_period(label)
        if kind == "week":
            return week_period(label)
        if kind == "custom":
            start, separator, end = label.partition("..")
            return custom_period(start, end) if separator else None
    except PeriodError:
        return None
    return None


def _sort_key(period: Period) -> tuple[date, date]:
    return (period.start, period.end)


def _report_periods(output: Path, kind: str) -> list[Period]:
    """Return the periods of ``kind`` that have a report folder, oldest first.

    Hidden folders (a build still being assembled: ``.2026-10.building-…``) and folders
    whose name is no period label are not reports.
    """
    base = output / kind
    if not base.is_dir():
        return []
    periods = []
    for folder in base.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        period = period_from_label(kind, folder.name)
        if period is None or period.label != folder.name:
            continue
        if (folder / "report.html").is_file() or (folder / "metrics.json").is_file():
            periods.append(period)
    return sorted(periods, key=_sort_key)


def _read_json(path: Path) -> tuple[Any, str | None]:
    """Return (data, None), or (None, a note) when the file is missing or unreadable."""
    if not path.is_file():
        return None, f"{path.name} is missing"
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, UnicodeDecodeError, ValueError):
        return None, f"{path.name} is not valid JSON"


def _superseded(output: Path, period: Period) -> tuple[Path, ...]:
    """Return the earlier builds kept for ``period``, newest first (named by build time)."""
    base = output / "history" / period.folder_kind / period.label
    if not base.is_dir():
        return ()
    folders = [f for f in base.iterdir() if f.is_dir() and not f.name.startswith(".")]
    return tuple(sorted(folders, key=lambda f: f.name, reverse=True))


def read_archive(output: Path) -> dict[str, list[ArchivedReport]]:
    """Return every archived report by kind (``month``, ``week``, ``custom``), newest first."""
    archive: dict[str, list[ArchivedReport]] = {}
    for kind in KINDS:
        reports = []
        for period in reversed(_report_periods(output, kind)):
            folder = output / kind / period.label
            metrics, note = _read_json(folder / "metrics.json")
            if metrics is not None and not isinstance(metrics, dict):
                metrics, note = None, "metrics.json is not a JSON object"
            facts, _ = _read_json(folder / "build.json")
            generated_at = facts.get("generated_at") if isinstance(facts, dict) else None
            reports.append(
                ArchivedReport(
                    period=period,
                    folder=folder,
                    metrics=metrics,
                    generated_at=generated_at if isinstance(generated_at, str) else None,
                    has_html=(folder / "report.html").is_file(),
                    has_pdf=(folder / "report.pdf").is_file(),
                    has_csv=(folder / "csv").is_dir(),
                    superseded=_superseded(output, period),
                    note=note,
                )
            )
        archive[kind] = reports
    return archive


# Links between reports.


def _href(*parts: str) -> str:
    """Return a relative URL from path segments (a folder ends with ``/``)."""
    return "/".join(quote(part) for part in parts)


def _link(output: Path, folder: Path, *target: str) -> str:
    """Return the relative URL from ``folder``'s report.html to ``target`` (under ``output``)."""
    here = folder.relative_to(output).as_posix()
    return _href(*posixpath.relpath(posixpath.join(*target), here).split("/"))


def period_neighbours(
    output: Path, kind: str, label: str, *, with_html: bool = False
) -> tuple[str | None, str | None]:
    """Return the labels of the archived reports of ``kind`` just before and after ``label``.

    ``label`` itself need not be archived. Custom windows are ordered by start, then end.
    ``with_html``: only reports that have a report.html (the ones a link can open).
    """
    period = period_from_label(kind, label)
    if period is None:
        raise PeriodError(f"{label!r} is not a {kind} period label")
    key = _sort_key(period)
    others = [p for p in _report_periods(output, kind) if p.label != period.label]
    if with_html:
        others = [p for p in others if (output / kind / p.label / "report.html").is_file()]
    before = [p for p in others if _sort_key(p) < key]
    after = [p for p in others if _sort_key(p) > key]
    return (before[-1].label if before else None, after[0].label if after else None)


def last_recommendations(output: Path, period: Period) -> list[dict[str, Any]]:
    """Return the recommendations of the nearest earlier archived report of ``period``'s
    kind, each with ``then`` (its KPI's value in that report) and ``then_label``.

    Read from that report's build.json and metrics.json; an unreadable one gives none.
    """
    try:
        earlier, _ = period_neighbours(output, period.folder_kind, period.label, with_html=True)
    except PeriodError:
        return []
    if earlier is None:
        return []
    folder = Path(output) / period.folder_kind / earlier
    facts, _ = _read_json(folder / "build.json")
    metrics, _ = _read_json(folder / "metrics.json")
    if not isinstance(facts, dict) or not isinstance(metrics, dict):
        return []
    kpis = metrics.get("kpis") if isinstance(metrics.get("kpis"), dict) else {}
    found = []
    for rec in facts.get("recommendations") or []:
        if isinstance(rec, dict):
            found.append({**rec, "then": kpis.get(rec.get("kpi")), "then_label": earlier})
    return found


def navigation_links(output: Path, period: Period, folder: Path | None = None) -> dict[str, Any]:
    """Return the nav bar of ``period``'s report, for ``templates/_nav.html``.

    Previous and next are the nearest archived reports of the same kind that exist (None
    at either end), never a period that was not built. Hrefs are relative to ``folder``
    (default: the live ``<output>/<kind>/<label>/``; a history copy lives deeper).
    """
    output = Path(output)
    folder = folder or output / period.folder_kind / period.label
    links: dict[str, Any] = {"index": _link(output, folder, INDEX_NAME)}
    neighbours = period_neighbours(output, period.folder_kind, period.label, with_html=True)
    for name, label in zip(("previous", "next"), neighbours, strict=True):
        target = (period.folder_kind, label, "report.html")
        links[name] = {"label": label, "href": _link(output, folder, *target)} if label else None
    return links


NAV_BLOCK = re.compile(r'<nav class="nav no-print".*?</nav>', re.DOTALL)
"""The nav bar as ``_nav.html`` renders it inside a report.html."""


def relink(output: Path, folders: Iterable[Path], *, template_dir: Path | None = None) -> None:
    """Rewrite the nav bar of each report folder given (live or under history) to link the
    reports archived now; the caller holds the archive lock.

    After a build: its own report and its two neighbours (whose previous or next it may
    have become), and the version it moved to history (whose relative links moved with
    it). A report.html without the default nav bar (a user template) is left as it is.
    """
    from reportgen.render.html import make_environment

    output = Path(output)
    partial = make_environment(template_dir).get_template("_nav.html")
    for folder in folders:
        page = folder / "report.html"
        parts = folder.relative_to(output).parts
        kind, label = parts[1:3] if parts[0] == "history" else parts[:2]
        period = period_from_label(kind, label)
        if period is None or not page.is_file():
            continue
        try:
            html = page.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # not a page this build can fix; the index still lists the folder
        nav = partial.render(nav=navigation_links(output, period, folder)).strip()
        relinked = NAV_BLOCK.sub(lambda _: nav, html, count=1)
        if relinked != html:
            write_atomic(page, relinked.encode("utf-8"))


def history_folders(output: Path, period: Period) -> list[Path]:
    """Return the earlier builds of ``period`` kept under ``history/``, newest first."""
    return list(_superseded(Path(output), period))


def neighbour_folders(output: Path, period: Period) -> list[Path]:
    """Return the live folders of the reports just before and after ``period``."""
    labels = period_neighbours(output, period.folder_kind, period.label, with_html=True)
    return [output / period.folder_kind / label for label in labels if label]


# The index page.


def _headline_specs() -> list[tuple[str, KpiSpec]]:
    """Return (section title, spec) of every headline KPI, in report order."""
    return [
        (section.title, spec)
        for section in all_sections()
        for spec in section.kpis
        if spec.headline
    ]


def _kpis(report: ArchivedReport) -> Mapping[str, Any]:
    kpis = (report.metrics or {}).get("kpis")
    return kpis if isinstance(kpis, Mapping) else {}


def _kpi_text(value: Any, spec: KpiSpec, currency: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return NA
    return fmt_value(value, spec.kind, currency)


def _built_text(generated_at: str | None) -> str:
    try:
        return fmt_datetime(generated_at)
    except (TypeError, ValueError):
        return generated_at or NA


def _built_lines(generated_at: str | None) -> list[str]:
    """Return when a report was built as two short lines: ``25 Nov 2026``, ``09:18 UTC``."""
    text = _built_text(generated_at)
    try:
        day = fmt_date(generated_at)
    except (TypeError, ValueError):
        return [text]
    time = text.removeprefix(day).strip()
    return [day, time] if time and text.startswith(day) else [text]


def _row(report: ArchivedReport, specs: Sequence[KpiSpec], currency: str) -> dict[str, Any]:
    period = report.period
    folder = (period.folder_kind, period.label)
    kpis = _kpis(report)
    earlier = []
    for build in report.superseded:
        facts, _ = _read_json(build / "build.json")
        stamp = facts.get("generated_at") if isinstance(facts, dict) else None
        target = "report.html" if (build / "report.html").is_file() else ""
        earlier.append(
            {
                "built": _built_text(stamp) if isinstance(stamp, str) else build.name,
                "href": _href("history", *folder, build.name, target),
            }
        )
    return {
        "label": period.label,
        "range": fmt_date_range(period.start, period.end),
        "kpis": [_kpi_text(kpis.get(spec.key), spec, currency) for spec in specs],
        "note": report.note,
        "built": _built_lines(report.generated_at),
        "html": _href(*folder, "report.html") if report.has_html else None,
        "pdf": _href(*folder, "report.pdf") if report.has_pdf else None,
        "csv": _href(*folder, "csv", "") if report.has_csv else None,
        "history": {
            "count": len(earlier),
            "text": f"{fmt_number(len(earlier))} earlier build{'s' if len(earlier) != 1 else ''}",
            "href": _href("history", *folder, ""),
            "builds": earlier,
        }
        if earlier
        else None,
    }


def index_view(
    output: Path, *, currency: str = "USD", title: str = "Report archive"
) -> dict[str, Any]:
    """Return the index template's context: every value already display text."""
    archive = read_archive(output)
    headline = _headline_specs()
    groups = []
    for kind in KINDS:
        reports = archive[kind]
        if not reports:
            continue
        # Only the KPIs some report of this kind has: an archive without event data gets
        # no column of n/a for the event section.
        present = {key for report in reports for key in _kpis(report)}
        columns = [(section, spec) for section, spec in headline if spec.key in present]
        sections: list[dict[str, Any]] = []
        for section_title, _ in columns:
            if sections and sections[-1]["title"] == section_title:
                sections[-1]["span"] += 1
            else:
                sections.append({"title": section_title, "span": 1})
        specs = [spec for _, spec in columns]
        groups.append(
            {
                "kind": kind,
                "title": KIND_TITLES[kind],
                "count": len(reports),
                "sections": sections,
                "columns": [spec.label for spec in specs],
                "rows": [_row(report, specs, currency) for report in reports],
            }
        )
    return {
        "title": title,
        "generator": f"reportgen {__version__}",
        "groups": groups,
        "total": sum(group["count"] for group in groups),
    }


def render_index(
    output: Path,
    *,
    currency: str = "USD",
    title: str = "Report archive",
    template_dir: Path | None = None,
) -> str:
    """Return the index page's HTML (``templates/index.html``; a user's folder may override it)."""
    # Imported on use: the renderer may import this module for the nav bar.
    from reportgen.render.html import make_environment

    view = index_view(output, currency=currency, title=title)
    return make_environment(template_dir).get_template("index.html").render(**view)


def write_index(
    output: Path,
    *,
    currency: str = "USD",
    title: str = "Report archive",
    template_dir: Path | None = None,
) -> Path:
    """Regenerate ``<output>/index.html`` from the archived folders, atomically; return it."""
    output = Path(output)
    html = render_index(output, currency=currency, title=title, template_dir=template_dir)
    target = output / INDEX_NAME
    write_atomic(target, html.encode("utf-8"))
    return target
