"""The report verbs: ``build`` and ``demo``."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reportgen.cli.app import (
    CONFIG_OPTION,
    LATEST,
    load,
    main,
    period_options,
    resolve_period,
    user_errors,
)
from reportgen.cli.progress import progress_display
from reportgen.config import Config, config_from_dict
from reportgen.periods import Period

if TYPE_CHECKING:
    from reportgen.report.build import BuildResult


@main.command()
@CONFIG_OPTION
@period_options
@click.option(
    "--out", type=click.Path(path_type=Path), help="Archive folder (default: report.output)."
)
@click.option("--no-pdf", is_flag=True, help="Write HTML, metrics.json and CSV only.")
@click.option(
    "--force", is_flag=True, help="Replace an existing report instead of keeping it as history."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1, nothing published) instead of warning when the data raises alerts.",
)
@click.option(
    "--to-date",
    "to_date",
    is_flag=True,
    help="The current month (or, with a bare --week, week) so far, against the same "
    "elapsed part of the one before; archived apart from complete periods.",
)
@click.option(
    "--as-of",
    metavar="YYYY-MM-DD",
    help="With --to-date: the day the period runs up to (excluded; default: today).",
)
@user_errors
def build(
    config_path: Path | None,
    month: str | None,
    week: str | None,
    start: str | None,
    end: str | None,
    out: Path | None,
    no_pdf: bool,
    force: bool,
    strict: bool,
    to_date: bool,
    as_of: str | None,
) -> None:
    """Build one period's report into the archive.

    \b
    Examples:
        reportgen build --month 2026-10
        reportgen build --week 2026-W43 --config config/shop.yaml
        reportgen build --from 2024-01-01 --to 2025-01-01 --no-pdf
        reportgen build --month            # the last complete month
        reportgen build --month 2026-10 --strict   # data alerts are errors
        reportgen build --to-date                  # this month so far
        reportgen build --to-date --week           # this week so far
    """
    config = load(config_path)
    if to_date:
        period = _to_date(config, month, week, start, as_of)
    else:
        if as_of:
            raise click.UsageError("--as-of goes with --to-date")
        period = resolve_period(config, month, week, start, end)
    _build_and_report(config, period, out, not no_pdf, force, strict)


@main.command()
@click.option("--seed", default=42, show_default=True, help="Random seed of the generator.")
@click.option("--scale", default=1.0, show_default=True, help="1.0 ≈ 50k carts; 20 ≈ 1M.")
@click.option(
    "--end", "end_date", metavar="YYYY-MM-DD", help="Data ends before this day (default: today)."
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path),
    default=Path("demo/demo.sqlite"),
    show_default=True,
    help="Where the database goes.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("reports"),
    show_default=True,
    help="Archive folder.",
)
@click.option("--no-pdf", is_flag=True, help="Write HTML, metrics.json and CSV only.")
@click.option(
    "--force", is_flag=True, help="Replace an existing report instead of keeping it as history."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1, nothing published) instead of warning when the data raises alerts.",
)
@user_errors
def demo(
    seed: int,
    scale: float,
    end_date: str | None,
    data_path: Path,
    out: Path,
    no_pdf: bool,
    force: bool,
    strict: bool,
) -> None:
    """Generate the demo database and build its last complete month's report.

    \b
    Example:
        reportgen demo --seed 7 --out /tmp/reports
    """
    from reportgen.demo.shop import generate_demo

    try:
        end = date.fromisoformat(end_date) if end_date else None
    except ValueError:
        raise click.BadParameter(
            f"expected YYYY-MM-DD, found {end_date!r}", param_hint="--end"
        ) from None
    with progress_display("demo", stages=1) as progress:
        started = time.perf_counter()
        summary = generate_demo(data_path, seed=seed, scale=scale, end=end)
        progress("data", time.perf_counter() - started)
    click.echo(f"demo data: {summary.path} ({summary.carts:,} carts)")
    config = config_from_dict(
        {
            "source": {"url": f"sqlite:///{data_path.resolve()}"},
            "report": {
                "title": "Cart & customer behaviour (demo data)",
                "output": str(out.resolve()),
            },
        },
        origin="reportgen demo",
    )
    from reportgen.report.metrics import default_period

    _build_and_report(config, default_period(config, "month"), out, not no_pdf, force, strict)


def _to_date(
    config: Config, month: str | None, week: str | None, start: str | None, as_of: str | None
) -> Period:
    """Return the month or week so far: its whole days before ``as_of`` (default today in
    the report's time zone)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from reportgen.periods import to_date_period

    if start or (month and month != LATEST) or (week and week != LATEST):
        raise click.UsageError("--to-date takes no period: it is the current month or week")
    zone = config.report.timezone
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(ZoneInfo(zone)).date()
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, found {as_of!r}", "--as-of") from None
    return to_date_period("week" if week else "month", day, zone)


def _build_and_report(
    config: Config, period: Period, out: Path | None, pdf: bool, force: bool, strict: bool
) -> None:
    from reportgen.render.formatters import fmt_value
    from reportgen.report.alerts import data_alerts
    from reportgen.report.build import build_report
    from reportgen.sections import all_sections

    stages = 5 + bool(config.report.trend_periods) + pdf
    with progress_display(f"build {period.label}", stages=stages) as progress:
        result = build_report(
            config, period, output=out, pdf=pdf, force=force, progress=progress, strict=strict
        )
    # One line per data alert on stderr (--strict made them an error before publishing).
    for alert in data_alerts(result.metrics, config.quality):
        click.echo(f"warning: {alert.message}", err=True)
    kpis = result.metrics["kpis"]
    currency = config.report.currency
    for section in all_sections():
        shown = [spec for spec in section.kpis if spec.headline and spec.key in kpis][:3]
        if shown:
            values = ", ".join(
                f"{spec.label.lower()} {fmt_value(kpis[spec.key], spec.kind, currency)}"
                for spec in shown
            )
            click.echo(f"  {section.title}: {values}")
    for repair in result.repairs:
        click.echo(f"repaired after an interrupted build: {repair}")
    click.echo(f"report {period.kind} {period.label}: {result.folder}")
    click.echo(f"history: {_history_text(result, force)}")


def _history_text(result: BuildResult, force: bool) -> str:
    """Say what became of the version this build replaced."""
    if result.history is not None:
        return f"previous version kept in {result.history}"
    if result.replaced:
        return "replaced (--force)" if force else "replaced an incomplete folder (not kept)"
    return "nothing to keep (first build of this period)"
