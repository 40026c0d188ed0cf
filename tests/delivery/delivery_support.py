"""Helpers the delivery tests share: a small shop's rows, a config, the ledger, a build copier.

Plain functions (not fixtures) so a test can also use them in a ``run-due`` subprocess:
``install_copy_build`` replaces ``build_report`` there too.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from reportgen.config import load_config
from reportgen.delivery.compose import compose
from reportgen.delivery.ledger import Ledger
from reportgen.delivery.smtp import SmtpSettings
from reportgen.periods import week_period

SENDER = "reportgen@shop.example"
TO = "director@shop.example"

WEEKLY = (
    "  weekly-director:\n"
    "    period: week\n    due: monday 07:00\n    timezone: Europe/London\n"
    "    recipients: [director@example.com]\n    sections: [carts]\n"
)


def weekly(*recipients: str, extra: str = "") -> str:
    """The weekly-director schedule sent to ``recipients`` (default: the director)."""
    shown = ", ".join(recipients or ("director@example.com",))
    return (
        "  weekly-director:\n"
        "    period: week\n    due: monday 07:00\n    timezone: Europe/London\n"
        f"    recipients: [{shown}]\n    sections: [carts]\n{extra}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shop_rows(first: date, last: date) -> dict[str, list[tuple]]:
    """A small shop with a few carts and orders every day from ``first`` to ``last``.

    Nothing is dated after the wall clock: a cart at 18:00 today, written at 03:00, is a
    future-dated row, and the data alerts rightly hold such a report (the tests that build
    from "today" failed each night until 18:00 UTC)."""
    carts, items, orders = [], [], []
    day, n = first, 0
    clock = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    while day <= last:
        for hour, status in ((9, "converted"), (13, "abandoned"), (18, "abandoned")):
            if datetime(day.year, day.month, day.day, hour, 30) > clock:
                continue
            n += 1
            stamp = f"{day} {hour:02d}:00:00"
            carts.append((f"c{n}", f"u{n % 7}", stamp, status))
            items.append((f"c{n}", f"p{n % 5}", 1, 10 + n % 5))
            if status == "converted":
                orders.append((f"o{n}", f"u{n % 7}", f"{day} {hour:02d}:30:00", f"c{n}"))
        day += timedelta(days=1)
    return {"carts": carts, "cart_items": items, "orders": orders}


def write_config(
    tmp_path: Path,
    db: Path,
    port: int,
    schedule: str,
    extra: str = "",
    *,
    smtp: str = "",
    retries: int = 1,
) -> Path:
    """Write ``shop.yaml``: the database, an archive under tmp_path, the test SMTP server.

    ``extra`` is more of the ``delivery:`` mapping (indented two spaces); ``smtp`` more keys
    of ``delivery.smtp`` (``", timeout: 1"``).
    """
    config = tmp_path / "shop.yaml"
    config.write_text(
        f"source:\n  url: sqlite:///{db}\n"
        "report:\n  output: reports\n  title: Shop weekly\n  trend_periods: 0\n"
        "delivery:\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, starttls: false, "
        f"sender: rg@example.com{smtp}}}\n"
        f"  retries: {retries}\n  retry_backoff_seconds: 0\n"
        f"{extra}"
        "schedules:\n"
        f"{schedule}"
    )
    return config


def ledger_rows(config: Path) -> list[dict]:
    ledger = Ledger(load_config(config).ledger_path)
    try:
        return ledger.rows()
    finally:
        ledger.close()


def record_sent(
    config: Path, report: str, label: str, start: str, to: str = "director@example.com"
) -> None:
    """Record (report, label) as delivered to ``to`` earlier."""
    ledger = Ledger(load_config(config).ledger_path)
    try:
        row = ledger.start(report, label, start, config_hash="x", fingerprint="{}", recipients=[to])
        ledger.add_recipients(row, [to])
        ledger.record(row, [(to, "accepted", 250, "250 earlier")], smtp_response="250 earlier")
    finally:
        ledger.close()


_copies = itertools.count(1)


def copy_build(source: Path, delay: float = 0.0) -> Any:
    """Return a ``build_report`` stand-in that publishes a copy of the built ``source`` folder
    as the report of whichever period it is asked for (``delay`` seconds are its build).

    The copy's metrics.json names the period asked for, so the email's subject and dates
    are that period's; its PDF gets a distinct trailing comment, so every "build" has its
    own SHA-256 (as real builds at different times do) while costing a file copy.
    """
    from reportgen.archive.publish import archive_lock, file_sha256, publish, write_json
    from reportgen.report.build import BuildResult

    def build(config, period, *, output=None, pdf=True, force=False, sections=None, **ignored):
        output = output or config.output_dir
        number = next(_copies)
        time.sleep(delay)

        def fill(folder: Path) -> None:
            shutil.copytree(source, folder, dirs_exist_ok=True)
            metrics = json.loads((folder / "metrics.json").read_text())
            metrics["period"] = period.as_json()
            metrics["previous_period"] = period.previous().as_json()
            write_json(folder / "metrics.json", metrics)
            with open(folder / "report.pdf", "ab") as stream:
                stream.write(f"\n% copy {number}\n".encode())

        with archive_lock(output):
            folder = publish(output, period, fill, force=force).folder
            sha = file_sha256(folder / "report.pdf")
        return BuildResult(
            folder=folder,
            metrics=json.loads((folder / "metrics.json").read_text()),
            recommendations=[],
            pdf=folder / "report.pdf",
            timings={},
            pdf_sha256=sha,
        )

    return build


def install_copy_build(source: Path, delay: float = 0.0) -> None:
    """Make ``reportgen.report.build.build_report`` publish copies of ``source``."""
    import reportgen.report.build as build

    build.build_report = copy_build(Path(source), delay)


# Runs at a fixed time.


HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
"""Tuesday of ISO week 48: week 47 (16-22 November) was due on Monday 07:00 London."""
W47 = week_period("2026-W47", "Europe/London")
DIRECTOR = "director@example.com"


def shop(make_db, last: date = date(2026, 11, 24), **more: list[tuple]) -> Path:
    tables = shop_rows(date(2026, 11, 1), last)
    for name, rows in more.items():
        tables[name] = tables.get(name, []) + rows
    return make_db(**tables)


def outcomes(summary) -> list[tuple[str, str]]:
    return [(o.period, o.status) for o in summary.outcomes]


def run_due_at_now(config: Path, folder: Path, patch: str) -> subprocess.Popen:
    """A run-due at NOW in another process, building by copying ``folder``."""
    code = (
        f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
        "import delivery_support\n"
        f"delivery_support.install_copy_build({str(folder)!r})\n"
        f"{patch}"
        "from datetime import datetime, UTC\n"
        "from reportgen.config import load_config\n"
        "from reportgen.delivery.run import run_due\n"
        "run_due(load_config(sys.argv[1]), now=datetime(2026, 11, 24, 12, tzinfo=UTC))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


OLD_SCHEMA = """
create table deliveries (
    id integer primary key autoincrement, report varchar not null, period varchar not null,
    period_start varchar not null, attempt integer not null, status varchar not null,
    started_at varchar not null, built_at varchar, finished_at varchar, config_hash varchar,
    data_fingerprint text, recipients text, smtp_response text, error text, folder text,
    unique (report, period, attempt)
);
insert into deliveries (report, period, period_start, attempt, status, started_at,
    finished_at, recipients, smtp_response)
values ('weekly-director', '2026-W46', '2026-11-09', 1, 'sent', '2026-11-16T07:00:02Z',
    '2026-11-16T07:00:09Z', 'director@example.com', '250 ok');
insert into deliveries (report, period, period_start, attempt, status, started_at, built_at,
    recipients)
values ('weekly-director', '2026-W47', '2026-11-16', 1, 'built', '2026-11-23T07:00:02Z',
    '2026-11-23T07:00:05Z', 'director@example.com');
"""


# Emails.


class Inbox:
    """An aiosmtpd handler keeping every accepted envelope, with replies to force.

    ``rcpt_replies`` maps an address to the replies its next RCPTs get (then 250);
    ``data_replies`` are the replies of the next DATA commands (then 250); ``reply``
    answers every DATA; ``data_delay`` seconds pass after a message is stored and before
    its 250 is sent (a reply that comes too late).
    """

    def __init__(
        self,
        rcpt_replies: dict[str, list[str]] | None = None,
        data_replies: list[str] | None = None,
    ) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        self.reply: str | None = None
        self.rcpt_replies = rcpt_replies or {}
        self.data_replies = list(data_replies or [])
        self.data_delay = 0.0
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.reply:
            return self.reply
        if self.data_replies:
            return self.data_replies.pop(0)
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 Ok: queued"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def received(self) -> Counter[str]:
        """How many copies each address was sent (the envelope, not the To header)."""
        return Counter(address for envelope in self.envelopes for address in envelope.rcpt_tos)


def plain(controller: Any, **options: Any) -> SmtpSettings:
    """Return settings for the test server, without TLS."""
    return SmtpSettings(
        host="127.0.0.1", port=controller.port, starttls=False, sender=SENDER, timeout=5, **options
    )


def never(seconds: float) -> None:
    """A ``sleep`` for sends that must not retry."""
    pytest.fail(f"retried after {seconds} s")


def message_for(report: Path, **options: Any) -> EmailMessage:
    return compose(report, recipients=[TO], sender=SENDER, **options)


def html_body(message: EmailMessage) -> BeautifulSoup:
    return BeautifulSoup(message.get_body(("html",)).get_content(), "html.parser")


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return list(message.iter_attachments())
