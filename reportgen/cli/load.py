"""The ``load`` verb: copy a canonical dataset into another database."""

from __future__ import annotations

from pathlib import Path

import click

from reportgen.cli.app import main, user_errors
from reportgen.config import load_config
from reportgen.errors import ReportgenError


@main.command()
@click.argument("source_config", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--to", "url", required=True, metavar="URL", help="Target SQLAlchemy URL.")
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="NAME",
    help="Load only this canonical table (repeatable; default: every one the source has).",
)
@click.option("--chunk", default=10_000, show_default=True, help="Rows per write.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors
def load(source_config: Path, url: str, tables: tuple[str, ...], chunk: int, quiet: bool) -> None:
    """Copy the canonical tables SOURCE_CONFIG's source maps into the database at URL.

    Each table is written to a staging table, then swapped in with its indexes (in one
    transaction where the engine has them): a failed or killed load leaves every table
    as it was or wholly new, and the table rg_load_manifest lists the finished ones.

    \b
    Examples:
        reportgen load config/default.yaml --to duckdb:///shop.duckdb
        reportgen load config/shop.yaml --to postgresql+psycopg://me@db/shop
        reportgen load config/shop.yaml --to sc://localhost:15002 --table carts
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from reportgen.source.load import LoadedTable, load_dataset

    config = load_config(source_config)
    finished: list[LoadedTable] = []
    columns = ("[bold]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    bar = Progress(*columns, disable=quiet)
    tasks: dict[str, int] = {}

    def progress(table: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()  # drawn once there is something to show
        if table not in tasks:
            tasks[table] = bar.add_task(table, total=total)
        bar.update(tasks[table], completed=done, total=max(total, done))

    try:
        report = load_dataset(
            config,
            url,
            tables=list(tables) or None,
            chunk_rows=chunk,
            progress=progress,
            done=finished.append,
        )
    except ReportgenError as exc:
        if not finished:
            raise
        there = ", ".join(f"{t.name} ({t.rows:,} rows)" for t in finished)
        raise ReportgenError(f"{exc}; loaded before the failure: {there}") from None
    except KeyboardInterrupt:
        there = ", ".join(f"{t.name} ({t.rows:,} rows)" for t in finished) or "none"
        raise click.ClickException(
            f"interrupted; loaded: {there}; every other table is as it was"
        ) from None
    finally:
        if tasks:
            bar.stop()
    for table in report.loaded:
        indexes = f", {len(table.indexes)} indexes" if table.indexes else ""
        click.echo(f"{table.name}: {table.rows:,} rows{indexes}")
    if report.absent:
        click.echo(f"not in the source (left alone): {', '.join(report.absent)}")
