"""The archive's repair of what killed builds left, and what counts as a complete report."""

from __future__ import annotations

import json
from pathlib import Path

from reportgen.archive.publish import (
    LOCK_NAME,
    archive_lock,
    is_complete,
    missing_files,
    repair_archive,
    staged,
)
from reportgen.periods import month_period

PERIOD = month_period("2024-03")


def hidden_leftovers(output: Path) -> list[str]:
    return sorted(str(p.relative_to(output)) for p in output.rglob(".*") if p.name != LOCK_NAME)


def _report(folder: Path, **facts: object) -> Path:
    folder.mkdir(parents=True)
    for name in ("metrics.json", "report.html"):
        (folder / name).write_text("{}")
    (folder / "build.json").write_text(json.dumps(facts))
    return folder


def test_repair_restores_an_aside_whose_target_is_missing(tmp_path):
    output = tmp_path / "reports"
    aside = output / "month" / ".2024-03.keep-0a1b2c3d"
    aside.mkdir(parents=True)
    for name in ("metrics.json", "build.json", "report.html"):
        (aside / name).write_text("{}")
    dropped = output / "week" / ".2024-W10.drop-00ff00ff"
    dropped.mkdir(parents=True)
    (output / "week" / "2024-W10").mkdir()
    custom = output / "custom" / ".2024-01-01..2024-02-01.building-ab_12"
    custom.mkdir(parents=True)
    repairs = [(r.action, r.path.relative_to(output).as_posix()) for r in repair_archive(output)]
    assert sorted(repairs) == [
        ("deleted", "week/.2024-W10.drop-00ff00ff"),
        ("removed staging", "custom/.2024-01-01..2024-02-01.building-ab_12"),
        ("restored", "month/2024-03"),
    ]
    assert (output / "month" / "2024-03" / "report.html").is_file()
    assert hidden_leftovers(output) == []


def test_repair_finishes_an_aside_whose_target_is_back(tmp_path):
    output = tmp_path / "reports"
    _report(output / "month" / "2024-03", pdf=False)
    _report(output / "month" / ".2024-03.keep-0a1b2c3d", generated_at="2024-04-01T06:00:00Z")
    half = _report(output / "month" / ".2024-03.keep-99999999", pdf=False)
    (half / "report.html").unlink()  # not a whole report: never a history version
    repairs = [(r.action, r.path.relative_to(output).as_posix()) for r in repair_archive(output)]
    assert repairs == [
        ("kept as history", "history/month/2024-03/2024-04-01T060000Z"),
        ("deleted", "month/.2024-03.keep-99999999"),
    ]
    assert hidden_leftovers(output) == []


def test_repair_leaves_a_live_builds_staging_alone(tmp_path):
    """A build still filling its staging folder holds an flock in it: not a leftover."""
    output = tmp_path / "reports"
    with staged(output, PERIOD) as staging:
        (staging.folder / "metrics.json").write_text("{}")
        with archive_lock(output):
            assert repair_archive(output) == []
        assert staging.folder.is_dir()
    assert not staging.folder.exists()  # never swapped in: removed by its own build


def test_a_report_is_complete_with_its_three_files_and_the_pdf_it_was_built_with(tmp_path):
    assert is_complete(_report(tmp_path / "no-pdf", pdf=False))
    assert is_complete(_report(tmp_path / "older", generator="reportgen 0.1.0"))
    with_pdf = _report(tmp_path / "pdf", pdf=True)
    assert missing_files(with_pdf) == ["report.pdf"]
    (with_pdf / "report.pdf").write_bytes(b"%PDF-1.7\n")
    assert is_complete(with_pdf)
    half = _report(tmp_path / "half", pdf=False)
    (half / "metrics.json").unlink()
    (half / "build.json").write_text("{")
    assert missing_files(half) == ["metrics.json", "a readable build.json"]
    assert not is_complete(tmp_path / "nowhere")


def test_an_index_write_killed_before_its_rename_is_cleaned_up(tmp_path):
    output = tmp_path / "reports"
    output.mkdir()
    (output / ".index.html.k2j3h4").write_text("<html>half")
    with archive_lock(output):
        repair_archive(output)
    assert hidden_leftovers(output) == []
