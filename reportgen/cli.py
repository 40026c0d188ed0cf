"""The ``reportgen`` command line: thin verbs over the library."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from reportgen.config import Config, config_from_dict, load_config
from reportgen.errors import ReportgenError
from reportgen.periods import Period, custom_period, month_period, week_period

DEFAULT_CONFIG = Path("config/default.yaml")
LATEST = "latest"


def _user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn reportgen's own errors into one-line messages with exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ReportgenError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reportgen")
def main() -> None:
    """Cart-abandonment and re-engagement reports as archived HTML, PDF and metrics.json.

    \b
    Try it on generated data:
        reportgen demo
    Then on your own database (edit config/default.yaml first):
        reportgen build --month 2026-10
    """


def period_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --month / --week / --from / --to; a bare --month means the last complete one."""
    options = [
        click.option(
            "--month",
            is_flag=False,
            flag_value=LATEST,
            default=None,
            metavar="[YYYY-MM]",
            help="A calendar month; bare: the last complete one.",
        ),
        click.option(
            "--week",
            is_flag=False,
            flag_value=LATEST,
            default=None,
            metavar="[YYYY-Www]",
            help="An ISO week; bare: the last complete one.",
        ),
        click.option("--from", "start", metavar="YYYY-MM-DD", help="Custom window start."),
        click.option("--to", "end", metavar="YYYY-MM-DD", help="Custom window end (exclusive)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def resolve_period(
    config: Config, month: str | None, week: str | None, start: str | None, end: str | None
) -> Period:
    """Return the period the options ask for (a bare or missing choice: the latest month)."""
    from reportgen.metrics import default_period

    chosen = [name for name, v in (("--month", month), ("--week", week), ("--from", start)) if v]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one of {', '.join(chosen)}")
    if bool(start) != bool(end):
        raise click.UsageError("--from and --to go together")
    zone = config.report.timezone
    if start and end:
        return custom_period(start, end, zone)
    if week:
        return default_period(config, "week") if week == LATEST else week_period(week, zone)
    if month and month != LATEST:
        return month_period(month, zone)
    return default_period(config, "month")


@main.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML config (default: config/default.yaml).",
)
@period_options
@click.option(
    "--out", type=click.Path(path_type=Path), help="Archive folder (default: report.output)."
)
@click.option("--no-pdf", is_flag=True, help="Write HTML, metrics.json and CSV only.")
@click.option(
    "--force", is_flag=True, help="Replace an existing report instead of keeping it as history."
)
@_user_errors
def build(
    config_path: Path | None,
    month: str | None,
    week: str | None,
    start: str | None,
    end: str | None,
    out: Path | None,
    no_pdf: bool,
    force: bool,
) -> None:
    """Build one period's report into the archive.

    \b
    Examples:
        reportgen build --month 2026-10
        reportgen build --week 2026-W43 --config config/shop.yaml
        reportgen build --from 2024-01-01 --to 2025-01-01 --no-pdf
        reportgen build --month            # the last complete month
    """
    config = _load(config_path)
    period = resolve_period(config, month, week, start, end)
    _build_and_report(config, period, out, not no_pdf, force)


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
@_user_errors
def demo(
    seed: int,
    scale: float,
    end_date: str | None,
    data_path: Path,
    out: Path,
    no_pdf: bool,
    force: bool,
) -> None:
    """Generate the demo database and build its last complete month's report.

    \b
    Example:
        reportgen demo --seed 7 --out /tmp/reports
    """
    from reportgen.demo import generate_demo

    try:
        end = date.fromisoformat(end_date) if end_date else None
    except ValueError:
        raise click.BadParameter(
            f"expected YYYY-MM-DD, found {end_date!r}", param_hint="--end"
        ) from None
    summary = generate_demo(data_path, seed=seed, scale=scale, end=end)
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
    from reportgen.metrics import default_period

    _build_and_report(config, default_period(config, "month"), out, not no_pdf, force)


def _load(path: Path | None) -> Config:
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            raise click.ClickException(
                f"no config: pass --config PATH or create {DEFAULT_CONFIG} (see config/examples/)"
            )
        path = DEFAULT_CONFIG
    return load_config(path)


def _build_and_report(
    config: Config, period: Period, out: Path | None, pdf: bool, force: bool
) -> None:
    from reportgen.build import build_report
    from reportgen.formatters import fmt_value
    from reportgen.sections import all_sections

    result = build_report(config, period, output=out, pdf=pdf, force=force)
    kpis = result.metrics["kpis"]
    currency = config.report.currency
    click.echo(f"report {period.kind} {period.label}: {result.folder}")
    for section in all_sections():
        shown = [spec for spec in section.kpis if spec.headline and spec.key in kpis][:3]
        if shown:
            values = ", ".join(
                f"{spec.label.lower()} {fmt_value(kpis[spec.key], spec.kind, currency)}"
                for spec in shown
            )
            click.echo(f"  {section.title}: {values}")


# The delivery verbs live in their own module; importing it registers them on ``main``.
from reportgen import cli_delivery  # noqa: E402, F401
