"""Bad event input through the CLI: a clear line and nothing written, or a correct report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from conftest import assert_clean_failure
from reportgen.cli import main

HEADER = "event_time,event_type,product_id,category_code,brand,price,user_id,user_session\n"


def build(config: Path, *period: str):
    return CliRunner().invoke(main, ["build", "--config", str(config), *period, "--no-pdf"])


def write_config(tmp_path: Path, files: str, columns: str = "{session_id: user_session}") -> Path:
    config = tmp_path / "events.yaml"
    config.write_text(
        f"source:\n  files: {{events: {files}}}\n  columns: {{events: {columns}}}\n"
        "report:\n  output: reports\n"
    )
    return config


def test_a_glob_that_matches_nothing_names_the_key_and_the_pattern(tmp_path):
    config = write_config(tmp_path, "logs/2021-*.csv")
    result = build(config, "--month", "2021-01")
    assert_clean_failure(
        result, tmp_path / "reports", "source.files.events: no file matches", "logs/2021-*.csv"
    )


def test_a_missing_column_names_the_column_and_the_key_that_maps_it(tmp_path):
    (tmp_path / "events.csv").write_text(
        "event_time,event_type,product_id,price,user_id,session\n"
        "2021-01-05 10:00:00 UTC,view,1,5.0,u1,s1\n"
    )
    config = write_config(tmp_path, "events.csv")
    result = build(config, "--month", "2021-01")
    assert_clean_failure(
        result,
        tmp_path / "reports",
        "column 'user_session' missing from table 'events'",
        "source.columns.events.session_id",
    )


def test_bad_times_and_unmapped_types_are_counted_not_fatal(tmp_path):
    (tmp_path / "events.csv").write_text(
        HEADER + "2021-01-05 10:00:00 UTC,view,1,phones,acme,5.0,u1,s1\n"
        "yesterday,view,1,phones,acme,5.0,u1,s1\n"
        "2021-01-05 11:00:00 UTC,wishlist,1,phones,acme,5.0,u1,s1\n"
        "2021-01-05 12:00:00 UTC,purchase,1,phones,acme,5.0,u1,s1\n"
    )
    result = build(write_config(tmp_path, "events.csv"), "--month", "2021-01")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "reports/month/2021-01/metrics.json").read_text())
    quality = metrics["data_quality"]
    assert quality["events.unparsed_event_time"] == 1
    assert quality["events.unmapped_types"] == {"wishlist": 1}
    assert metrics["kpis"]["events.purchases"] == 1
    assert "Unmapped event types" in (tmp_path / "reports/month/2021-01/report.html").read_text()


def test_an_empty_period_gives_a_correct_empty_section(tmp_path):
    (tmp_path / "events.csv").write_text(
        HEADER + "2021-01-05 10:00:00 UTC,view,1,phones,acme,5.0,u1,s1\n"
    )
    result = build(write_config(tmp_path, "events.csv"), "--month", "2021-03")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "reports/month/2021-03"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["kpis"]["events.users"] == 0
    assert metrics["kpis"]["events.overall_conversion_rate"] is None
    assert len(metrics["tables"]["events.by_hour"]) == 24
    assert "No events in this period." in (folder / "report.html").read_text()


def test_with_no_period_the_last_complete_month_before_the_newest_event(tmp_path):
    (tmp_path / "events.csv").write_text(
        HEADER + "2021-01-05 10:00:00 UTC,view,1,phones,acme,5.0,u1,s1\n"
        "2021-02-10 10:00:00 UTC,view,1,phones,acme,5.0,u1,s1\n"
    )
    result = build(write_config(tmp_path, "events.csv"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports/month/2021-01/metrics.json").is_file()
