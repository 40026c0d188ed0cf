"""The ``reportgen`` group and what its verbs share: options, config loading, errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from reportgen.config import Config, load_config
from reportgen.errors import ReportgenError
from reportgen.periods import Period, custom_period, month_period, week_period

DEFAULT_CONFIG = Path("config/default.yaml")
CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML config (default: config/default.yaml).",
)
LATEST = "latest"


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
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
    from reportgen.report.metrics import default_period

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


def load(path: Path | None) -> Config:
    if path is None:
        if not DEFAULT_CONFIG.is_file():
            raise click.ClickException(
                f"no config: pass --config PATH or create {DEFAULT_CONFIG} (see config/examples/)"
            )
        path = DEFAULT_CONFIG
    return load_config(path)
