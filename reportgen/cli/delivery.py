"""The delivery verbs: ``run-due``, ``send``, ``history`` and ``schedule``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from reportgen.cli.app import CONFIG_OPTION, load, main, user_errors

HISTORY_COLUMNS = ("report", "period", "attempt", "status", "built_at", "finished_at", "detail")


@main.command("run-due")
@CONFIG_OPTION
@click.option("--report", "only", help="Only this schedule.")
@click.option("--dry-run", is_flag=True, help="Write each email as .eml into the archive.")
@click.option("--wait", is_flag=True, help="Wait for a running run-due instead of exiting.")
@user_errors
def run_due_command(config_path: Path | None, only: str | None, dry_run: bool, wait: bool) -> None:
    """Build and send every scheduled report that is due and not yet delivered.

    \b
    Meant for cron or a systemd timer every few minutes (see `reportgen schedule`).
    Missed periods are caught up oldest first; a delivered period is never sent again.
    Exit code 1 when a delivery failed; 0 when another run holds the lock.

    \b
    Examples:
        reportgen run-due --config config/shop.yaml
        reportgen run-due --report weekly-director --dry-run
    """
    from reportgen.delivery.run import RunLockedError, run_due

    config = load(config_path)
    try:
        summary = run_due(config, only=only, dry_run=dry_run, wait=wait)
    except RunLockedError as exc:
        click.echo(f"run-due: {exc}; nothing to do")
        return
    if not summary.outcomes:
        click.echo("run-due: nothing is due")
    for outcome in summary.outcomes:
        click.echo(f"{outcome.report} {outcome.period}: {outcome.status} {outcome.detail}".rstrip())
    if summary.failed:
        sys.exit(1)


@main.command()
@click.argument("report")
@click.option("--period", "label", required=True, metavar="LABEL", help="2026-W43 or 2026-10.")
@CONFIG_OPTION
@click.option("--to", "recipients", multiple=True, help="Send only to this address (repeatable).")
@click.option("--dry-run", is_flag=True, help="Write the email as .eml into the archive.")
@user_errors
def send(
    report: str,
    label: str,
    config_path: Path | None,
    recipients: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Send one period of a scheduled REPORT: the archived PDF as it is, or a new build.

    \b
    Examples:
        reportgen send weekly-director --period 2026-W43
        reportgen send weekly-director --period 2026-W43 --to me@example.com
    """
    from reportgen.delivery.run import send_archived

    config = load(config_path)
    outcome = send_archived(
        config, report, label, recipients=list(recipients) or None, dry_run=dry_run
    )
    click.echo(f"{outcome.report} {outcome.period}: {outcome.status} {outcome.detail}".rstrip())
    if outcome.status == "failed":
        sys.exit(1)


@main.command()
@CONFIG_OPTION
@click.option("--report", help="Only this schedule.")
@click.option("--json", "as_json", is_flag=True, help="Every ledger row as JSON.")
@user_errors
def history(config_path: Path | None, report: str | None, as_json: bool) -> None:
    """Print the delivery ledger: one line per (report, period, attempt).

    \b
    Examples:
        reportgen history
        reportgen history --report weekly-director --json
    """
    from reportgen.delivery.ledger import Ledger

    config = load(config_path)
    if not config.ledger_path.is_file():
        click.echo("[]" if as_json else f"no deliveries yet ({config.ledger_path})")
        return
    ledger = Ledger(config.ledger_path)
    try:
        rows = ledger.rows(report)
    finally:
        ledger.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [
        {
            **row,
            "detail": row["error"] or row["smtp_response"] or "",
            "built_at": row["built_at"] or "",
            "finished_at": row["finished_at"] or "",
        }
        for row in rows
    ]
    widths = {c: max([len(c)] + [len(str(r[c])) for r in table]) for c in HISTORY_COLUMNS[:-1]}
    click.echo("  ".join(c.ljust(widths[c]) for c in HISTORY_COLUMNS[:-1]) + "  detail")
    for row in table:
        cells = "  ".join(str(row[c]).ljust(widths[c]) for c in HISTORY_COLUMNS[:-1])
        click.echo(f"{cells}  {str(row['detail'])[:100]}")


@main.command()
@CONFIG_OPTION
@click.option("--print-cron", is_flag=True, help="A crontab line running run-due every 5 min.")
@click.option("--print-systemd", is_flag=True, help="A systemd service and timer.")
@user_errors
def schedule(config_path: Path | None, print_cron: bool, print_systemd: bool) -> None:
    """List the schedules and when each is next due; print cron or systemd lines.

    \b
    Examples:
        reportgen schedule
        reportgen schedule --print-cron | crontab -
        reportgen schedule --print-systemd
    """
    from datetime import UTC, datetime

    from reportgen.delivery.schedules import due_at, latest_due, schedule_zone

    config = load(config_path)
    config_file = Path(config.origin).resolve() if Path(config.origin).is_file() else None
    command = f"{shlex.quote(sys.executable)} -m reportgen run-due"
    if config_file:
        command += f" --config {shlex.quote(str(config_file))}"
    log = config.output_dir / "run-due.log"
    if print_cron:
        click.echo(f"*/5 * * * * {command} >> {shlex.quote(str(log))} 2>&1")
        return
    if print_systemd:
        click.echo(SYSTEMD.format(command=command, workdir=config.base_dir))
        return
    if not config.schedules:
        click.echo("no schedules configured (add `schedules:` to the config)")
    now = datetime.now(UTC)
    for name, entry in config.schedules.items():
        zone = schedule_zone(config, entry)
        latest = latest_due(entry, zone, now)
        following = latest.next()
        click.echo(
            f"{name}: {entry.period} report due {entry.due} {zone}; latest due {latest.label}; "
            f"next {following.label} at {due_at(entry, following):%Y-%m-%d %H:%M} UTC; "
            f"to {', '.join(entry.recipients) or 'nobody (archived only)'}"
        )


SYSTEMD = """\
# /etc/systemd/system/reportgen-run-due.service
[Unit]
Description=reportgen: build and send the scheduled reports that are due

[Service]
Type=oneshot
WorkingDirectory={workdir}
EnvironmentFile=-/etc/reportgen/smtp.env
ExecStart={command}

# /etc/systemd/system/reportgen-run-due.timer
[Unit]
Description=Run reportgen run-due every 5 minutes

[Timer]
OnCalendar=*:0/5
Persistent=true

[Install]
WantedBy=timers.target
"""
