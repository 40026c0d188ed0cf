"""The delivery ledger: one row per (report, period, attempt), in SQLite beside the archive.

It is what makes ``run-due`` idempotent (a period with a ``sent`` row is done) and what
``reportgen history`` prints. A row is written before the build starts (``building``), so
a run killed midway leaves a trace; the next run marks it ``failed: interrupted`` and
delivers the period again. Statuses: building, built (archived, not sent: a dry run or
no recipients), sent (the server accepted the message), failed, skipped (data not fresh).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reportgen.errors import ArchiveError

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
    sa.UniqueConstraint("report", "period", "attempt"),
)
COLUMNS = [column.name for column in DELIVERIES.columns]


def now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Ledger:
    """The ledger database at ``path`` (created on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(f"cannot create the ledger folder {path.parent}: {exc}") from None
        self.engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})
        with self.engine.begin() as conn:
            conn.exec_driver_sql("pragma journal_mode = wal")
        METADATA.create_all(self.engine)

    def start(
        self,
        report: str,
        period: str,
        period_start: str,
        *,
        config_hash: str,
        fingerprint: str,
        recipients: list[str],
        status: str = "building",
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
                )
            )
            return int(result.inserted_primary_key[0])

    def update(self, row: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(DELIVERIES.update().where(DELIVERIES.c.id == row).values(**values))

    def finish(self, row: int, status: str, **values: Any) -> None:
        self.update(row, status=status, finished_at=now_text(), **values)

    def mark_interrupted(self) -> int:
        """Close the attempts a killed run left ``building``; return how many.

        Call only while holding the run lock: then no other run is building.
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                DELIVERIES.update()
                .where(DELIVERIES.c.status == "building")
                .values(status="failed", error="interrupted", finished_at=now_text())
            )
            return result.rowcount or 0

    def sent_periods(self, report: str) -> dict[str, str]:
        """Return {period label: period start} of every period delivered for ``report``."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(DELIVERIES.c.period, DELIVERIES.c.period_start)
                .where(DELIVERIES.c.report == report, DELIVERIES.c.status == "sent")
                .distinct()
            )
            return {period: start for period, start in found}

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

    def rows(self, report: str | None = None) -> list[dict[str, Any]]:
        """Every attempt, oldest first."""
        query = sa.select(DELIVERIES).order_by(DELIVERIES.c.id)
        if report:
            query = query.where(DELIVERIES.c.report == report)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def close(self) -> None:
        self.engine.dispose()
