"""The delivery verbs: ``run-due``, ``send``, ``history`` and ``schedule``."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from reportgen.cli.app import CONFIG_OPTION, load, main, user_errors
from reportgen.cli.progress import progress_display

HISTORY_COLUMNS = (
    "report",
    "period",
    "attempt",
    "purpose",
    "status",
    "built_at",
    "finished_at",
    "detail",
)


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
    Missed periods are caught up oldest first; each recipient is sent a period once, and
    a retry goes only to those the server did not accept. Exit code 1 when a delivery
    failed or a message was possibly sent (until `send` or `history --mark-sent`), or
    when the run holding the lock may be hung; 0 when another run holds it.

    \b
    Examples:
        reportgen run-due --config config/shop.yaml
        reportgen run-due --report weekly-director --dry-run
    """
    from reportgen.delivery.run import RunLockedError, run_due

    config = load(config_path)
    try:
        with progress_display("run-due") as progress:
            summary = run_due(config, only=only, dry_run=dry_run, wait=wait, progress=progress)
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
@click.option(
    "--to", "recipients", multiple=True, help="A test send to this address only (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Write the email as .eml into the archive.")
@click.option("--rebuild", is_flag=True, help="Build the period again and send the new PDF.")
@user_errors
def send(
    report: str,
    label: str,
    config_path: Path | None,
    recipients: tuple[str, ...],
    dry_run: bool,
    rebuild: bool,
) -> None:
    """Send one period of a scheduled REPORT on purpose: the PDF already emailed, byte for
    byte (or the archived one, or a new build).

    \b
    It goes to the schedule's recipients who do not have it yet (a possibly-sent message
    is re-sent with the same Message-ID), or to all of them when everyone has it. With
    --to it is a test send: recorded as a test, it never counts as the delivery.

    \b
    Examples:
        reportgen send weekly-director --period 2026-W43
        reportgen send weekly-director --period 2026-W43 --to me@example.com
    """
    from reportgen.delivery.run import FAILING, send_archived

    config = load(config_path)
    with progress_display(f"send {report} {label}") as progress:
        outcome = send_archived(
            config,
            report,
            label,
            recipients=list(recipients) or None,
            dry_run=dry_run,
            rebuild=rebuild,
            progress=progress,
        )
    click.echo(f"{outcome.report} {outcome.period}: {outcome.status} {outcome.detail}".rstrip())
    if outcome.status in FAILING:
        sys.exit(1)


@main.command()
@CONFIG_OPTION
@click.option("--report", help="Only this schedule.")
@click.option("--period", "label", metavar="LABEL", help="Only this period (2026-W43, 2026-10).")
@click.option("--json", "as_json", is_flag=True, help="Every ledger row, with its recipients.")
@click.option(
    "--mark-sent",
    is_flag=True,
    help="Record a possibly-sent period as received (with --report and --period).",
)
@user_errors
def history(
    config_path: Path | None,
    report: str | None,
    label: str | None,
    as_json: bool,
    mark_sent: bool,
) -> None:
    """Print the delivery ledger: one line per (report, period, attempt).

    \b
    A message possibly sent (DATA issued, no reply recorded) is not re-sent on its own;
    once the recipients confirm it arrived, --mark-sent records it as accepted.

    \b
    Examples:
        reportgen history
        reportgen history --report weekly-director --json
        reportgen history --report weekly-director --period 2026-W43 --mark-sent
    """
    from reportgen.delivery.ledger import Ledger

    config = load(config_path)
    if mark_sent:
        from reportgen.delivery.run import mark_sent as mark

        if not (report and label):
            raise click.UsageError("--mark-sent needs --report and --period")
        marked = mark(config, report, label)
        click.echo(f"{report} {label}: marked sent to {', '.join(marked)}")
        return
    if not config.ledger_path.is_file():
        click.echo("[]" if as_json else f"no deliveries yet ({config.ledger_path})")
        return
    ledger = Ledger(config.ledger_path)
    try:
        rows = ledger.rows(report, addresses=True)
    finally:
        ledger.close()
    if label:
        rows = [row for row in rows if row["period"] == label]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [
        {
            **row,
            "detail": _detail(row),
            "built_at": row["built_at"] or "",
            "finished_at": row["finished_at"] or "",
        }
        for row in rows
    ]
    widths = {c: max([len(c)] + [len(str(r[c])) for r in table]) for c in HISTORY_COLUMNS[:-1]}
    click.echo("  ".join(c.ljust(widths[c]) for c in HISTORY_COLUMNS[:-1]) + "  detail")
    for row in table:
        cells = "  ".join(str(row[c]).ljust(widths[c]) for c in HISTORY_COLUMNS[:-1])
        click.echo(f"{cells}  {str(row['detail'])[:160]}")


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
    if print_cron or print_systemd:
        from reportgen.delivery.schedules import require_schedules

        require_schedules(config)
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


def _detail(row: dict) -> str:
    """One attempt in a few words: its error or reply, then its recipients' states."""
    text = row["error"] or row["smtp_response"] or ""
    if row["status"] == "skipped" and row.get("checks"):
        text = f"{text} (checked {row['checks']}x, last {row['checked_at']})"
    states = [f"{a['address']} {a['status']}" for a in row.get("addresses", [])]
    if states and row["status"] != "sent":
        text = f"{'; '.join(states)}: {text}"
    return text


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
