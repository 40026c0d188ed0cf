"""Two `reportgen build` processes on one archive at once: both succeed, nothing is lost.

Regression: two builds whose final renames interleaved ended in a raw traceback
(``OSError: [Errno 39] Directory not empty``), and the index written by one dropped the
report the other had just published. Each process here slows every directory rename
down, so their publishes overlap whenever the lock would let them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup

SLOW_RENAMES = """
import os, sys, time
real = os.replace
def replace(src, dst, *args, **kwargs):
    if os.path.isdir(src):
        time.sleep(0.3)
    return real(src, dst, *args, **kwargs)
os.replace = replace
from reportgen.cli import main
main(sys.argv[1:], prog_name="reportgen")
"""


@pytest.fixture
def configs(tmp_path: Path, make_db) -> tuple[Path, Path]:
    """Two configs (a.yaml, b.yaml) on one small shop, both writing into tmp_path/reports."""
    db = make_db(
        carts=[
            ("c1", "u1", "2024-02-05 10:00:00", "abandoned"),
            ("c2", "u2", "2024-03-06 10:00:00", "converted"),
        ],
        cart_items=[("c1", "p1", 2, 10.0), ("c2", "p1", 1, 10.0)],
        orders=[("o1", "u2", "2024-03-06 11:00:00", "c2")],
    )
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n  trend_periods: 0\n"
        )
        paths.append(path)
    return paths[0], paths[1]


def run_together(*builds: tuple[Path, str]) -> list[subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-c", SLOW_RENAMES, "build", "--no-pdf", "--config"]
    processes = [
        subprocess.Popen(
            [*command, str(config), "--month", month],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config, month in builds
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def built_by(folder: Path) -> str:
    return Path(json.loads((folder / "build.json").read_text())["config"]).stem


def assert_links_open(output: Path) -> None:
    index = BeautifulSoup((output / "index.html").read_text(), "html.parser")
    for a in index.select("a[href]"):
        if not a["href"].startswith("#"):
            assert (output / unquote(a["href"])).exists(), a["href"]
    for page in output.glob("**/report.html"):
        for a in BeautifulSoup(page.read_text(), "html.parser").select("nav.nav a[href]"):
            assert (page.parent / unquote(a["href"])).exists(), (page, a["href"])


def hidden(output: Path) -> list[Path]:
    return [p for p in output.rglob(".*") if p.name != ".archive.lock"]


def test_two_builds_of_the_same_period_keep_every_version_once(configs, tmp_path):
    a, b = configs
    output = tmp_path / "reports"
    earlier = output / "month" / "2024-03"  # an earlier build, made by hand
    earlier.mkdir(parents=True)
    (earlier / "metrics.json").write_text("{}")
    (earlier / "report.html").write_text('<nav class="nav no-print"></nav>')
    facts = {"config": "first.yaml", "generated_at": "2024-04-01T06:00:00Z", "pdf": False}
    (earlier / "build.json").write_text(json.dumps(facts))
    results = run_together((a, "2024-03"), (b, "2024-03"))
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    live = output / "month" / "2024-03"
    history = sorted((output / "history" / "month" / "2024-03").iterdir())
    versions = [built_by(live)] + [built_by(folder) for folder in history]
    assert sorted(versions) == ["a", "b", "first"]  # each build once: live or history
    assert built_by(history[0]) == "first"  # the oldest is history's first entry
    assert all((folder / "report.html").is_file() for folder in [live, *history])
    assert hidden(output) == []
    assert_links_open(output)


def test_two_builds_of_different_periods_both_stay_listed_and_linked(configs, tmp_path):
    a, b = configs
    output = tmp_path / "reports"
    results = run_together((a, "2024-03"), (b, "2024-02"))
    for result in results:
        assert result.returncode == 0, result.stderr
    index = BeautifulSoup((output / "index.html").read_text(), "html.parser")
    assert [row["data-label"] for row in index.select("section#month tbody tr")] == [
        "2024-03",
        "2024-02",
    ]
    march = BeautifulSoup((output / "month" / "2024-03" / "report.html").read_text(), "html.parser")
    assert march.select_one("nav.nav a[rel=prev]")["href"] == "../2024-02/report.html"
    february = BeautifulSoup(
        (output / "month" / "2024-02" / "report.html").read_text(), "html.parser"
    )
    assert february.select_one("nav.nav a[rel=next]")["href"] == "../2024-03/report.html"
    assert hidden(output) == []
    assert_links_open(output)
