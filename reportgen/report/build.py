"""One build: config + period → metrics → charts → recommendations → HTML → PDF → archive.

Each stage runs once and is timed, so the benchmark can print where the time goes.
"""

from __future__ import annotations

import importlib
import resource
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from reportgen import __version__
from reportgen.archive.index import report_nav, write_index
from reportgen.archive.publish import (
    archive_lock,
    file_sha256,
    publish,
    write_atomic,
    write_json,
    write_tables_csv,
)
from reportgen.config import Config
from reportgen.errors import SourceError
from reportgen.periods import Period
from reportgen.plugin import Recommendation, Section
from reportgen.report.metrics import DataAlertError, compute_metrics, data_alerts
from reportgen.report.trends import RANGE_WINDOW, history_sections, kpi_history
from reportgen.sections import all_sections


@dataclass
class StageTimer:
    """Wall time per stage and the process's peak resident memory when it ended."""

    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = {
                "seconds": time.perf_counter() - started,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }


@dataclass(frozen=True)
class BuildResult:
    """Where a build went and what it computed."""

    folder: Path
    metrics: dict[str, Any]
    recommendations: list[Recommendation]
    pdf: Path | None
    timings: dict[str, dict[str, float]]
    pdf_sha256: str | None = None
    """The SHA-256 of the PDF as published (read under the archive lock)."""


def build_report(
    config: Config,
    period: Period,
    *,
    output: Path | None = None,
    pdf: bool = True,
    force: bool = False,
    timer: StageTimer | None = None,
    sections: Sequence[str] | None = None,
    strict: bool = False,
) -> BuildResult:
    """Build ``period``'s report (all sections, or those named) and publish it; ``strict``
    refuses to publish one with data alerts (``DataAlertError``)."""
    timer = timer or StageTimer()
    output = output or config.output_dir
    generated_at = datetime.now(UTC).replace(microsecond=0)
    with timer.stage("queries"):
        metrics = _on_source(config, compute_metrics, config, period, sections)
    alerts = data_alerts(metrics, config.quality)
    if strict and alerts:
        raise DataAlertError(config, alerts)
    # The cover's sparklines: 10 more periods recomputed (metrics holds the newest two).
    # They run beside the charts (vl-convert and the database both work outside the GIL);
    # beside the queries the two only slowed each other down.
    history = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rg-trends")
    pending = None
    if config.report.trend_periods:
        pending = history.submit(
            _timed_trends,
            timer,
            config,
            period,
            sections,
            metrics,
        )
    skipped = {s["section"] for s in metrics["skipped"]}
    shown = [
        s
        for s in all_sections()
        if s.name not in skipped and (sections is None or s.name in sections)
    ]
    currency = config.report.currency

    # WeasyPrint takes most of a second to import: let it load while vl-convert (which
    # runs outside the GIL) draws the charts. (Not during the queries: on large data the
    # import then competes with the database for the second core.)
    loading = threading.Thread(target=importlib.import_module, args=("weasyprint",))
    loading.start()
    with timer.stage("charts"):
        charts: dict[str, str] = {}
        for section in shown:
            charts.update(section.charts(metrics, currency))
    recommendations = _recommendations(shown, metrics, currency)
    try:
        trends: dict[str, Any] = pending.result() if pending else {}
    finally:
        history.shutdown()

    loading.join()
    from reportgen.render.html import ReportContent, render_html, write_pdf

    with timer.stage("html"):
        content = ReportContent(
            metrics=metrics,
            sections=shown,
            charts=charts,
            recommendations=recommendations,
            generated_at=generated_at,
            currency=currency,
            title=config.report.title,
            author=config.report.author,
            trends=trends or None,
            nav=report_nav(period),
            alerts=alerts,
        )
        templates = config.resolve(config.report.templates) if config.report.templates else None
        html = render_html(content, templates)
        print_html = render_html(content, templates, for_print=True) if pdf else ""

    # metrics.json keeps exactly the METRICS.md §7 layout; facts about the build go beside
    # it, with the recommendations as written (for the email and the archive index).
    build_facts = {
        "generated_at": generated_at.isoformat().replace("+00:00", "Z"),
        "generator": f"reportgen {__version__}",
        "config": config.origin,
        "recommendations": [asdict(r) for r in recommendations],
        "data_alerts": [alert.as_json() for alert in alerts],
    }

    # The sparklines' numbers, recomputed from the source for this build (so a restated
    # month reads the same everywhere); kept beside metrics.json, which they must not change.
    trends_file = {
        "period": period.as_json(),
        "periods": config.report.trend_periods,
        "usual_range_window": RANGE_WINDOW,
        "kpis": trends,
    }

    def fill(folder: Path) -> None:
        write_json(folder / "metrics.json", metrics)
        write_json(folder / "build.json", build_facts)
        write_json(folder / "trends.json", trends_file)
        headers = {name: cols for s in all_sections() for name, cols in s.columns.items()}
        write_tables_csv(folder / "csv", metrics["tables"], headers)
        write_atomic(folder / "report.html", html.encode("utf-8"))
        if pdf:
            with timer.stage("pdf"):
                write_pdf(print_html, folder / "report.pdf")

    with archive_lock(output):
        folder = publish(output, period, fill, force=force)
        # The archive's front page lists every report: regenerated after every build.
        write_index(output, currency=currency, title=config.report.title, template_dir=templates)
        sha = file_sha256(folder / "report.pdf") if pdf else None
    return BuildResult(
        folder=folder,
        metrics=metrics,
        recommendations=recommendations,
        pdf=folder / "report.pdf" if pdf else None,
        timings=timer.stages,
        pdf_sha256=sha,
    )


def _timed_trends(
    timer: StageTimer,
    config: Config,
    period: Period,
    sections: Sequence[str] | None,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    with timer.stage("trends (beside charts)"):
        return _on_source(
            config,
            kpi_history,
            config,
            period,
            history_sections(sections),
            count=config.report.trend_periods,
            metrics=metrics,
        )


def _on_source(config: Config, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a computation on the source; a failed query becomes one SourceError line."""
    try:
        return func(*args, **kwargs)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SourceError(f"{config.origin}: a query on the source failed: {detail}") from None


def _recommendations(
    sections: list[Section], metrics: dict[str, Any], currency: str
) -> list[Recommendation]:
    found: list[Recommendation] = []
    for section in sections:
        found.extend(section.recommend(metrics, currency))
    return sorted(found, key=lambda r: r.priority)
