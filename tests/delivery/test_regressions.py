"""Regression tests named after what broke in scheduled delivery (one per report).

Each one failed on the code before exactly-once delivery; the docstring says how. Faults
are simulated at the exact SMTP step (smtplib's methods raising SystemExit or
KeyboardInterrupt, a real SIGTERM), then the next ``run-due`` runs and the test counts
what the server received for each recipient.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import smtplib
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import load_config
from reportgen.delivery.run import run_due

from .delivery_support import (
    DIRECTOR,
    NOW,
    OLD_SCHEMA,
    W47,
    ledger_rows,
    outcomes,
    run_due_at_now,
    shop,
    weekly,
    write_config,
)


def test_issue_test_send_swallowed_the_scheduled_delivery(tmp_path, make_db, smtp, fast_build):
    """`send --to me` recorded W47 as sent; run-due then never sent it to the director."""
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    test = CliRunner().invoke(
        main,
        [
            *("send", "weekly-director", "--period", "2026-W47"),
            *("--config", str(config), "--to", "me@example.com"),
        ],
    )
    assert test.exit_code == 0, test.output

    summary = run_due(load_config(config), now=NOW)

    assert outcomes(summary) == [("2026-W47", "sent")]
    assert smtp.received() == {"me@example.com": 1, DIRECTOR: 1}
    rows = ledger_rows(config)
    assert [(r["purpose"], r["status"]) for r in rows] == [("test", "sent"), ("scheduled", "sent")]


def test_issue_killed_while_quit_was_pending_sent_a_second_copy(
    tmp_path, make_db, smtp, fast_build, monkeypatch
):
    """The row was `built` until after QUIT; a run killed there sent the period again."""
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())

    def killed(self):
        raise SystemExit("killed while QUIT is pending")

    with monkeypatch.context() as patch:
        patch.setattr(smtplib.SMTP, "quit", killed)
        with pytest.raises(SystemExit):
            run_due(load_config(config), now=NOW)
    assert smtp.received() == {DIRECTOR: 1}

    summary = run_due(load_config(config), now=NOW)

    assert summary.outcomes == []
    assert smtp.received() == {DIRECTOR: 1}
    (row,) = ledger_rows(config)
    assert row["status"] == "sent"
    assert row["finished_at"]


def test_issue_sigterm_while_quit_was_pending_sent_a_second_copy(
    tmp_path, make_db, smtp, fast_build
):
    """The same with a real SIGTERM to a run-due process waiting for QUIT's reply."""
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    folder = fast_build(load_config(config), W47, ["carts"])
    stall = (
        "import smtplib, time\n"
        "def stalled(self):\n"
        "    print('quit', flush=True); time.sleep(300)\n"
        "smtplib.SMTP.quit = stalled\n"
    )
    process = run_due_at_now(config, folder, stall)
    assert process.stdout.readline().strip() == "quit", process.stdout.read()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == -signal.SIGTERM
    assert smtp.received() == {DIRECTOR: 1}

    summary = run_due(load_config(config), now=NOW)

    assert summary.outcomes == []
    assert smtp.received() == {DIRECTOR: 1}


def test_issue_one_refused_recipient_made_everyone_get_it_again(
    tmp_path, make_db, smtp, fast_build
):
    """A 550 for one address failed the row; every run re-sent to everyone."""
    gone = "gone@example.com"
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly(DIRECTOR, gone))
    smtp.rcpt_replies[gone] = ["550 5.1.1 no such user"] * 10

    first = run_due(load_config(config), now=NOW)
    later = [run_due(load_config(config), now=NOW + timedelta(minutes=5 * n)) for n in (1, 2)]

    assert smtp.received() == {DIRECTOR: 1}
    assert first.failed
    assert "gone@example.com (550 5.1.1 no such user)" in first.outcomes[0].detail
    assert "not retried" in first.outcomes[0].detail
    assert [s.outcomes for s in later] == [[], []]


def test_issue_a_recipient_refused_for_now_got_everyone_a_second_copy(
    tmp_path, make_db, smtp, fast_build
):
    """A 450 for one address: the next run sent to all recipients again."""
    busy = "busy@example.com"
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly(DIRECTOR, busy))
    smtp.rcpt_replies[busy] = ["450 4.2.1 mailbox busy"] * 2  # both tries of the first run

    first = run_due(load_config(config), now=NOW)
    assert first.failed
    assert smtp.received() == {DIRECTOR: 1}

    second = run_due(load_config(config), now=NOW + timedelta(minutes=5))

    assert outcomes(second) == [("2026-W47", "sent")]
    assert smtp.received() == {DIRECTOR: 1, busy: 1}
    assert [e.rcpt_tos for e in smtp.envelopes] == [[DIRECTOR], [busy]]
    # The one who waited got the same report and the same message.
    first_pdf, second_pdf = (m.get_payload()[-1].get_payload(decode=True) for m in smtp.messages)
    assert first_pdf == second_pdf
    assert smtp.messages[0]["Message-ID"] == smtp.messages[1]["Message-ID"]


def test_issue_a_timeout_after_data_delivered_the_message_again(
    tmp_path, make_db, smtp, fast_build
):
    """No reply to DATA within the timeout: retried at once, so the server got it twice."""
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly(), smtp=", timeout: 1")
    fast_build(load_config(config), W47, ["carts"])
    smtp.data_delay = 2.5

    first = run_due(load_config(config), now=NOW)

    assert smtp.received() == {DIRECTOR: 1}
    assert outcomes(first) == [("2026-W47", "possibly_sent")]
    assert first.failed
    smtp.data_delay = 0
    second = run_due(load_config(config), now=NOW + timedelta(minutes=5))
    assert smtp.received() == {DIRECTOR: 1}
    assert outcomes(second) == [("2026-W47", "possibly_sent")]
    assert second.failed  # said on every run until an operator decides


def test_issue_a_kill_after_the_data_reply_was_read_sent_it_again(
    tmp_path, make_db, smtp, fast_build, monkeypatch
):
    """Killed after the 250 arrived but before the ledger recorded it: possibly sent, held;
    `reportgen send` re-sends it on purpose with the same Message-ID."""
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    data = smtplib.SMTP.data

    def data_then_killed(self, msg):
        data(self, msg)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(smtplib.SMTP, "data", data_then_killed)
        with pytest.raises(KeyboardInterrupt):
            run_due(load_config(config), now=NOW)

    held = run_due(load_config(config), now=NOW + timedelta(minutes=5))

    assert smtp.received() == {DIRECTOR: 1}
    assert outcomes(held) == [("2026-W47", "possibly_sent")]
    assert "reportgen send weekly-director --period 2026-W47" in held.outcomes[0].detail
    assert held.failed
    resend = CliRunner().invoke(
        main, ["send", "weekly-director", "--period", "2026-W47", "--config", str(config)]
    )
    assert resend.exit_code == 0, resend.output
    assert smtp.received() == {DIRECTOR: 2}
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_payload()[-1].get_payload(decode=True) == (
        second.get_payload()[-1].get_payload(decode=True)
    )
    after = run_due(load_config(config), now=NOW + timedelta(minutes=10))
    assert after.outcomes == []
    assert not after.failed


def test_a_run_killed_before_data_is_sent_by_the_next_run(
    tmp_path, make_db, smtp, fast_build, monkeypatch
):
    """Killed during RCPT: nothing reached the server, so the next run sends it, once."""
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())

    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(smtplib.SMTP, "rcpt", killed)
        with pytest.raises(KeyboardInterrupt):
            run_due(load_config(config), now=NOW)
    assert smtp.received() == {}

    summary = run_due(load_config(config), now=NOW + timedelta(minutes=5))

    assert outcomes(summary) == [("2026-W47", "sent")]
    assert smtp.received() == {DIRECTOR: 1}


class Trickle:
    """A server that greets with ``220-`` continuation lines, one every ``every`` seconds."""

    def __init__(self, every: float = 0.5, lines: int = 60) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.every, self.lines = every, lines
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                for n in range(self.lines):
                    conn.sendall(f"220-still saying hello ({n})\r\n".encode())
                    time.sleep(self.every)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


def test_issue_a_trickling_server_hung_run_due(tmp_path, make_db, fast_build):
    """220- lines one per half second never trip a 1 s read timeout: no overall deadline."""
    trickle = Trickle()
    try:
        config = write_config(
            tmp_path,
            shop(make_db),
            trickle.port,
            weekly(),
            smtp=", timeout: 1, deadline_seconds: 2",
            retries=0,
        )
        fast_build(load_config(config), W47, ["carts"])
        started = time.monotonic()

        summary = run_due(load_config(config), now=NOW)

        assert time.monotonic() - started < 10
    finally:
        trickle.close()
    assert outcomes(summary) == [("2026-W47", "failed")]
    assert "did not finish within 2 s" in summary.outcomes[0].detail
    assert trickle.connections == 1


def test_issue_a_hung_run_due_made_every_later_run_exit_0(tmp_path, make_db):
    """A run holding the lock for hours was taken for one in progress, forever."""
    config = write_config(tmp_path, shop(make_db), 25, weekly())
    output = tmp_path / "reports"
    output.mkdir()
    since = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    with open(output / ".run-due.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        stamp = since.isoformat().replace("+00:00", "Z")
        lock.write(json.dumps({"pid": os.getpid(), "started_at": stamp}) + "\n")
        lock.flush()

        result = CliRunner().invoke(main, ["run-due", "--config", str(config)])
        waiting = CliRunner().invoke(main, ["run-due", "--config", str(config), "--wait"])

    assert waiting.exit_code == 1, waiting.output  # --wait does not wait for a hung run
    assert result.exit_code == 1, result.output
    assert f"run-due pid {os.getpid()} has held the lock since {stamp}" in result.output
    assert "it may be hung" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_issue_one_future_dated_row_made_every_period_fresh(tmp_path, make_db, smtp, fast_build):
    """An order dated 9999-12-31 was the newest timestamp, so data short of W47 passed."""
    future = [("o-future", "u1", "9999-12-31 00:00:00", None)]
    db = shop(make_db, last=date(2026, 11, 20), orders=future)
    config = write_config(tmp_path, db, smtp.port, weekly())

    summary = run_due(load_config(config), now=NOW)

    assert outcomes(summary) == [("2026-W47", "skipped")]
    assert smtp.received() == {}
    detail = summary.outcomes[0].detail
    assert "1 row dated after the run's clock was ignored (orders: 1)" in detail
    (row,) = ledger_rows(config)
    assert json.loads(row["data_fingerprint"])["orders"]["beyond_clock"] == 1


def test_issue_a_held_period_wrote_a_ledger_row_every_poll(tmp_path, make_db, smtp):
    """Every 5-minute poll of a held period added a row: 288 a day."""
    config = write_config(tmp_path, shop(make_db, last=date(2026, 11, 20)), smtp.port, weekly())

    for n in range(3):
        summary = run_due(load_config(config), now=NOW + timedelta(minutes=5 * n))
        assert outcomes(summary) == [("2026-W47", "skipped")]

    (row,) = ledger_rows(config)
    assert row["status"] == "skipped"
    assert row["checks"] == 3
    assert row["checked_at"] >= row["started_at"]


def test_issue_data_ending_on_the_last_evening_was_held_forever(
    tmp_path, make_db, smtp, fast_build
):
    """The newest cart at Sunday 23:59 is short of the week's end (Monday 00:00): held."""
    last = [("c-late", "u1", "2026-11-22 23:59:00", "abandoned")]
    db = shop(make_db, last=date(2026, 11, 21), carts=last)
    config = write_config(tmp_path, db, smtp.port, weekly())

    summary = run_due(load_config(config), now=NOW)

    assert outcomes(summary) == [("2026-W47", "sent")]
    assert smtp.received() == {DIRECTOR: 1}


def test_issue_the_demo_data_was_never_fresh(tmp_path, monkeypatch):
    """The demo's data ends at 30 Nov 23:5x: November's report was held on every poll."""
    from reportgen.demo.shop import generate_demo
    from reportgen.errors import SourceError

    generate_demo(tmp_path / "demo.sqlite", scale=0.02, months=1, end=date(2026, 12, 1))
    config = tmp_path / "demo.yaml"
    config.write_text(
        f"source: {{url: 'sqlite:///{tmp_path / 'demo.sqlite'}'}}\n"
        "report: {output: reports}\n"
        "schedules:\n  monthly:\n    period: month\n    due: 1 07:00\n"
    )

    def build_reached(*args, **kwargs):
        raise SourceError("the freshness gate let it through")

    import reportgen.report.build as build

    monkeypatch.setattr(build, "build_report", build_reached)
    summary = run_due(load_config(config), now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC))

    assert [(o.period, o.status, o.detail) for o in summary.outcomes] == [
        ("2026-11", "failed", "the freshness gate let it through")
    ]


def test_issue_without_schedules_print_cron_installed_a_failing_job(tmp_path, make_db):
    """No schedule: run-due exited 1 while `schedule --print-cron` printed a line for it."""
    config = tmp_path / "shop.yaml"
    config.write_text(f"source: {{url: 'sqlite:///{make_db()}'}}\nreport: {{output: reports}}\n")

    results = [
        CliRunner().invoke(main, [*command, "--config", str(config)])
        for command in (["run-due"], ["schedule", "--print-cron"], ["schedule", "--print-systemd"])
    ]

    for result in results:
        assert result.exit_code == 1, result.output
        assert result.output.strip() == (
            f"Error: {config}: schedules: no schedule is configured; add one "
            "(docs/delivery.md) before running or installing run-due"
        )


def test_issue_a_manual_build_during_run_due_changed_what_a_resend_sends(
    tmp_path, make_db, smtp, fast_build, monkeypatch
):
    """A build published between run-due's build and its email: the ledger pointed at a PDF
    other than the one emailed, so a re-send was not byte for byte."""
    import reportgen.report.build as build

    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    copy = build.build_report

    def raced(config, period, **options):
        built = copy(config, period, **options)
        copy(config, period, **options)  # a manual `reportgen build` publishes in between
        return built

    with monkeypatch.context() as patch:
        patch.setattr(build, "build_report", raced)
        assert outcomes(run_due(load_config(config), now=NOW)) == [("2026-W47", "sent")]
    copy(load_config(config), W47, sections=["carts"])  # and another one later

    resend = CliRunner().invoke(
        main, ["send", "weekly-director", "--period", "2026-W47", "--config", str(config)]
    )

    assert resend.exit_code == 0, resend.output
    emailed, resent = (m.get_payload()[-1].get_payload(decode=True) for m in smtp.messages)
    assert resent == emailed
    live = tmp_path / "reports/week/2026-W47/report.pdf"
    assert live.read_bytes() != emailed  # the emailed one lives under history/ now
    import hashlib

    sent_rows = [r for r in ledger_rows(config) if r["status"] == "sent"]
    assert {r["pdf_sha256"] for r in sent_rows} == {hashlib.sha256(emailed).hexdigest()}


def test_issue_an_old_ledger_row_left_built_was_sent_again(tmp_path, make_db, smtp, fast_build):
    """A ledger written before this change: W47 was left `built` (killed around the send).
    It opens, gains the new columns, and W47 is not sent again without an operator."""
    import sqlite3

    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    (tmp_path / "reports").mkdir()
    with sqlite3.connect(tmp_path / "reports/ledger.sqlite") as db:
        db.executescript(OLD_SCHEMA)

    summary = run_due(load_config(config), now=NOW)

    assert smtp.received() == {}
    assert outcomes(summary) == [("2026-W47", "possibly_sent")]
    rows = ledger_rows(config)
    assert [(r["period"], r["purpose"], r["status"]) for r in rows] == [
        ("2026-W46", "scheduled", "sent"),
        ("2026-W47", "scheduled", "possibly_sent"),
    ]
