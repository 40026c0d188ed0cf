"""One build: config + period → metrics → charts → recommendations → HTML → PDF → archive.

Each stage runs once and is timed, so the benchmark can print where the time goes and
the CLI can show a build's progress (``Progress``) as each stage finishes.
"""

from __future__ import annotations

import importlib
import resource
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from reportgen import __version__
from reportgen.archive.index import (
    history_folders,
    last_recommendations,
    navigation_links,
    neighbour_folders,
    relink,
    write_index,
)
from reportgen.archive.publish import (
    archive_lock,
    file_sha256,
    staged,
    write_atomic,
    write_json,
    write_tables_csv,
)
from reportgen.config import Config
from reportgen.errors import ArchiveError, SourceError
from reportgen.periods import Period
from reportgen.plugin import Recommendation, Section
from reportgen.render.charts import converting
from reportgen.report.alerts import DataAlertError, data_alerts
from reportgen.report.maturity import sound_comparison
from reportgen.report.metrics import compute_metrics
from reportgen.report.trends import (
    RANGE_WINDOW,
    EarlierValues,
    earlier_values,
    history_sections,
    kpi_history,
    year_ago_kpis,
)
from reportgen.sections import all_sections
from reportgen.source.beside import OwnProcess, needs_own_process, own_process

Progress = Callable[[str, float], None]
"""Told ``(stage, seconds)`` as each stage of a build finishes: ``("queries", 3.2)``.

The stages of ``build_report``, in the order they usually finish: ``queries``, ``charts``,
``trends (beside charts)`` (when the config asks for sparklines), ``html``, ``files``,
``pdf`` (unless ``pdf=False``), ``publish``. Called from the build's threads, one call at
a time; it should return quickly. A stage that fails is not reported (its error is).
"""


@dataclass
class StageTimer:
    """Wall time per stage and the process's peak resident memory when it ended."""

    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    progress: Progress | None = None
    """Told each stage as it finishes (see ``Progress``)."""
    _told: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self.stages[name] = {
                "seconds": seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        if self.progress is not None:
            with self._told:
                self.progress(name, seconds)


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
    history: Path | None = None
    """Where the version this build replaced was kept (None: first build, or replaced)."""
    replaced: bool = False
    """The previous version was deleted (``--force``, or it was no complete report)."""
    repairs: tuple[str, ...] = ()
    """What this build repaired of builds that were killed (one line each)."""


def build_report(
    config: Config,
    period: Period,
    *,
    output: Path | None = None,
    pdf: bool = True,
    force: bool = False,
    timer: StageTimer | None = None,
    sections: Sequence[str] | None = None,
    progress: Progress | None = None,
    strict: bool = False,
) -> BuildResult:
    """Build ``period``'s report (all sections, or those named) and publish it.

    ``progress`` is told each stage as it finishes (see ``Progress``); so is ``timer``'s.
    ``strict`` refuses to publish a report with data alerts (``DataAlertError``).
    """
    timer = timer or StageTimer()
    if progress is not None:
        timer.progress = progress
    output = output or config.output_dir
    generated_at = datetime.now(UTC).replace(microsecond=0)
    # The cover's sparklines: 10 more periods recomputed (metrics holds the newest two),
    # each section's in one pass: beside the queries in a process of its own for a large
    # SQLite file (``_earlier_in_own_process``), else on a thread beside the charts.
    history = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rg-trends")
    earlier = None
    worker = None  # the history's own process: killed if the queries fail
    if config.report.trend_periods and needs_own_process(config):
        worker = own_process()
        earlier = history.submit(_earlier_in_own_process, timer, config, period, sections, worker)
    try:
        with timer.stage("queries"):
            metrics = _on_source(config, compute_metrics, config, period, sections)
        alerts = data_alerts(metrics, config.quality)
        if strict and alerts:
            raise DataAlertError(config, alerts)
    except BaseException:
        if worker is not None:
            worker.shutdown(wait=False, cancel_futures=True)
        history.shutdown(wait=False, cancel_futures=True)
        raise
    pending = None
    if config.report.trend_periods:
        if earlier is None:
            earlier = history.submit(
                _earlier_beside_charts, timer, config, period, sections, metrics
            )
        pending = history.submit(_timed_trends, timer, config, period, sections, metrics, earlier)
    skipped = {s["section"] for s in metrics["skipped"]}
    shown = [
        s
        for s in all_sections()
        if s.name not in skipped and (sections is None or s.name in sections)
    ]
    currency = config.report.currency

    # WeasyPrint takes most of a second to import: let it load while the converter process
    # draws the charts. (Not during the queries: on large data the import then competes
    # with the database for the second core.)
    loading = threading.Thread(target=importlib.import_module, args=("weasyprint",))
    loading.start()
    with timer.stage("charts"), converting():
        charts: dict[str, str] = {}
        for section in shown:
            charts.update(section.charts(metrics, currency))
    recommendations = sound_recommendations(
        _recommendations(shown, metrics, currency), metrics, shown
    )
    try:
        history_found: dict[str, Any] = pending.result() if pending else {}
        trends: dict[str, Any] = history_found.get("kpis") or {}
        year_ago = history_found.get("year_ago")
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
            year_ago=year_ago,
            nav=navigation_links(output, period),
            alerts=alerts,
            last_time=last_recommendations(output, period),
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
        "title": config.report.title,
        "currency": currency,
        "period": period.as_json(),
        "headline_kpis": [
            spec.key
            for section in shown
            for spec in section.kpis
            if spec.headline and spec.key in metrics["kpis"]
        ],
        "pdf": pdf,
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
        "year_ago": year_ago,
    }

    def fill(folder: Path) -> None:
        with timer.stage("files"):
            write_json(folder / "metrics.json", metrics)
            write_json(folder / "build.json", build_facts)
            write_json(folder / "trends.json", trends_file)
            headers = {name: cols for s in all_sections() for name, cols in s.columns.items()}
            write_tables_csv(folder / "csv", metrics["tables"], headers)
            write_atomic(folder / "report.html", html.encode("utf-8"))
        if pdf:
            with timer.stage("pdf"):
                write_pdf(print_html, folder / "report.pdf")

    # Filled outside the archive lock (the PDF takes seconds); swapped in, with the
    # repairs of killed builds, the index and the links between reports, under it.
    with staged(output, period) as staging:
        _writing(output, fill, staging.folder)
        with timer.stage("publish"), archive_lock(output):
            published = staging.swap_in(force=force)
            folder = published.folder
            try:
                # Links first: the reports whose previous or next this one may have become,
                # and the versions of this period under history (their links moved too).
                kept = [r.path for r in published.repairs if r.action == "kept as history"]
                changed = [folder, *neighbour_folders(output, period), *kept]
                changed += history_folders(output, period)
                relink(output, dict.fromkeys(changed), template_dir=templates)
                # The archive's front page lists every report: regenerated after every build.
                title = config.report.title
                write_index(output, currency=currency, title=title, template_dir=templates)
            except OSError as exc:
                raise ArchiveError(
                    f"the report is at {folder}, but the archive index under {output} could "
                    f"not be written: {exc.strerror}; the next build writes it"
                ) from None
            sha = file_sha256(folder / "report.pdf") if pdf else None
    return BuildResult(
        folder=folder,
        metrics=metrics,
        recommendations=recommendations,
        pdf=folder / "report.pdf" if pdf else None,
        timings=timer.stages,
        pdf_sha256=sha,
        history=published.history,
        replaced=published.replaced,
        repairs=tuple(str(repair) for repair in published.repairs),
    )


def _writing(output: Path, fill: Callable[[Path], None], folder: Path) -> None:
    """Fill the staging folder; a full disk or a denied write becomes one ArchiveError."""
    try:
        fill(folder)
    except OSError as exc:
        where = exc.filename or folder
        raise ArchiveError(
            f"cannot write the report under {output}: {exc.strerror} ({where})"
        ) from None


def _earlier_beside_charts(
    timer: StageTimer,
    config: Config,
    period: Period,
    sections: Sequence[str] | None,
    metrics: dict[str, Any],
) -> EarlierValues:
    """The history on a thread of this process, told ``metrics`` (it skips the periods the
    data barely covers)."""
    wanted, count = history_sections(sections), config.report.trend_periods
    with timer.stage("history (beside charts)"):
        return _on_source(config, earlier_values, config, period, wanted, count, metrics)


def _earlier_in_own_process(
    timer: StageTimer,
    config: Config,
    period: Period,
    sections: Sequence[str] | None,
    worker: OwnProcess,
) -> EarlierValues:
    """The history of a large SQLite file (``needs_own_process``), beside the queries in
    ``worker``, which the build kills if its queries fail."""
    wanted, count = history_sections(sections), config.report.trend_periods
    with timer.stage("history (own process)"), worker:
        return worker.submit(_earlier_in_process, config, period, wanted, count).result()


def _earlier_in_process(
    config: Config, period: Period, wanted: Sequence[str], count: int
) -> EarlierValues:
    """``earlier_values`` in the history's own process (a failed query: SourceError)."""
    return _on_source(config, earlier_values, config, period, wanted, count)


def _timed_trends(
    timer: StageTimer,
    config: Config,
    period: Period,
    sections: Sequence[str] | None,
    metrics: dict[str, Any],
    earlier: Future[EarlierValues],
) -> dict[str, Any]:
    with timer.stage("trends (beside charts)"):
        found = _on_source(
            config,
            kpi_history,
            config,
            period,
            history_sections(sections),
            count=config.report.trend_periods,
            metrics=metrics,
            earlier=earlier.result(),
        )
        year_ago = _on_source(config, year_ago_kpis, config, period, sections, metrics)
        return {"kpis": found, "year_ago": year_ago}


def _on_source(config: Config, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a computation on the source; a failed query becomes one SourceError line."""
    try:
        return func(*args, **kwargs)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise SourceError(f"{config.origin}: a query on the source failed: {detail}") from None


def sound_recommendations(
    found: list[Recommendation], metrics: dict[str, Any], sections: Sequence[Section]
) -> list[Recommendation]:
    """Withhold the recommendations that rest on a change that cannot be read yet: the KPI
    is provisional, or the data barely covers the comparison period (``report.maturity``)."""
    return [
        rec
        for rec in found
        if not (rec.compares and rec.kpi and not sound_comparison(metrics, rec.kpi, sections))
    ]


def _recommendations(
    sections: list[Section], metrics: dict[str, Any], currency: str
) -> list[Recommendation]:
    found: list[Recommendation] = []
    for section in sections:
        found.extend(section.recommend(metrics, currency))
    return sorted(found, key=lambda r: r.priority)
