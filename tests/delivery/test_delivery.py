"""Scheduled delivery end to end: a real SMTP server (aiosmtpd), real builds, the ledger.

Covers the issue's list: catch-up of missed weeks in order, two run-due at once sending
each period once, a run killed mid-build and the next one completing it, a 5xx recorded
as failed, the freshness gate, re-sending the archived PDF byte for byte, and a schedule
in Europe/London across the October DST change firing once, for the right week.
"""

from __future__ import annotations

import email
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import load_config
from reportgen.delivery.run import run_due
from reportgen.delivery.schedules import due_at, waiting_periods
from reportgen.periods import week_period

from .delivery_support import WEEKLY, ledger_rows, record_sent, shop_rows, write_config

ROOT = Path(__file__).resolve().parents[2]


def test_missed_weeks_are_caught_up_oldest_first_and_never_twice(tmp_path, make_db, smtp):
    db = make_db(**shop_rows(date(2026, 10, 4), date(2026, 11, 3)))
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    record_sent(config, "weekly-director", "2026-W42", "2026-10-12")
    # Tuesday 3 November 2026: W43 was missed (W44 is due on Monday the 2nd, but its data
    # ends on the 3rd, so it is complete too).
    now = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    summary = run_due(load_config(config), now=now)
    assert [(o.period, o.status) for o in summary.outcomes] == [
        ("2026-W43", "sent"),
        ("2026-W44", "sent"),
    ]
    assert smtp.subjects() == [f"Shop weekly — 2026-W{n}" for n in (43, 44)]
    pdf = smtp.messages[0].get_payload()[-1]
    assert pdf.get_content_type() == "application/pdf"
    archived = tmp_path / "reports/week/2026-W43/report.pdf"
    assert pdf.get_payload(decode=True) == archived.read_bytes()
    # The archive's index lists them; each report links to its neighbours.
    index = (tmp_path / "reports/index.html").read_text()
    for week in ("2026-W43", "2026-W44"):
        assert f"week/{week}/report.html" in index
    page = (tmp_path / "reports/week/2026-W43/report.html").read_text()
    assert "2026-W42/report.html" not in page  # never built: no link to it
    assert 'href="../2026-W44/report.html"' in page
    # A second run finds nothing to do.
    assert run_due(load_config(config), now=now).outcomes == []
    assert len(smtp.messages) == 2
    sent = [r["period"] for r in ledger_rows(config) if r["status"] == "sent"]
    assert sent == ["2026-W42", "2026-W43", "2026-W44"]


def test_a_5xx_is_recorded_as_failed_not_retried_and_exits_non_zero(
    tmp_path, make_db, smtp, fast_build
):
    today = datetime.now(UTC).date()
    db = make_db(**shop_rows(today - timedelta(days=30), today))
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    smtp.reply = "550 5.1.1 mailbox unavailable"
    result = CliRunner().invoke(main, ["run-due", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "failed" in result.output
    assert "550" in result.output
    rows = ledger_rows(config)
    assert [r["status"] for r in rows] == ["failed"]
    assert "550" in rows[0]["smtp_response"]
    assert (tmp_path / "reports/week").is_dir()  # the report is archived all the same


def test_stale_data_is_held_and_recorded_as_skipped(tmp_path, make_db, smtp):
    db = make_db(**shop_rows(date(2026, 10, 1), date(2026, 10, 24)))  # ends before W43 does
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    now = datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    summary = run_due(load_config(config), now=now)
    assert [(o.period, o.status) for o in summary.outcomes] == [("2026-W43", "skipped")]
    assert "data incomplete" in summary.outcomes[0].detail
    assert smtp.messages == []
    assert not (tmp_path / "reports/week/2026-W43").exists()


def test_resending_sends_the_archived_pdf_byte_for_byte(tmp_path, make_db, smtp, fast_build):
    db = make_db(**shop_rows(date(2026, 10, 1), date(2026, 11, 3)))
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    first = CliRunner().invoke(
        main, ["send", "weekly-director", "--period", "2026-W43", "--config", str(config)]
    )
    assert first.exit_code == 0, first.output
    pdf = tmp_path / "reports/week/2026-W43/report.pdf"
    built = pdf.stat().st_mtime_ns
    again = CliRunner().invoke(
        main,
        [
            "send",
            "weekly-director",
            "--period",
            "2026-W43",
            "--config",
            str(config),
            "--to",
            "me@example.com",
        ],
    )
    assert again.exit_code == 0, again.output
    assert pdf.stat().st_mtime_ns == built  # not rebuilt
    first_pdf, second_pdf = (m.get_payload()[-1].get_payload(decode=True) for m in smtp.messages)
    assert first_pdf == second_pdf == pdf.read_bytes()
    assert str(smtp.messages[1]["To"]) == "me@example.com"


def test_dry_run_writes_the_email_into_the_archive(tmp_path, make_db, smtp, fast_build):
    db = make_db(**shop_rows(date(2026, 10, 1), date(2026, 11, 3)))
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    result = CliRunner().invoke(
        main,
        ["send", "weekly-director", "--period", "2026-W43", "--config", str(config), "--dry-run"],
    )
    assert result.exit_code == 0, result.output
    written = list((tmp_path / "reports/week/2026-W43/outbox").glob("*.eml"))
    assert len(written) == 1
    assert email.message_from_bytes(written[0].read_bytes())["To"] == "director@example.com"
    assert smtp.messages == []
    assert [r["status"] for r in ledger_rows(config)] == ["built"]


def test_london_schedule_across_the_october_change_fires_once_for_the_right_week(tmp_path, make_db):
    db = make_db(**shop_rows(date(2026, 10, 1), date(2026, 11, 3)))
    config = load_config(write_config(tmp_path, db, 25, WEEKLY))
    schedule = config.schedules["weekly-director"]
    # Clocks go back on Sunday 25 October 2026: W42 is due 07:00 BST (06:00 UTC), W43
    # 07:00 GMT (07:00 UTC).
    assert due_at(schedule, week_period("2026-W42", "Europe/London")) == datetime(
        2026, 10, 19, 6, 0, tzinfo=UTC
    )
    assert due_at(schedule, week_period("2026-W43", "Europe/London")) == datetime(
        2026, 10, 26, 7, 0, tzinfo=UTC
    )
    # A run every 5 minutes from Saturday to Tuesday, with W42 already delivered.
    delivered = {"2026-W42": "2026-10-12"}
    fired = []
    now = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    while now < datetime(2026, 10, 27, 0, 0, tzinfo=UTC):
        for period in waiting_periods(config, "weekly-director", now, delivered):
            fired.append((now, period.label))
            delivered[period.label] = period.start.isoformat()
        now += timedelta(minutes=5)
    assert fired == [(datetime(2026, 10, 26, 7, 0, tzinfo=UTC), "2026-W43")]


def _run_due_process(config: Path, *, patch: str = "") -> subprocess.Popen:
    code = (
        "import sys\n" + patch + "from reportgen.cli import main\n"
        "main(['run-due', '--config', sys.argv[1]])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_two_runs_at_once_send_each_period_once(tmp_path, make_db, smtp, fast_build):
    today = datetime.now(UTC).date()
    db = make_db(**shop_rows(today - timedelta(days=40), today))
    schedule = WEEKLY + "    catch_up_from: " + _iso_week(today - timedelta(days=21)) + "\n"
    config = write_config(tmp_path, db, smtp.port, schedule)
    latest = week_period(_iso_week(today - timedelta(days=7)), "Europe/London")
    folder = fast_build(load_config(config), latest)
    # A build of a second each, so the two runs overlap.
    copies = (
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        f"import delivery_support; delivery_support.install_copy_build({str(folder)!r}, 1.0)\n"
    )
    first, second = (_run_due_process(config, patch=copies) for _ in range(2))
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    subjects = smtp.subjects()
    assert len(subjects) == len(set(subjects)) >= 2, (subjects, outputs)
    sent = [r["period"] for r in ledger_rows(config) if r["status"] == "sent"]
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == len(subjects)
    assert any("another run-due is in progress" in out for out in outputs), outputs


def test_a_run_killed_mid_build_sends_nothing_and_the_next_run_completes(
    tmp_path, make_db, smtp, fast_build
):
    today = datetime.now(UTC).date()
    db = make_db(**shop_rows(today - timedelta(days=30), today))
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    stall = (
        "import time, reportgen.report.build as b\n"
        "def stalled(*a, **k):\n"
        "    print('building', flush=True); time.sleep(300)\n"
        "b.build_report = stalled\n"
    )
    process = _run_due_process(config, patch=stall)
    assert process.stdout.readline().strip() == "building"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    rows = ledger_rows(config)
    assert [r["status"] for r in rows] == ["building"]
    assert smtp.messages == []
    assert not list((tmp_path / "reports").glob("week/*/report.pdf"))

    result = CliRunner().invoke(main, ["run-due", "--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = ledger_rows(config)
    assert [(r["attempt"], r["status"]) for r in rows] == [(1, "failed"), (2, "sent")]
    assert rows[0]["error"] == "interrupted while building: nothing was sent"
    assert len(smtp.messages) == 1


def test_history_prints_the_ledger_as_a_table_and_as_json(tmp_path, make_db, smtp, fast_build):
    db = make_db(**shop_rows(date(2026, 10, 1), date(2026, 11, 3)))
    config = write_config(tmp_path, db, smtp.port, WEEKLY)
    run_due(load_config(config), now=datetime(2026, 11, 3, 12, 0, tzinfo=UTC))
    table = CliRunner().invoke(main, ["history", "--config", str(config)])
    assert table.exit_code == 0, table.output
    assert "weekly-director  2026-W44" in table.output
    assert "sent" in table.output
    as_json = CliRunner().invoke(main, ["history", "--config", str(config), "--json"])
    rows = json.loads(as_json.output)
    assert rows[0]["status"] == "sent"
    assert rows[0]["recipients"] == "director@example.com"
    assert json.loads(rows[0]["data_fingerprint"])["carts"]["newest"].startswith("2026-11-03")


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def test_cron_and_systemd_lines_run_run_due_with_the_config(tmp_path, make_db):
    db = make_db(**shop_rows(date(2026, 10, 1), date(2026, 10, 2)))
    config = write_config(tmp_path, db, 25, WEEKLY)
    cron = CliRunner().invoke(main, ["schedule", "--config", str(config), "--print-cron"])
    assert cron.output.startswith("*/5 * * * * ")
    assert f"run-due --config {config.resolve()}" in cron.output
    unit = CliRunner().invoke(main, ["schedule", "--config", str(config), "--print-systemd"])
    assert "OnCalendar=*:0/5" in unit.output
    assert "ExecStart=" in unit.output
    listing = CliRunner().invoke(main, ["schedule", "--config", str(config)])
    assert "weekly-director: week report due monday 07:00 Europe/London" in listing.output
