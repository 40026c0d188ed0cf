"""Scheduled delivery: build each due period, check the data is fresh, email it, record it.

``run_due`` is meant to be called every few minutes by cron or a systemd timer. It holds
``<output>/.run-due.lock`` for the whole run, closes the attempts a killed run left in
flight (``Ledger.resolve_interrupted``), reports what needs an operator (messages that
were possibly sent), then delivers every schedule's waiting periods oldest first, each to
the recipients who do not have it yet. No new delivery starts once the run has taken
``delivery.run_deadline_minutes``.

Which periods are waiting, from the ledger's per-recipient states:

- A period is *settled* once every current recipient its attempts addressed is accepted,
  refused (5xx) or possibly sent under ``possibly_sent: hold``. Settled periods are never
  sent again automatically (``reportgen send`` does it on purpose).
- Every due period after the newest settled one is waiting (catch-up after downtime), and
  so is an earlier one still owed to someone (deferred with a 4xx last time).
- A retry goes to the owed recipients only, with the PDF already emailed for the period
  and the same Message-ID, so each recipient gets the same message once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reportgen.archive.publish import archive_lock, find_pdf, report_folder
from reportgen.config import Config, DeliverySettings, Schedule
from reportgen.delivery.freshness import data_fingerprint, stale_data
from reportgen.delivery.ledger import (
    ACCEPTED,
    DEFERRED,
    DRY_RUN,
    PENDING,
    POSSIBLY_SENT,
    REFUSED,
    RESEND,
    SCHEDULED,
    SENDING,
    TEST,
    Ledger,
    PeriodState,
    now_text,
)
from reportgen.delivery.schedules import (
    latest_due,
    parse_period,
    require_schedules,
    schedule_zone,
    waiting_periods,
)
from reportgen.delivery.smtp import SmtpSettings, send
from reportgen.errors import ArchiveError, DeliveryError, ReportgenError
from reportgen.periods import Period

if TYPE_CHECKING:
    from reportgen.report.build import Progress

LOCK_NAME = ".run-due.lock"
LOCK_MARGIN = timedelta(minutes=10)
"""Beyond the run deadline, what the last delivery a run started may take to build."""
FAILING = ("failed", "partly_sent", "possibly_sent")
"""Outcomes that make run-due exit 1."""
STOPPING = ("failed", "skipped", "possibly_sent")
"""Outcomes after which a schedule's catch-up waits for the next run (oldest first)."""


class RunLockedError(ReportgenError):
    """Another ``run-due`` holds the lock (and has not held it for too long)."""


class RunHungError(ReportgenError):
    """Another ``run-due`` has held the lock far longer than a run may take."""


@dataclass
class Outcome:
    """What happened to one (report, period)."""

    report: str
    period: str
    status: str
    """sent, partly_sent, possibly_sent, failed, skipped (held), built, postponed."""
    detail: str = ""


@dataclass
class RunSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(o.status in FAILING for o in self.outcomes)


# The run lock.


def lock_stale_after(delivery: DeliverySettings) -> timedelta:
    """How long a run may hold the lock before another calls it hung: the run deadline,
    then the last delivery it started (a build, and each SMTP attempt at its deadline)."""
    smtp = timedelta(seconds=(delivery.retries + 1) * delivery.smtp.deadline_seconds)
    return timedelta(minutes=delivery.run_deadline_minutes) + LOCK_MARGIN + smtp


@dataclass(frozen=True)
class LockHolder:
    """Who holds the run lock, from the lock file: ``{"pid": …, "started_at": …}``."""

    pid: int
    started_at: str
    """As written (UTC, ``2026-12-01T07:00:02Z``)."""
    started: datetime


def lock_holder(path: Path) -> LockHolder | None:
    """Return the live process the lock file names, or None (unreadable, or it is gone:
    then the lock's real holder has only just taken it)."""
    try:
        facts = json.loads(path.read_text() or "{}")
        started = datetime.fromisoformat(str(facts["started_at"]).replace("Z", "+00:00"))
        holder = LockHolder(int(facts["pid"]), str(facts["started_at"]), started)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return holder


@contextmanager
def run_lock(
    output: Path, *, wait: bool = False, stale_after: timedelta = timedelta(hours=1)
) -> Iterator[None]:
    """Hold ``<output>/.run-due.lock`` (released by the OS if the process dies).

    The file says who holds it and since when; a holder older than ``stale_after`` is
    reported as possibly hung (RunHungError) instead of waited for or skipped quietly.
    """
    try:
        output.mkdir(parents=True, exist_ok=True)
        handle = open(output / LOCK_NAME, "a+")
    except OSError as exc:
        raise ArchiveError(f"cannot write the run lock under {output}: {exc.strerror}") from None
    path = output / LOCK_NAME
    with handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = lock_holder(path)
                if holder and datetime.now(UTC) - holder.started > stale_after:
                    minutes = stale_after.total_seconds() / 60
                    raise RunHungError(
                        f"run-due pid {holder.pid} has held the lock since {holder.started_at}"
                        f" \u2014 it may be hung (a run should be done within {minutes:.0f} "
                        f"min); check it with `ps -p {holder.pid}`, stop it if it is stuck, "
                        f"and the next run takes over (lock {path})"
                    ) from None
                if not wait:
                    raise RunLockedError(f"another run-due is in progress (lock {path})") from None
                time.sleep(0.5)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "started_at": now_text()}) + "\n")
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


# What to deliver.


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


def _owed(status: str, rule: str) -> bool:
    """Is an address in this state still to be sent the period, automatically?"""
    return status in (DEFERRED, PENDING, SENDING) or (status == POSSIBLY_SENT and rule == "resend")


def settled(state: PeriodState, recipients: Sequence[str], rule: str) -> bool:
    """Has ``state``'s period nothing left to send automatically to ``recipients``?"""
    if state.archived_only and not recipients:
        return True
    known = [a for a in recipients if a in state.addresses]
    return bool(known) and not any(_owed(state.addresses[a].status, rule) for a in known)


def outstanding(state: PeriodState | None, recipients: Sequence[str], rule: str) -> list[str]:
    """Return the recipients a scheduled attempt sends ``state``'s period to."""
    if state is None:
        return list(recipients)
    return [
        a for a in recipients if a not in state.addresses or _owed(state.addresses[a].status, rule)
    ]


@dataclass(frozen=True)
class Due:
    """A period to deliver now: to whom, and whether someone may already have its PDF."""

    period: Period
    targets: list[str]
    reuse: bool


def due_deliveries(config: Config, name: str, now: datetime, ledger: Ledger) -> list[Due]:
    """Return schedule ``name``'s periods to deliver at ``now``, oldest first."""
    schedule = config.schedules[name]
    zone = schedule_zone(config, schedule)
    rule = config.delivery.possibly_sent
    states = ledger.period_states(name)
    done = {
        label: state.period_start
        for label, state in states.items()
        if settled(state, schedule.recipients, rule)
    }
    periods = {p.label: p for p in waiting_periods(config, name, now, done)}
    latest = latest_due(schedule, zone, now)
    for label, state in states.items():
        owed = any(
            _owed(state.addresses[a].status, rule)
            for a in schedule.recipients
            if a in state.addresses
        )
        if label not in done and label not in periods and owed:
            period = parse_period(schedule.period, label, zone)
            if period.start <= latest.start:
                periods[label] = period
    found = []
    for period in sorted(periods.values(), key=lambda p: p.start):
        state = states.get(period.label)
        someone_has_it = state is not None and any(
            a.status in (ACCEPTED, POSSIBLY_SENT) for a in state.addresses.values()
        )
        found.append(Due(period, outstanding(state, schedule.recipients, rule), someone_has_it))
    return found


def needs_operator(config: Config, name: str, ledger: Ledger) -> list[Outcome]:
    """Return the periods of ``name`` possibly sent and held (``possibly_sent: hold``)."""
    if config.delivery.possibly_sent != "hold":
        return []
    schedule = config.schedules[name]
    found = []
    for label, state in sorted(ledger.period_states(name).items()):
        held = [
            state.addresses[a]
            for a in schedule.recipients
            if a in state.addresses and state.addresses[a].status == POSSIBLY_SENT
        ]
        if held:
            found.append(Outcome(name, label, POSSIBLY_SENT, _held_detail(name, label, held)))
    return found


def _held_detail(name: str, label: str, held: Sequence[Any]) -> str:
    return (
        f"possibly sent to {', '.join(a.address for a in held)} ({held[0].reply}, "
        f"{held[0].at}): not re-sent automatically (delivery.possibly_sent: hold); "
        f"ask the recipient, then run `reportgen send {name} --period {label}` to re-send "
        f"it (same Message-ID) or `reportgen history --report {name} --period {label} "
        "--mark-sent`"
    )


def run_due(
    config: Config,
    *,
    now: datetime | None = None,
    only: str | None = None,
    dry_run: bool = False,
    wait: bool = False,
    clock: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
) -> RunSummary:
    """Deliver every waiting period of every schedule (or of ``only``); ``progress`` is
    told each stage of each delivery as it finishes (``<report> <period> <stage>``)."""
    require_schedules(config)
    if only and only not in config.schedules:
        known = ", ".join(config.schedules)
        raise ReportgenError(f"{config.origin}: no schedule {only!r} (configured: {known})")
    now = now or datetime.now(UTC)
    started = clock()
    minutes = config.delivery.run_deadline_minutes
    names = [name for name in config.schedules if not only or name == only]
    summary = RunSummary()
    with run_lock(config.output_dir, wait=wait, stale_after=lock_stale_after(config.delivery)):
        ledger = Ledger(config.ledger_path)
        try:
            ledger.resolve_interrupted()
            for name in names:
                summary.outcomes.extend(needs_operator(config, name, ledger))
            late = False
            for name in names:
                for due in due_deliveries(config, name, now, ledger):
                    late = late or clock() - started > minutes * 60
                    if late:
                        summary.outcomes.append(
                            Outcome(
                                name,
                                due.period.label,
                                "postponed",
                                f"not started: this run passed its deadline ({minutes:g} min, "
                                "delivery.run_deadline_minutes); the next run delivers it",
                            )
                        )
                        continue
                    outcome = deliver(
                        config,
                        name,
                        due.period,
                        ledger,
                        targets=due.targets,
                        reuse=due.reuse,
                        dry_run=dry_run,
                        now=now,
                        progress=progress,
                    )
                    summary.outcomes.append(outcome)
                    if outcome.status in STOPPING:
                        break  # oldest first: the next run starts again from this one
        finally:
            ledger.close()
    return summary


# One delivery.


@dataclass(frozen=True)
class _Pdf:
    """The PDF to send, read under the archive lock, and the report folder it belongs to."""

    folder: Path
    content: bytes
    sha256: str
    fingerprint: str | None = None
    message_id: str | None = None


def _read_built(output: Path, period: Period, result: Any) -> _Pdf:
    """Read the PDF this build published, under the archive lock: a manual build may have
    replaced it since, in which case it is under history/ (found by its hash)."""
    with archive_lock(output):
        live = result.folder / "report.pdf"
        content = live.read_bytes() if live.is_file() else b""
        path = live
        if result.pdf_sha256 and hashlib.sha256(content).hexdigest() != result.pdf_sha256:
            path = find_pdf(output, period, result.pdf_sha256)
            if path is None:
                raise DeliveryError(
                    f"{live}: the PDF this run built (SHA-256 {result.pdf_sha256[:12]}…) is "
                    "neither there nor under history/; was the archive changed by hand?"
                )
            content = path.read_bytes()
    return _Pdf(path.parent, content, hashlib.sha256(content).hexdigest())


def _archived_pdf(config: Config, name: str, period: Period, ledger: Ledger) -> _Pdf | None:
    """Return the PDF already emailed for ``period`` (found by the hash the ledger
    recorded, live or under history/), else the archived one, else None (build it)."""
    output = config.output_dir
    recorded = ledger.recorded_pdf(name, period.label)
    with archive_lock(output):
        if recorded:
            path = find_pdf(output, period, recorded["pdf_sha256"])
            if path is None:
                raise DeliveryError(
                    f"{report_folder(output, period)}: the PDF emailed for {name} "
                    f"{period.label} (SHA-256 {recorded['pdf_sha256'][:12]}…) is neither there "
                    f"nor under {output / 'history'}; `reportgen send {name} --period "
                    f"{period.label} --rebuild` builds and sends a new one"
                )
        else:
            path = report_folder(output, period) / "report.pdf"
            if not path.is_file():
                return None
        content = path.read_bytes()
    earlier = recorded or ledger.latest(name, period.label) or {}
    return _Pdf(
        path.parent,
        content,
        hashlib.sha256(content).hexdigest(),
        earlier.get("data_fingerprint"),
        earlier.get("message_id"),
    )


class _Recorder:
    """Write each step of the SMTP conversation to the ledger the moment it happens."""

    def __init__(self, ledger: Ledger, row: int) -> None:
        self.ledger, self.row = ledger, row

    def data_issued(self, envelope: tuple[str, ...], refused: tuple[Any, ...]) -> None:
        facts = [(r.address, r.status, r.code, r.reply) for r in refused]
        self.ledger.record(self.row, facts + [(a, SENDING, None, None) for a in envelope])

    def data_reply(self, results: tuple[Any, ...]) -> None:
        self.ledger.record(self.row, [(r.address, r.status, r.code, r.reply) for r in results])


def deliver(
    config: Config,
    name: str,
    period: Period,
    ledger: Ledger,
    *,
    targets: Sequence[str] | None = None,
    purpose: str = SCHEDULED,
    reuse: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Email ``period``'s report of schedule ``name`` to ``targets`` (default: the
    schedule's recipients), recording every step in the ledger.

    With ``reuse`` the PDF already emailed for the period goes again, byte for byte (else
    the archived one); otherwise, or when there is none, the data must be fresh and the
    report is built. A ``test`` send (``targets`` are the test addresses) gets its own
    Message-ID and never counts as the schedule's delivery.

    A build with data alerts (``report.alerts``) is held like stale data when
    ``delivery.freshness`` is ``hold`` (and not rebuilt while the data stays the same), or
    sent with the alerts in the email's banner when it is ``banner``.
    """
    from reportgen.delivery.compose import compose, delivery_message_id, write_eml
    from reportgen.report.alerts import data_alerts
    from reportgen.report.build import build_report

    now = now or datetime.now(UTC)
    told = _told(progress, name, period.label)
    schedule = config.schedules[name]
    built_config = scheduled_config(config, schedule)
    delivery = config.delivery
    audience = list(targets or []) if purpose == TEST else list(schedule.recipients)
    to = list(dict.fromkeys(targets if targets is not None else audience))
    label, start = period.label, period.start.isoformat()
    facts: dict[str, Any] = {
        "config_hash": config_hash(config, schedule),
        "recipients": to,
        "purpose": DRY_RUN if dry_run else purpose,
    }
    try:
        pdf = _archived_pdf(built_config, name, period, ledger) if reuse else None
    except DeliveryError as exc:
        row = ledger.start(name, label, start, fingerprint="{}", **facts)
        ledger.finish(row, "failed", error=str(exc))
        return Outcome(name, label, "failed", str(exc))
    banner = None
    if pdf is None:
        fingerprint = json.dumps(data_fingerprint(built_config, now), sort_keys=True)
        stale = stale_data(json.loads(fingerprint), period, delivery.fresh_within_hours)
        if stale and delivery.freshness == "hold":
            held = ledger.hold(name, label, start, reason=stale, fingerprint=fingerprint, **facts)
            checks = held["checks"]
            since = f"checked {checks} times since {held['started_at']}" if checks > 1 else ""
            return Outcome(name, label, "skipped", f"{stale} ({since})" if since else stale)
        banner = f"Incomplete data: {stale}." if stale else None
        held = ledger.latest(name, label)
        if (
            delivery.freshness == "hold"
            and held is not None
            and held["status"] == "skipped"
            and (held["error"] or "").startswith(ALERTS_HELD)
            and held["data_fingerprint"] == fingerprint
        ):
            # The same data gives the same alerts: hold again without building.
            held = ledger.hold(
                name, label, start, reason=held["error"], fingerprint=fingerprint, **facts
            )
            return Outcome(name, label, "skipped", held["error"])
    else:
        fingerprint = pdf.fingerprint or json.dumps(
            data_fingerprint(built_config, now), sort_keys=True
        )
    row = ledger.start(name, label, start, fingerprint=fingerprint, **facts)
    try:
        if pdf is None:
            result = build_report(built_config, period, sections=schedule.sections, progress=told)
            pdf = _read_built(built_config.output_dir, period, result)
            alerts = data_alerts(result.metrics, config.quality)
            if alerts:
                found = "; ".join(alert.message for alert in alerts)
                if delivery.freshness == "hold":
                    reason = f"{ALERTS_HELD}{found} (the report is archived, not sent)"
                    ledger.finish(row, "skipped", error=reason, checks=1, checked_at=now_text())
                    return Outcome(name, label, "skipped", reason)
                banner = " ".join(filter(None, (banner, f"Data alerts: {found}.")))
        message_id = None
        if purpose != TEST:
            message_id = pdf.message_id or delivery_message_id(name, label, delivery.smtp.sender)
        ledger.update(
            row,
            status="sending",
            built_at=_built_at(pdf.folder),
            folder=str(pdf.folder),
            pdf_sha256=pdf.sha256,
            message_id=message_id,
        )
        if not to:
            ledger.finish(row, "built", smtp_response="no recipients: archived only")
            return Outcome(name, label, "built", f"no recipients: archived in {pdf.folder}")
        message = compose(
            pdf.folder,
            recipients=audience or to,
            sender=delivery.smtp.sender,
            max_bytes=int(delivery.max_email_mb * 1_000_000),
            archive_url=delivery.archive_url,
            banner=banner,
            title=config.report.title,
            currency=config.report.currency,
            pdf=pdf.content,
            message_id=message_id,
        )
        if dry_run:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            outbox = report_folder(built_config.output_dir, period) / "outbox"
            path = write_eml(message, outbox / f"{name}-{stamp}.eml")
            ledger.finish(row, "built", smtp_response=f"dry run: written to {path}")
            return Outcome(name, label, "built", f"dry run: {path}")
        smtp = delivery.smtp
        settings = SmtpSettings.from_env(
            host=smtp.host,
            port=smtp.port,
            starttls=smtp.starttls,
            sender=smtp.sender,
            timeout=smtp.timeout,
            deadline=smtp.deadline_seconds,
        )
    except ReportgenError as exc:
        ledger.finish(row, "failed", error=str(exc))
        return Outcome(name, label, "failed", str(exc))
    ledger.add_recipients(row, to)
    sending = time.perf_counter()
    result = send(
        message,
        settings,
        recipients=to,
        retries=delivery.retries,
        backoff=delivery.retry_backoff_seconds,
        progress=_Recorder(ledger, row),
    )
    if told is not None:
        told("send", time.perf_counter() - sending)
    status = ledger.record(
        row,
        [(r.address, r.status, r.code, r.reply) for r in result.recipients],
        finished=True,
        smtp_response=result.response,
        error=None if result.accepted else result.response,
    )
    return Outcome(name, label, status, _sent_detail(config, name, label, result))


ALERTS_HELD = "data alerts: "
"""How a period held for its data alerts starts its ledger reason."""


def _told(progress: Progress | None, name: str, label: str) -> Progress | None:
    """Return ``progress`` with each stage named after the delivery it belongs to."""
    if progress is None:
        return None
    return lambda stage, seconds: progress(f"{name} {label} {stage}", seconds)


def _sent_detail(config: Config, name: str, label: str, result: Any) -> str:
    """Say what became of the message and what happens next, in one line."""
    if result.accepted:
        return f"to {', '.join(r.address for r in result.recipients)}: {result.response}"
    statuses = {r.status for r in result.recipients}
    detail = result.response
    if REFUSED in statuses:
        detail += (
            f"; refused addresses are not retried automatically: correct "
            f"schedules.{name}.recipients, or send again with `reportgen send {name} "
            f"--period {label}`"
        )
    if DEFERRED in statuses:
        later = [r.address for r in result.recipients if r.status == DEFERRED]
        detail += f"; the next run tries {', '.join(later)} again"
    if POSSIBLY_SENT in statuses:
        if config.delivery.possibly_sent == "hold":
            detail += (
                "; not re-sent automatically (delivery.possibly_sent: hold): ask the "
                f"recipient, then `reportgen send {name} --period {label}` or "
                f"`reportgen history --report {name} --period {label} --mark-sent`"
            )
        else:
            detail += "; the next run sends it again, with the same Message-ID"
    return detail


def _built_at(folder: Path) -> str | None:
    try:
        return json.loads((folder / "build.json").read_text()).get("generated_at")
    except (OSError, ValueError):
        return None


# On purpose: reportgen send, reportgen history --mark-sent.


def _schedule_period(config: Config, name: str, label: str) -> Period:
    if name not in config.schedules:
        known = ", ".join(config.schedules) or "none"
        raise ReportgenError(f"{config.origin}: no schedule {name!r} (configured: {known})")
    schedule = config.schedules[name]
    return parse_period(schedule.period, label, schedule_zone(config, schedule))


def send_archived(
    config: Config,
    name: str,
    label: str,
    *,
    recipients: list[str] | None = None,
    dry_run: bool = False,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Send schedule ``name``'s report for the period ``label`` on purpose.

    To the schedule's recipients who do not have it yet (a possibly-sent one included,
    with the same Message-ID), or to all of them when everyone has it; with
    ``recipients``, a test send to those only, which never counts as the delivery. The PDF
    already emailed for the period is sent byte for byte (else the archived one, else a
    new build); ``rebuild`` builds it again first.
    """
    period = _schedule_period(config, name, label)
    schedule = config.schedules[name]
    for address in recipients or []:
        if "@" not in address or any(c.isspace() for c in address.strip()):
            raise DeliveryError(f"--to {address!r}: not an email address")
    with run_lock(config.output_dir, wait=True, stale_after=lock_stale_after(config.delivery)):
        ledger = Ledger(config.ledger_path)
        try:
            ledger.resolve_interrupted()
            if recipients:
                return deliver(
                    config,
                    name,
                    period,
                    ledger,
                    targets=recipients,
                    purpose=TEST,
                    reuse=not rebuild,
                    dry_run=dry_run,
                    progress=progress,
                )
            state = ledger.period_states(name).get(period.label)
            owed = [
                a
                for a in schedule.recipients
                if state is None
                or a not in state.addresses
                or state.addresses[a].status != ACCEPTED
            ]
            outcome = deliver(
                config,
                name,
                period,
                ledger,
                targets=owed or list(schedule.recipients),
                purpose=RESEND,
                reuse=not rebuild,
                dry_run=dry_run,
                progress=progress,
            )
            if not owed and schedule.recipients and outcome.status == "sent":
                outcome.detail = f"again (every recipient had it): {outcome.detail}"
            return outcome
        finally:
            ledger.close()


def mark_sent(config: Config, name: str, label: str) -> list[str]:
    """Record the possibly-sent recipients of (``name``, ``label``) as accepted, on an
    operator's word (they checked the message arrived); return them."""
    period = _schedule_period(config, name, label)
    with run_lock(config.output_dir, wait=True, stale_after=lock_stale_after(config.delivery)):
        ledger = Ledger(config.ledger_path)
        try:
            ledger.resolve_interrupted()
            marked = ledger.mark_sent(
                name, period.label, f"marked sent by an operator at {now_text()}"
            )
        finally:
            ledger.close()
    if not marked:
        raise DeliveryError(
            f"{name} {period.label}: nothing is recorded as possibly sent (see "
            f"`reportgen history --report {name}`)"
        )
    return marked
