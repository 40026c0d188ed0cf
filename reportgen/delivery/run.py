"""Scheduled delivery: build each due period, check the data is fresh, email it, record it.

``run_due`` is meant to be called every few minutes by cron or a systemd timer. It holds
a lock for the whole run (a second run at the same time exits at once, or waits with
``wait=True``), closes the attempts a killed run left open, then for every schedule builds
and sends the waiting periods oldest first. A period counts as delivered only once the
mail server accepted the message; a failure stops that schedule's catch-up (the next run
starts again from the oldest waiting period) and makes the exit code non-zero.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportgen.archive.publish import report_folder
from reportgen.config import Config, Schedule
from reportgen.delivery.ledger import Ledger
from reportgen.delivery.schedules import parse_period, schedule_zone, waiting_periods
from reportgen.errors import ReportgenError
from reportgen.periods import Period

FRESHNESS_TABLES = (
    ("carts", "created_at"),
    ("orders", "order_date"),
    ("events", "event_time"),
)
"""The timestamp columns whose newest value shows how far the data goes."""


class RunLockedError(ReportgenError):
    """Another ``run-due`` holds the lock."""


@dataclass
class Outcome:
    """What happened to one (report, period)."""

    report: str
    period: str
    status: str
    detail: str = ""


@dataclass
class RunSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(o.status == "failed" for o in self.outcomes)


@contextmanager
def run_lock(output: Path, wait: bool = False) -> Iterator[None]:
    """Hold ``<output>/.run-due.lock`` (released by the OS if the process dies)."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / ".run-due.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise RunLockedError(f"another run-due is in progress (lock {path})") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def scheduled_config(config: Config, schedule: Schedule) -> Config:
    """The config a schedule builds with: its own time zone."""
    zone = schedule_zone(config, schedule)
    report = config.report.model_copy(update={"timezone": zone})
    return config.model_copy(update={"report": report})


def config_hash(config: Config, schedule: Schedule) -> str:
    """A short hash of everything that shapes the report (not the data)."""
    text = json.dumps(
        {"config": config.model_dump(mode="json"), "schedule": schedule.model_dump(mode="json")},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_fingerprint(config: Config) -> dict[str, Any]:
    """Row counts and newest local timestamps of the source's timestamped tables."""
    from reportgen.report.metrics import newest_in
    from reportgen.source.connection import open_source
    from reportgen.source.query import scalar

    found: dict[str, Any] = {}
    with open_source(config) as source:
        for table, column in FRESHNESS_TABLES:
            if not source.usable(table):
                continue
            newest = newest_in(source, table, column)
            rows = scalar(source.connection, f"select count(*) from {source.table(table).sql}")
            found[table] = {
                "rows": int(rows or 0),
                "newest": newest.isoformat(sep=" ") if newest else None,
            }
    return found


def stale_data(fingerprint: dict[str, Any], period: Period) -> str | None:
    """Say why the data does not reach the period end, or None when it does: the newest
    cart, order or event timestamp must be at or after the end (local time)."""
    end = f"{period.end.isoformat()} 00:00:00"
    newest = max((facts["newest"] or "" for facts in fingerprint.values()), default="")
    if newest >= end:
        return None
    shown = ", ".join(f"{t} {f['newest'] or 'none'}" for t, f in fingerprint.items())
    return f"data incomplete: the newest timestamps ({shown or 'no tables'}) are before {end}"


def run_due(
    config: Config,
    *,
    now: datetime | None = None,
    only: str | None = None,
    dry_run: bool = False,
    wait: bool = False,
) -> RunSummary:
    """Deliver every waiting period of every schedule (or of ``only``)."""
    if not config.schedules:
        raise ReportgenError(f"{config.origin}: schedules: no schedule is configured")
    if only and only not in config.schedules:
        known = ", ".join(config.schedules)
        raise ReportgenError(f"{config.origin}: no schedule {only!r} (configured: {known})")
    now = now or datetime.now(UTC)
    summary = RunSummary()
    with run_lock(config.output_dir, wait=wait):
        ledger = Ledger(config.ledger_path)
        try:
            ledger.mark_interrupted()
            for name in config.schedules:
                if only and name != only:
                    continue
                for period in waiting_periods(config, name, now, ledger.sent_periods(name)):
                    outcome = deliver(config, name, period, ledger, dry_run=dry_run)
                    summary.outcomes.append(outcome)
                    if outcome.status in ("failed", "skipped"):
                        break  # oldest first: the next run starts again from this one
        finally:
            ledger.close()
    return summary


def deliver(
    config: Config,
    name: str,
    period: Period,
    ledger: Ledger,
    *,
    dry_run: bool = False,
    recipients: list[str] | None = None,
    rebuild: bool = True,
) -> Outcome:
    """Build (or reuse) ``period``'s report for schedule ``name``, then send it."""
    from reportgen.report.build import build_report

    schedule = config.schedules[name]
    built_config = scheduled_config(config, schedule)
    to = recipients if recipients is not None else schedule.recipients
    folder = report_folder(built_config.output_dir, period)
    reuse = not rebuild and (folder / "report.pdf").is_file()
    # An archived report is sent as built: its data is what the last attempt recorded,
    # so the tables are not scanned again.
    earlier = ledger.latest(name, period.label) if reuse else None
    if earlier and earlier["data_fingerprint"]:
        fingerprint_text, stale = earlier["data_fingerprint"], None
    else:
        fingerprint = data_fingerprint(built_config)
        fingerprint_text = json.dumps(fingerprint, sort_keys=True)
        stale = None if reuse else stale_data(fingerprint, period)
    row_facts = {
        "config_hash": config_hash(config, schedule),
        "fingerprint": fingerprint_text,
        "recipients": to,
    }
    banner = None
    if stale:
        if config.delivery.freshness == "hold":
            row = ledger.start(name, period.label, period.start.isoformat(), **row_facts)
            ledger.finish(row, "skipped", error=stale)
            return Outcome(name, period.label, "skipped", stale)
        banner = f"Incomplete data: {stale}."
    row = ledger.start(name, period.label, period.start.isoformat(), **row_facts)
    try:
        if not reuse:
            result = build_report(built_config, period, sections=schedule.sections)
            folder = result.folder
        ledger.update(row, status="built", built_at=_built_at(folder), folder=str(folder))
    except ReportgenError as exc:
        ledger.finish(row, "failed", error=str(exc))
        return Outcome(name, period.label, "failed", str(exc))
    return _send(config, name, period, folder, row, ledger, to, banner, dry_run)


def _built_at(folder: Path) -> str | None:
    try:
        return json.loads((folder / "build.json").read_text()).get("generated_at")
    except (OSError, ValueError):
        return None


def _send(
    config: Config,
    name: str,
    period: Period,
    folder: Path,
    row: int,
    ledger: Ledger,
    to: list[str],
    banner: str | None,
    dry_run: bool,
) -> Outcome:
    from reportgen.delivery.mailer import SmtpSettings, compose, send, write_eml

    delivery = config.delivery
    try:
        message = compose(
            folder,
            recipients=to,
            sender=delivery.smtp.sender,
            max_bytes=int(delivery.max_email_mb * 1_000_000),
            archive_url=delivery.archive_url,
            banner=banner,
            title=config.report.title,
            currency=config.report.currency,
        )
    except ReportgenError as exc:
        ledger.finish(row, "failed", error=str(exc))
        return Outcome(name, period.label, "failed", str(exc))
    if dry_run or not to:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = write_eml(message, folder / "outbox" / f"{name}-{stamp}.eml")
        why = "dry run" if dry_run else "no recipients"
        ledger.finish(row, "built", smtp_response=f"{why}: written to {path}")
        return Outcome(name, period.label, "built", f"{why}: {path}")
    smtp = delivery.smtp
    settings = SmtpSettings.from_env(
        host=smtp.host,
        port=smtp.port,
        starttls=smtp.starttls,
        sender=smtp.sender,
        timeout=smtp.timeout,
    )
    result = send(
        message, settings, retries=delivery.retries, backoff=delivery.retry_backoff_seconds
    )
    if result.accepted:
        ledger.finish(row, "sent", smtp_response=result.response)
        return Outcome(name, period.label, "sent", f"to {', '.join(to)}: {result.response}")
    ledger.finish(row, "failed", smtp_response=result.response, error=result.response)
    return Outcome(name, period.label, "failed", result.response)


def send_archived(
    config: Config,
    name: str,
    label: str,
    *,
    recipients: list[str] | None = None,
    dry_run: bool = False,
) -> Outcome:
    """Send (again) schedule ``name``'s report for the period ``label``.

    An archived PDF is sent as it is, byte for byte, without recomputing; a period not in
    the archive yet is built first.
    """
    if name not in config.schedules:
        known = ", ".join(config.schedules) or "none"
        raise ReportgenError(f"{config.origin}: no schedule {name!r} (configured: {known})")
    schedule = config.schedules[name]
    period = parse_period(schedule.period, label, schedule_zone(config, schedule))
    ledger = Ledger(config.ledger_path)
    try:
        return deliver(
            config, name, period, ledger, dry_run=dry_run, recipients=recipients, rebuild=False
        )
    finally:
        ledger.close()
