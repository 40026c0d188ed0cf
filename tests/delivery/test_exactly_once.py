"""The delivery guarantees docs/delivery.md states, each against a real SMTP server: what a
possibly-sent message becomes under each rule, the operator's ways out, the run deadline,
per-recipient records, old ledgers, and the freshness rule worked by hand."""

from __future__ import annotations

import json
import signal
import smtplib
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import config_from_dict, load_config
from reportgen.delivery.freshness import data_fingerprint, stale_data
from reportgen.delivery.ledger import Ledger
from reportgen.delivery.run import run_due
from reportgen.periods import month_period, week_period

from .delivery_support import (
    DIRECTOR,
    NOW,
    OLD_SCHEMA,
    W47,
    ledger_rows,
    outcomes,
    run_due_at_now,
    shop,
    shop_rows,
    weekly,
    write_config,
)


def _possibly_sent(config, monkeypatch) -> None:
    """Run W47's delivery and kill it the moment DATA's reply was read."""
    data = smtplib.SMTP.data

    def data_then_killed(self, msg):
        data(self, msg)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(smtplib.SMTP, "data", data_then_killed)
        with pytest.raises(KeyboardInterrupt):
            run_due(load_config(config), now=NOW)


def test_possibly_sent_resend_sends_it_again_with_the_same_message_id(
    tmp_path, make_db, smtp, fast_build, monkeypatch
):
    config = write_config(
        tmp_path, shop(make_db), smtp.port, weekly(), extra="  possibly_sent: resend\n"
    )
    _possibly_sent(config, monkeypatch)

    again = run_due(load_config(config), now=NOW + timedelta(minutes=5))

    assert outcomes(again) == [("2026-W47", "sent")]
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith("<2026-W47.weekly-director.")
    assert run_due(load_config(config), now=NOW + timedelta(minutes=10)).outcomes == []


def test_mark_sent_clears_a_held_period_and_says_what_it_did(
    tmp_path, make_db, smtp, fast_build, monkeypatch
):
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    _possibly_sent(config, monkeypatch)
    mark = ["history", "--config", str(config), "--report", "weekly-director"]
    mark += ["--period", "2026-W47", "--mark-sent"]

    marked = CliRunner().invoke(main, mark)

    assert marked.exit_code == 0, marked.output
    assert marked.output == f"weekly-director 2026-W47: marked sent to {DIRECTOR}\n"
    after = run_due(load_config(config), now=NOW + timedelta(minutes=5))
    assert (after.outcomes, after.failed) == ([], False)
    assert smtp.received() == {DIRECTOR: 1}
    (row,) = ledger_rows(config)
    assert row["status"] == "sent"
    twice = CliRunner().invoke(main, mark)
    assert twice.exit_code == 1
    assert twice.output.startswith(
        "Error: weekly-director 2026-W47: nothing is recorded as possibly sent"
    )
    alone = CliRunner().invoke(main, ["history", "--config", str(config), "--mark-sent"])
    assert alone.exit_code == 2
    assert "--mark-sent needs --report and --period" in alone.output


def test_a_sigkill_after_data_leaves_it_possibly_sent(tmp_path, make_db, smtp, fast_build):
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    folder = fast_build(load_config(config), W47, ["carts"])
    stall = (
        "import smtplib, time\n"
        "data = smtplib.SMTP.data\n"
        "def stalled(self, msg):\n"
        "    data(self, msg); print('replied', flush=True); time.sleep(300)\n"
        "smtplib.SMTP.data = stalled\n"
    )
    process = run_due_at_now(config, folder, stall)
    assert process.stdout.readline().strip() == "replied", process.stdout.read()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert [r["status"] for r in ledger_rows(config)] == ["transmitting"]

    result = CliRunner().invoke(main, ["run-due", "--config", str(config)])

    assert result.exit_code == 1
    assert "weekly-director 2026-W47: possibly_sent possibly sent to director@" in result.output
    assert smtp.received() == {DIRECTOR: 1}
    (row,) = [r for r in ledger_rows(config) if r["period"] == "2026-W47"]
    assert row["status"] == "possibly_sent"
    assert row["error"] == "interrupted after DATA was issued: possibly sent"


def test_no_delivery_starts_after_the_run_deadline(tmp_path, make_db, smtp, fast_build):
    schedule = weekly(extra="    catch_up_from: 2026-W46\n")
    config = write_config(tmp_path, shop(make_db), smtp.port, schedule)
    ticks = iter([0.0, 10.0, 31 * 60.0])  # start, before W46, before W47 (past 30 min)

    summary = run_due(load_config(config), now=NOW, clock=lambda: next(ticks))

    assert outcomes(summary) == [("2026-W46", "sent"), ("2026-W47", "postponed")]
    assert "the next run delivers it" in summary.outcomes[1].detail
    assert not summary.failed
    following = run_due(load_config(config), now=NOW)
    assert outcomes(following) == [("2026-W47", "sent")]


def test_history_shows_purpose_and_each_recipients_state(tmp_path, make_db, smtp, fast_build):
    gone = "gone@example.com"
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly(DIRECTOR, gone))
    smtp.rcpt_replies[gone] = ["550 5.1.1 no such user"]
    run_due(load_config(config), now=NOW)

    table = CliRunner().invoke(main, ["history", "--config", str(config)])
    as_json = CliRunner().invoke(main, ["history", "--config", str(config), "--json"])

    assert table.exit_code == 0, table.output
    header, line = table.output.splitlines()
    assert header.split() == [
        *("report", "period", "attempt", "purpose", "status"),
        *("built_at", "finished_at", "detail"),
    ]
    assert line.split()[:5] == ["weekly-director", "2026-W47", "1", "scheduled", "partly_sent"]
    assert f"{DIRECTOR} accepted; {gone} refused" in line
    (row,) = json.loads(as_json.output)
    assert [(a["address"], a["status"], a["code"]) for a in row["addresses"]] == [
        (DIRECTOR, "accepted", 250),
        (gone, "refused", 550),
    ]
    assert row["addresses"][1]["reply"] == "550 5.1.1 no such user"
    assert len(row["pdf_sha256"]) == 64
    assert row["message_id"] == str(smtp.messages[0]["Message-ID"])


def test_a_test_send_has_its_own_message_id(tmp_path, make_db, smtp, fast_build):
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    run_due(load_config(config), now=NOW)

    test = CliRunner().invoke(
        main,
        [
            *("send", "weekly-director", "--period", "2026-W47"),
            *("--config", str(config), "--to", "me@example.com"),
        ],
    )

    assert test.exit_code == 0, test.output
    scheduled, tested = smtp.messages
    assert scheduled["Message-ID"] != tested["Message-ID"]
    assert str(tested["To"]) == "me@example.com"
    pdfs = [m.get_payload()[-1].get_payload(decode=True) for m in smtp.messages]
    assert pdfs[0] == pdfs[1]


def test_a_resend_of_a_delivered_period_goes_to_everyone_again(tmp_path, make_db, smtp, fast_build):
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    run_due(load_config(config), now=NOW)

    again = CliRunner().invoke(
        main, ["send", "weekly-director", "--period", "2026-W47", "--config", str(config)]
    )

    assert again.exit_code == 0, again.output
    assert "sent again (every recipient had it)" in again.output
    assert smtp.received() == {DIRECTOR: 2}
    assert [r["purpose"] for r in ledger_rows(config)] == ["scheduled", "resend"]


def test_a_resend_whose_pdf_is_gone_says_so_and_rebuild_sends_a_new_one(
    tmp_path, make_db, smtp, fast_build
):
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    run_due(load_config(config), now=NOW)
    (tmp_path / "reports/week/2026-W47/report.pdf").unlink()
    command = ["send", "weekly-director", "--period", "2026-W47", "--config", str(config)]

    gone = CliRunner().invoke(main, command)
    rebuilt = CliRunner().invoke(main, [*command, "--rebuild"])

    assert gone.exit_code == 1
    assert "the PDF emailed for weekly-director 2026-W47 (SHA-256 " in gone.output
    assert "--rebuild` builds and sends a new one" in gone.output
    assert len(gone.output.strip().splitlines()) == 1
    assert rebuilt.exit_code == 0, rebuilt.output
    assert smtp.received() == {DIRECTOR: 2}


def test_a_schedule_without_recipients_is_archived_once(tmp_path, make_db, smtp, fast_build):
    schedule = weekly().replace("[director@example.com]", "[]")
    config = write_config(tmp_path, shop(make_db), smtp.port, schedule)

    first = run_due(load_config(config), now=NOW)
    second = run_due(load_config(config), now=NOW + timedelta(minutes=5))

    assert outcomes(first) == [("2026-W47", "built")]
    assert second.outcomes == []
    assert smtp.messages == []


def test_an_old_ledger_is_migrated_in_place(tmp_path, make_db, smtp, fast_build):
    path = tmp_path / "reports/ledger.sqlite"
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)

    for _ in range(2):  # opening it again changes nothing
        Ledger(path).close()

    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("pragma table_info(deliveries)")]
        recipients = db.execute(
            "select delivery_id, address, status from delivery_recipients"
        ).fetchall()
        purposes = db.execute("select purpose from deliveries").fetchall()
    assert columns[-5:] == ["purpose", "pdf_sha256", "message_id", "checks", "checked_at"]
    assert recipients == [(1, DIRECTOR, "accepted")]  # W46's sent row, as it was recorded
    assert purposes == [("scheduled",), ("scheduled",)]
    # W46 counts as delivered: the catch-up goes on from there.
    config = write_config(tmp_path, shop(make_db), smtp.port, weekly())
    with sqlite3.connect(path) as db:
        db.execute("delete from deliveries where period = '2026-W47'")
    summary = run_due(load_config(config), now=NOW)
    assert outcomes(summary) == [("2026-W47", "sent")]


# The freshness rule, worked by hand.


def fingerprint(newest: str | None, beyond: int = 0) -> dict:
    return {"carts": {"rows": 10, "newest": newest, "beyond_clock": beyond}}


@pytest.mark.parametrize(
    ("newest", "hours", "fresh"),
    [
        ("2026-11-22 00:00:00", 24, True),  # the first second of W47's last day (Sunday)
        ("2026-11-21 23:59:59", 24, False),  # Saturday night: the last day is missing
        ("2026-11-22 23:59:00", 0, False),  # 0 h: at or after the end (Monday 00:00)
        ("2026-11-23 00:00:00", 0, True),
        ("2026-11-20 12:00:00", 60, True),  # 60 h before Monday 00:00 is Friday 12:00
        (None, 24, False),
    ],
)
def test_fresh_means_the_data_reaches_the_periods_last_day(newest, hours, fresh):
    assert (stale_data(fingerprint(newest), W47, hours) is None) is fresh


def test_the_held_message_names_the_rule_and_the_rows_beyond_the_clock():
    reason = stale_data(fingerprint("2026-11-20 18:00:00", beyond=2), W47, 24)

    assert reason == (
        "data incomplete: the newest timestamps (carts 2026-11-20 18:00:00) are before "
        "2026-11-22 00:00:00 (24 h before the period end, delivery.fresh_within_hours); "
        "2 rows dated after the run's clock were ignored (carts: 2)"
    )


def test_rows_after_the_clock_are_counted_whatever_their_offset(tmp_path, make_db):
    carts = [
        ("a", "u1", "2026-11-24 08:00:00", "open"),  # local (UTC) time, before the clock
        ("b", "u1", "2026-11-24T23:30:00-05:00", "open"),  # 25 Nov 04:30 UTC: after it
        ("c", "u1", "2026-11-25 01:00:00 UTC", "open"),  # after it
        ("d", "u1", "9999-12-31", "open"),  # after it
        ("e", "u1", "not a time", "open"),
    ]
    db = make_db(carts=carts)
    config = config_from_dict({"source": {"url": f"sqlite:///{db}"}}, base_dir=tmp_path)

    found = data_fingerprint(config, datetime(2026, 11, 25, 0, 30, tzinfo=UTC))

    assert found["carts"] == {"rows": 5, "newest": "2026-11-24 08:00:00", "beyond_clock": 3}
    assert found["orders"] == {"rows": 0, "newest": None, "beyond_clock": 0}


def test_a_month_whose_data_ends_on_its_last_evening_is_fresh():
    november = month_period("2026-11", "UTC")
    assert stale_data(fingerprint("2026-11-30 23:05:09"), november, 24) is None
    assert stale_data(fingerprint("2026-11-29 23:05:09"), november, 24) is not None
    assert week_period("2026-W47", "Europe/London") == W47


def test_a_held_period_clears_once_the_data_arrives(tmp_path, make_db, smtp, fast_build):
    db = shop(make_db, last=date(2026, 11, 20))
    config = write_config(tmp_path, db, smtp.port, weekly())
    assert outcomes(run_due(load_config(config), now=NOW)) == [("2026-W47", "skipped")]
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "insert into carts values (?, ?, ?, ?)",
            [row for row in shop_rows(date(2026, 11, 21), date(2026, 11, 22))["carts"]],
        )

    summary = run_due(load_config(config), now=NOW + timedelta(minutes=5))

    assert outcomes(summary) == [("2026-W47", "sent")]
    assert [(r["status"], r["checks"]) for r in ledger_rows(config)] == [
        ("skipped", 1),
        ("sent", None),
    ]


CLOCK_CARTS = [
    ("a", "u1", "2026-11-24 08:00:00", "open"),
    ("b", "u1", "2026-11-24T23:30:00-05:00", "open"),
    ("c", "u1", "2026-11-25 01:00:00 UTC", "open"),
    ("d", "u1", "9999-12-31", "open"),
    ("e", "u1", "not a time", "open"),
]
CLOCK = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)


def _fingerprint(url: str, zone: str, tmp_path, **source) -> dict:
    data = {"source": {"url": url, **source}, "report": {"timezone": zone}}
    return data_fingerprint(config_from_dict(data, base_dir=tmp_path), CLOCK)


def _frames(db) -> dict:
    import pandas as pd

    with sqlite3.connect(db) as conn:
        return {
            name: pd.read_sql(f'select * from "{name}"', conn)
            for name in ("carts", "cart_items", "orders")
        }


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_the_fingerprint_reads_alike_on_duckdb(tmp_path, make_db, zone):
    import duckdb

    db = make_db(carts=CLOCK_CARTS)
    target = tmp_path / "shop.duckdb"
    with duckdb.connect(str(target)) as conn:
        for name, frame in _frames(db).items():
            conn.register("frame", frame)
            conn.execute(f'create table "{name}" as select * from frame')
            conn.unregister("frame")

    found = _fingerprint(f"duckdb:///{target}", zone, tmp_path)

    assert found == _fingerprint(f"sqlite:///{db}", zone, tmp_path)
    assert found["carts"]["beyond_clock"] == 3


def test_the_fingerprint_reads_alike_on_postgresql(tmp_path, make_db, postgres_url):
    import sqlalchemy as sa

    db = make_db(carts=CLOCK_CARTS)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("create schema if not exists delivery_clock")
    for name, frame in _frames(db).items():
        frame.to_sql(name, engine, schema="delivery_clock", index=False, if_exists="replace")
    engine.dispose()
    tables = {name: f"delivery_clock.{name}" for name in ("carts", "cart_items", "orders")}

    found = _fingerprint(postgres_url, "Asia/Tokyo", tmp_path, tables=tables)

    assert found == _fingerprint(f"sqlite:///{db}", "Asia/Tokyo", tmp_path)
    assert found["carts"]["beyond_clock"] == 3
