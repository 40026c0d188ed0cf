"""run-due and data alerts: a report whose data is broken is held like stale data (or sent
with the alerts in its banner), and a held period is not rebuilt while its data is the same."""

from __future__ import annotations

from datetime import UTC, datetime

from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import load_config
from reportgen.delivery.run import run_due

from .delivery_support import DIRECTOR, ledger_rows, outcomes, shop, weekly, write_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday: 2026-W47 is due
BROKEN = [(f"bad{n}", "u1", "n/a (export error)", "abandoned") for n in range(10)]
"""Ten carts whose created_at cannot be read: far above 0.5% of a shop of ~70 carts."""


def _config(tmp_path, make_db, smtp, freshness: str):
    db = shop(make_db, carts=BROKEN)
    return write_config(tmp_path, db, smtp.port, weekly(), f"  freshness: {freshness}\n"), db


def test_a_report_with_data_alerts_is_held_and_not_rebuilt_each_poll(tmp_path, make_db, smtp):
    config, _ = _config(tmp_path, make_db, smtp, "hold")
    first = run_due(load_config(config), now=NOW)
    assert outcomes(first) == [("2026-W47", "skipped")]
    assert "data alerts: 10 of" in first.outcomes[0].detail
    assert "unreadable created_at" in first.outcomes[0].detail
    assert smtp.messages == []
    report = tmp_path / "reports" / "week" / "2026-W47" / "report.html"
    assert report.is_file()  # archived, with its banner, but not sent
    built = report.stat().st_mtime_ns

    # The next poll: same data, same alerts: one ledger row, checked twice, no new build.
    second = run_due(load_config(config), now=NOW)
    assert outcomes(second) == [("2026-W47", "skipped")]
    rows = [r for r in ledger_rows(config) if r["period"] == "2026-W47"]
    assert [(r["status"], r["checks"]) for r in rows] == [("skipped", 2)]
    assert report.stat().st_mtime_ns == built
    assert smtp.messages == []


def test_banner_mode_sends_the_report_with_its_alerts(tmp_path, make_db, smtp):
    config, _ = _config(tmp_path, make_db, smtp, "banner")
    summary = run_due(load_config(config), now=NOW)
    assert outcomes(summary) == [("2026-W47", "sent")]
    (message,) = smtp.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Data alerts: 10 of" in text
    assert message["To"] == DIRECTOR


def test_run_due_says_what_it_does_as_each_stage_finishes(tmp_path, make_db, smtp, monkeypatch):
    db = shop(make_db)
    config = write_config(tmp_path, db, smtp.port, weekly())
    import reportgen.delivery.run as run

    real = run.run_due
    monkeypatch.setattr(run, "run_due", lambda *a, **k: real(*a, **{**k, "now": NOW}))
    result = CliRunner().invoke(main, ["run-due", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    stages = [line for line in lines if " done in " in line]
    assert any("run-due: weekly-director 2026-W47 queries done in" in line for line in stages)
    assert any("weekly-director 2026-W47 send done in" in line for line in stages)
    assert lines[-1].startswith("weekly-director 2026-W47: sent to director@example.com")
