"""The delivery ledger: every attempt to deliver a (report, period) and what became of each
recipient, in SQLite beside the archive.

``deliveries`` holds one row per attempt, written before anything happens and updated at
every step, so a run killed at any moment leaves a row that says how far it got.
``delivery_recipients`` holds one row per (attempt, address). Together they are what makes
``run-due`` exactly-once as far as SMTP allows: a period is done once every recipient has
been accepted, and a retry goes only to those who were not.

Attempt statuses — in flight: ``building`` (the report), ``sending`` (the SMTP conversation,
before DATA), ``transmitting`` (DATA issued, its reply not yet recorded); final: ``sent``
(every recipient of the attempt accepted), ``partly_sent``, ``possibly_sent``, ``failed``,
``built`` (archived, not emailed: no recipients, or a dry run), ``skipped`` (data not fresh;
one row per held period, counting its ``checks``).

Purposes: ``scheduled`` (run-due), ``resend`` (``reportgen send``), ``test`` (``send --to``:
never counts as the schedule's delivery), ``dry_run``.

Recipient statuses — in flight: ``pending`` (before DATA), ``sending`` (in the envelope when
DATA was issued); final: ``accepted`` (250 to DATA), ``refused`` (5xx: not retried
automatically), ``deferred`` (4xx, or never reached: the next run tries again),
``possibly_sent`` (DATA issued, no reply recorded: the server may have it).

A ledger written before recipients were recorded is migrated in place when opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reportgen.errors import ArchiveError

SCHEDULED, RESEND, TEST, DRY_RUN = "scheduled", "resend", "test", "dry_run"
DELIVERING_PURPOSES = (SCHEDULED, RESEND)
"""The attempts that count towards a schedule's delivery (tests and dry runs never do)."""

ACCEPTED, REFUSED, DEFERRED, POSSIBLY_SENT = "accepted", "refused", "deferred", "possibly_sent"
PENDING, SENDING = "pending", "sending"

METADATA = sa.MetaData()
DELIVERIES = sa.Table(
    "deliveries",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report", sa.String, nullable=False),
    sa.Column("period", sa.String, nullable=False),
    sa.Column("period_start", sa.String, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("started_at", sa.String, nullable=False),
    sa.Column("built_at", sa.String),
    sa.Column("finished_at", sa.String),
    sa.Column("config_hash", sa.String),
    sa.Column("data_fingerprint", sa.Text),
    sa.Column("recipients", sa.Text),
    sa.Column("smtp_response", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("folder", sa.Text),
    sa.Column("purpose", sa.String, nullable=False, server_default=SCHEDULED),
    sa.Column("pdf_sha256", sa.String),
    sa.Column("message_id", sa.String),
    sa.Column("checks", sa.Integer),
    sa.Column("checked_at", sa.String),
    sa.UniqueConstraint("report", "period", "attempt"),
)
RECIPIENTS = sa.Table(
    "delivery_recipients",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", sa.Integer, sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("address", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("code", sa.Integer),
    sa.Column("reply", sa.Text),
    sa.Column("at", sa.String, nullable=False),
    sa.UniqueConstraint("delivery_id", "address"),
)
COLUMNS = [column.name for column in DELIVERIES.columns]
ADDED_COLUMNS = {
    "purpose": f"varchar not null default '{SCHEDULED}'",
    "pdf_sha256": "varchar",
    "message_id": "varchar",
    "checks": "integer",
    "checked_at": "varchar",
}
"""Columns a ledger from before per-recipient records lacks: added on open."""


def now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class AddressState:
    """Where one address stands for a (report, period): its latest recorded outcome."""

    address: str
    status: str
    reply: str | None
    at: str


@dataclass(frozen=True)
class PeriodState:
    """What the delivering attempts of one (report, period) achieved so far."""

    period: str
    period_start: str
    addresses: dict[str, AddressState] = field(default_factory=dict)
    """Each address's state; ``accepted`` sticks (a later failed re-send does not undo it)."""
    archived_only: bool = False
    """A scheduled attempt archived it without emailing (the schedule has no recipients)."""


def attempt_status(statuses: Iterable[str]) -> str:
    """Return an attempt's status from its recipients' statuses."""
    found = set(statuses)
    if SENDING in found:
        return "transmitting"
    if PENDING in found:
        return "sending"
    if found and found == {ACCEPTED}:
        return "sent"
    if POSSIBLY_SENT in found:
        return POSSIBLY_SENT
    if ACCEPTED in found:
        return "partly_sent"
    return "failed"


class Ledger:
    """The ledger database at ``path`` (created on first use, migrated when old)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create the ledger folder {path.parent}: {exc}") from None
        self.engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("pragma journal_mode = wal")
            self._migrate()
            METADATA.create_all(self.engine)
            self._backfill_legacy_recipients()
        except sa.exc.DatabaseError as exc:
            detail = str(getattr(exc, "orig", exc)).strip()
            self.engine.dispose()
            raise ArchiveError(f"{path}: cannot open the delivery ledger: {detail}") from None

    def _migrate(self) -> None:
        """Add the columns an older ledger lacks (ALTER TABLE: its rows stay as they are)."""
        with self.engine.begin() as conn:
            present = {row[1] for row in conn.exec_driver_sql("pragma table_info(deliveries)")}
        if not present:
            return  # a new ledger: create_all makes the whole table
        for name, kind in ADDED_COLUMNS.items():
            if name in present:
                continue
            try:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(f"alter table deliveries add column {name} {kind}")
            except sa.exc.OperationalError as exc:
                # Another process opening the same old ledger added it first.
                if "duplicate column" not in str(exc.orig):
                    raise

    def _backfill_legacy_recipients(self) -> None:
        """Give each ``sent`` attempt of an old ledger its recipients, as accepted.

        Only old rows lack them (every new ``sent`` attempt has its recipients), so this
        is a no-op after the first open; ``insert or ignore`` keeps two openers apart.
        """
        legacy = (
            sa.select(DELIVERIES.c.id, DELIVERIES.c.recipients, DELIVERIES.c.smtp_response)
            .where(DELIVERIES.c.status == "sent")
            .where(~sa.exists().where(RECIPIENTS.c.delivery_id == DELIVERIES.c.id))
        )
        with self.engine.begin() as conn:
            rows = conn.execute(legacy).all()
            values = [
                {
                    "delivery_id": row_id,
                    "address": address,
                    "status": ACCEPTED,
                    "reply": response,
                    "at": now_text(),
                }
                for row_id, listed, response in rows
                for address in _addresses(listed)
            ]
            if values:
                conn.execute(RECIPIENTS.insert().prefix_with("or ignore"), values)

    # Attempts.

    def start(
        self,
        report: str,
        period: str,
        period_start: str,
        *,
        config_hash: str,
        fingerprint: str,
        recipients: Sequence[str],
        status: str = "building",
        purpose: str = SCHEDULED,
    ) -> int:
        """Record a new attempt for (report, period); return its row id."""
        with self.engine.begin() as conn:
            attempt = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(DELIVERIES.c.attempt), 0)).where(
                    DELIVERIES.c.report == report, DELIVERIES.c.period == period
                )
            ).scalar_one()
            result = conn.execute(
                DELIVERIES.insert().values(
                    report=report,
                    period=period,
                    period_start=period_start,
                    attempt=attempt + 1,
                    status=status,
                    started_at=now_text(),
                    config_hash=config_hash,
                    data_fingerprint=fingerprint,
                    recipients=", ".join(recipients),
                    purpose=purpose,
                )
            )
            return int(result.inserted_primary_key[0])

    def update(self, row: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(DELIVERIES.update().where(DELIVERIES.c.id == row).values(**values))

    def finish(self, row: int, status: str, **values: Any) -> None:
        self.update(row, status=status, finished_at=now_text(), **values)

    def hold(
        self,
        report: str,
        period: str,
        period_start: str,
        *,
        reason: str,
        config_hash: str,
        fingerprint: str,
        recipients: Sequence[str],
        purpose: str = SCHEDULED,
    ) -> dict[str, Any]:
        """Record that ``period`` is held for stale data; return its row.

        A period held poll after poll keeps one ``skipped`` row, its ``checks`` counted and
        ``checked_at`` moved on, instead of a new row every few minutes.
        """
        latest = self.latest(report, period)
        checked = now_text()
        facts = {"error": reason, "config_hash": config_hash, "data_fingerprint": fingerprint}
        if latest and latest["status"] == "skipped" and latest["purpose"] == purpose:
            checks = (latest["checks"] or 1) + 1
            self.update(
                latest["id"], checks=checks, checked_at=checked, finished_at=checked, **facts
            )
            return {**latest, "checks": checks, "checked_at": checked}
        row = self.start(
            report,
            period,
            period_start,
            config_hash=config_hash,
            fingerprint=fingerprint,
            recipients=recipients,
            status="skipped",
            purpose=purpose,
        )
        self.update(row, checks=1, checked_at=checked, finished_at=checked, error=reason)
        return self.row(row)

    def row(self, row: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(DELIVERIES).where(DELIVERIES.c.id == row)).one()
            return dict(found._mapping)

    # Recipients.

    def add_recipients(self, row: int, addresses: Sequence[str]) -> None:
        """Record the addresses an attempt is about to send to, as ``pending``."""
        at = now_text()
        with self.engine.begin() as conn:
            conn.execute(
                RECIPIENTS.insert(),
                [
                    {"delivery_id": row, "address": a, "status": PENDING, "at": at}
                    for a in addresses
                ],
            )
            conn.execute(DELIVERIES.update().where(DELIVERIES.c.id == row).values(status="sending"))

    def record(
        self,
        row: int,
        outcomes: Iterable[tuple[str, str, int | None, str | None]],
        *,
        finished: bool = False,
        **values: Any,
    ) -> str:
        """Record (address, status, code, reply) outcomes of an attempt in one transaction,
        and the attempt's status that follows from them; return that status."""
        at = now_text()
        with self.engine.begin() as conn:
            for address, status, code, reply in outcomes:
                conn.execute(
                    RECIPIENTS.update()
                    .where(RECIPIENTS.c.delivery_id == row, RECIPIENTS.c.address == address)
                    .values(status=status, code=code, reply=reply, at=at)
                )
            status = attempt_status(
                conn.execute(
                    sa.select(RECIPIENTS.c.status).where(RECIPIENTS.c.delivery_id == row)
                ).scalars()
            )
            if finished or status not in ("sending", "transmitting"):
                values["finished_at"] = at
            conn.execute(
                DELIVERIES.update().where(DELIVERIES.c.id == row).values(status=status, **values)
            )
        return status

    def resolve_interrupted(self) -> list[dict[str, Any]]:
        """Close the attempts a killed run left in flight; return them, as closed.

        ``building`` and ``sending`` ones had sent nothing (their recipients are
        ``deferred``: the next run sends to them); ``transmitting`` ones had issued DATA,
        so its recipients are ``possibly_sent``. A ``built`` row never finished is a run of
        the old code killed around its send: possibly sent too. Call only while holding
        the run lock: then no other run is in flight.
        """
        at = now_text()
        closed = []
        with self.engine.begin() as conn:
            stuck = conn.execute(
                sa.select(DELIVERIES).where(
                    sa.or_(
                        DELIVERIES.c.status.in_(("building", "sending", "transmitting")),
                        sa.and_(DELIVERIES.c.status == "built", DELIVERIES.c.finished_at.is_(None)),
                    )
                )
            ).all()
            for found in stuck:
                row = dict(found._mapping)
                if row["status"] == "built":
                    conn.execute(
                        RECIPIENTS.insert().prefix_with("or ignore"),
                        [
                            {
                                "delivery_id": row["id"],
                                "address": address,
                                "status": SENDING,
                                "at": at,
                            }
                            for address in _addresses(row["recipients"])
                        ],
                    )
                conn.execute(
                    RECIPIENTS.update()
                    .where(RECIPIENTS.c.delivery_id == row["id"], RECIPIENTS.c.status == PENDING)
                    .values(status=DEFERRED, reply="interrupted before DATA: not sent", at=at)
                )
                conn.execute(
                    RECIPIENTS.update()
                    .where(RECIPIENTS.c.delivery_id == row["id"], RECIPIENTS.c.status == SENDING)
                    .values(
                        status=POSSIBLY_SENT,
                        reply="interrupted after DATA was issued: the server may have it",
                        at=at,
                    )
                )
                statuses = conn.execute(
                    sa.select(RECIPIENTS.c.status).where(RECIPIENTS.c.delivery_id == row["id"])
                ).scalars()
                status = attempt_status(statuses)
                error = {
                    "building": "interrupted while building: nothing was sent",
                    "sending": "interrupted before DATA: nothing was sent",
                }.get(row["status"], "interrupted after DATA was issued: possibly sent")
                conn.execute(
                    DELIVERIES.update()
                    .where(DELIVERIES.c.id == row["id"])
                    .values(status=status, error=error, finished_at=at)
                )
                closed.append({**row, "status": status, "error": error, "finished_at": at})
        return closed

    def mark_sent(self, report: str, period: str, note: str) -> list[str]:
        """Record the possibly-sent addresses of (report, period) as accepted, on an
        operator's word; return them."""
        attempts = sa.select(DELIVERIES.c.id).where(
            DELIVERIES.c.report == report,
            DELIVERIES.c.period == period,
            DELIVERIES.c.purpose.in_(DELIVERING_PURPOSES),
        )
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.select(RECIPIENTS.c.id, RECIPIENTS.c.delivery_id, RECIPIENTS.c.address).where(
                    RECIPIENTS.c.delivery_id.in_(attempts), RECIPIENTS.c.status == POSSIBLY_SENT
                )
            ).all()
            for recipient_id, _, _ in found:
                conn.execute(
                    RECIPIENTS.update()
                    .where(RECIPIENTS.c.id == recipient_id)
                    .values(status=ACCEPTED, reply=note, at=now_text())
                )
            for row in {delivery for _, delivery, _ in found}:
                statuses = conn.execute(
                    sa.select(RECIPIENTS.c.status).where(RECIPIENTS.c.delivery_id == row)
                ).scalars()
                conn.execute(
                    DELIVERIES.update()
                    .where(DELIVERIES.c.id == row)
                    .values(status=attempt_status(statuses))
                )
        return sorted({address for _, _, address in found})

    # Questions.

    def period_states(self, report: str) -> dict[str, PeriodState]:
        """Return what the delivering attempts achieved for each period of ``report``."""
        attempts = (
            sa.select(
                DELIVERIES.c.id,
                DELIVERIES.c.period,
                DELIVERIES.c.period_start,
                DELIVERIES.c.status,
                DELIVERIES.c.purpose,
            )
            .where(DELIVERIES.c.report == report, DELIVERIES.c.purpose.in_(DELIVERING_PURPOSES))
            .order_by(DELIVERIES.c.id)
        )
        recipients = (
            sa.select(
                RECIPIENTS.c.delivery_id,
                RECIPIENTS.c.address,
                RECIPIENTS.c.status,
                RECIPIENTS.c.reply,
                RECIPIENTS.c.at,
            )
            .join(DELIVERIES, DELIVERIES.c.id == RECIPIENTS.c.delivery_id)
            .where(DELIVERIES.c.report == report, DELIVERIES.c.purpose.in_(DELIVERING_PURPOSES))
            .order_by(RECIPIENTS.c.delivery_id, RECIPIENTS.c.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(attempts).all()
            by_attempt: dict[int, list[Any]] = {}
            for found in conn.execute(recipients):
                by_attempt.setdefault(found.delivery_id, []).append(found)
        states: dict[str, PeriodState] = {}
        for row_id, period, start, status, purpose in rows:
            state = states.setdefault(period, PeriodState(period, start))
            if status == "built" and purpose == SCHEDULED:
                states[period] = state = PeriodState(period, start, state.addresses, True)
            for found in by_attempt.get(row_id, []):
                earlier = state.addresses.get(found.address)
                if earlier is None or earlier.status != ACCEPTED:
                    state.addresses[found.address] = AddressState(
                        found.address, found.status, found.reply, found.at
                    )
        return states

    def recorded_pdf(self, report: str, period: str) -> dict[str, Any] | None:
        """Return the newest delivering attempt of (report, period) that recorded the PDF
        it emailed (its ``pdf_sha256``, ``message_id``, ``data_fingerprint``)."""
        query = (
            sa.select(DELIVERIES)
            .where(
                DELIVERIES.c.report == report,
                DELIVERIES.c.period == period,
                DELIVERIES.c.purpose.in_(DELIVERING_PURPOSES),
                DELIVERIES.c.pdf_sha256.is_not(None),
                DELIVERIES.c.status.not_in(("failed", "built")),
            )
            .order_by(DELIVERIES.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            found = conn.execute(query).first()
            return dict(found._mapping) if found else None

    def latest(self, report: str, period: str, status: str | None = None) -> dict[str, Any] | None:
        """Return the newest attempt for (report, period), optionally of one status."""
        query = sa.select(DELIVERIES).where(
            DELIVERIES.c.report == report, DELIVERIES.c.period == period
        )
        if status:
            query = query.where(DELIVERIES.c.status == status)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(DELIVERIES.c.attempt.desc()).limit(1)).first()
            return dict(row._mapping) if row else None

    def rows(self, report: str | None = None, *, addresses: bool = False) -> list[dict[str, Any]]:
        """Every attempt, oldest first; with ``addresses``, each with its recipients' rows."""
        query = sa.select(DELIVERIES).order_by(DELIVERIES.c.id)
        if report:
            query = query.where(DELIVERIES.c.report == report)
        with self.engine.connect() as conn:
            found = [dict(row._mapping) for row in conn.execute(query)]
            if addresses:
                listed: dict[int, list[dict[str, Any]]] = {}
                for recipient in conn.execute(sa.select(RECIPIENTS).order_by(RECIPIENTS.c.id)):
                    entry = dict(recipient._mapping)
                    listed.setdefault(entry.pop("delivery_id"), []).append(entry)
                for row in found:
                    row["addresses"] = [
                        {k: v for k, v in entry.items() if k != "id"}
                        for entry in listed.get(row["id"], [])
                    ]
            return found

    def close(self) -> None:
        self.engine.dispose()


def _addresses(listed: str | None) -> list[str]:
    """Split the ``recipients`` column (``a@x, b@y``)."""
    return [address.strip() for address in (listed or "").split(",") if address.strip()]
