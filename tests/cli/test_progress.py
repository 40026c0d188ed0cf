"""`build` says what it is doing: timestamped lines in a log, a bar on a terminal, and at the
end where the report went and what was kept as history."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.cli.progress import progress_display
from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import build_report

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
LINE = re.compile(rf"^{STAMP} build 2024-03: (?P<stage>.+) done in \d+\.\d s$")
IN_TURN = ["queries", "charts", "html", "files", "publish"]
BESIDE = {"history (beside charts)", "trends (beside charts)"}
"""Stages of threads beside the build's own: they end whenever they are done (a SQLite
file of 32 MB or more says "history (own process)" instead, test_trends.py)."""


@pytest.fixture
def shop_config(tmp_path: Path, make_db) -> Path:
    db = make_db(
        carts=[("c1", "u1", "2024-03-05 10:00:00", "abandoned")],
        cart_items=[("c1", "p1", 2, 10.0)],
    )
    path = tmp_path / "shop.yaml"
    path.write_text(f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n")
    return path


def build(config: Path, *extra: str):
    result = CliRunner().invoke(
        main, ["build", "--config", str(config), "--month", "2024-03", "--no-pdf", *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_a_log_gets_one_timestamped_line_per_stage_then_where_the_report_went(
    shop_config, tmp_path
):
    lines = build(shop_config)
    stages = [m["stage"] for m in map(LINE.match, lines) if m]
    assert [stage for stage in stages if stage not in BESIDE] == IN_TURN
    assert set(stages) == set(IN_TURN) | BESIDE
    folder = tmp_path / "reports" / "month" / "2024-03"
    assert lines[-2:] == [
        f"report month 2024-03: {folder}",
        "history: nothing to keep (first build of this period)",
    ]


def test_a_rebuild_says_where_the_previous_version_is_kept(shop_config, tmp_path):
    build(shop_config)
    last = build(shop_config)[-1]
    kept = Path(last.removeprefix("history: previous version kept in "))
    assert kept.parent == tmp_path / "reports" / "history" / "month" / "2024-03"
    assert (kept / "report.html").is_file()
    assert build(shop_config, "--force")[-1] == "history: replaced (--force)"
    assert len(list(kept.parent.iterdir())) == 1


def test_build_report_tells_each_stage_as_it_finishes(tmp_path, make_db):
    db = make_db(carts=[("c1", "u1", "2024-03-05 10:00:00", "abandoned")])
    config = config_from_dict({"source": {"url": f"sqlite:///{db}"}}, base_dir=tmp_path)
    events: list[tuple[str, float]] = []
    result = build_report(
        config,
        month_period("2024-03"),
        output=tmp_path / "r",
        pdf=False,
        progress=lambda stage, seconds: events.append((stage, seconds)),
    )
    assert [stage for stage, _ in events] == list(result.timings)
    assert events[-1][0] == "publish"
    assert all(isinstance(seconds, float) and seconds >= 0 for _, seconds in events)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_bar():
    screen = Terminal()
    with progress_display("build 2024-03", stages=2, stream=screen) as progress:
        progress("queries", 3.21)
        progress("html", 0.4)
        progress("publish", 0.1)  # one more than announced: the bar grows
    text = screen.getvalue()
    assert "\r" in text
    assert "build 2024-03" in text
    assert "1/2  queries done in 3.2 s" in text
    assert "3/3  publish done in 0.1 s" in text
    assert text.endswith("\n")
    assert not LINE.search(text)


def test_a_pipe_gets_plain_lines():
    log = io.StringIO()
    with progress_display("build 2024-03", stages=2, stream=log) as progress:
        progress("queries", 3.21)
    assert LINE.match(log.getvalue().rstrip("\n"))
    assert "\r" not in log.getvalue()
