"""A build killed at each step of its publish, then the next build: the archive is whole.

A kill cannot be timed, so it is simulated in process at the exact step: the n-th call of
``os.replace``, ``shutil.rmtree`` or ``write_pdf`` raises ``SystemExit`` (or
``KeyboardInterrupt``), and from then on every rename, delete and unlink raises too, as if
the process were gone (no clean-up of its own runs). Then the next build runs normally.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup

import reportgen.render.html
from reportgen.config import Config, config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import build_report

PERIOD = month_period("2024-03")
LOCK_NAME = ".archive.lock"


def is_complete(folder: Path) -> bool:
    """A whole report: metrics.json, build.json, report.html, and report.pdf if built with one."""
    names = ("metrics.json", "build.json", "report.html")
    if not folder.is_dir() or not all((folder / name).is_file() for name in names):
        return False
    with_pdf = json.loads((folder / "build.json").read_text()).get("pdf")
    return not with_pdf or (folder / "report.pdf").is_file()


class Killer:
    """Kill the build at one call: that call and every later file operation raise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, exc: type[BaseException]) -> None:
        self.monkeypatch = monkeypatch
        self.exc = exc
        self.dead = False
        self.real = {
            "replace": os.replace,
            "rmtree": shutil.rmtree,
            "unlink": os.unlink,
            "write_pdf": reportgen.render.html.write_pdf,
        }

    def at(self, name: str, when: Callable[..., bool] = lambda *a: True, nth: int = 1) -> None:
        """Die at the ``nth`` call of ``name`` whose arguments satisfy ``when``."""
        seen = 0

        def patched(real_name: str) -> Callable[..., Any]:
            real = self.real[real_name]

            def call(*args: Any, **kwargs: Any) -> Any:
                nonlocal seen
                if self.dead:
                    raise self.exc("killed")
                if real_name == name and when(*args):
                    seen += 1
                    if seen == nth:
                        self.dead = True
                        if name == "rmtree":  # a delete killed halfway
                            for part in ("metrics.json", "report.html", "report.pdf"):
                                if os.path.exists(os.path.join(args[0], part)):
                                    self.real["unlink"](os.path.join(args[0], part))
                        if name == "write_pdf":  # a PDF half written
                            Path(args[1]).write_bytes(b"%PDF-1.7\n" + b"x" * 10_000)
                        raise self.exc("killed")
                return real(*args, **kwargs)

            return call

        self.monkeypatch.setattr(os, "replace", patched("replace"))
        self.monkeypatch.setattr(shutil, "rmtree", patched("rmtree"))
        self.monkeypatch.setattr(os, "unlink", patched("unlink"))
        self.monkeypatch.setattr(reportgen.render.html, "write_pdf", patched("write_pdf"))

    def revive(self) -> None:
        self.monkeypatch.undo()
        self.dead = False


SHOP = {
    "carts": [
        ("c1", "u1", "2024-03-05 10:00:00", "abandoned"),
        ("c2", "u2", "2024-03-06 10:00:00", "converted"),
    ],
    "cart_items": [("c1", "p1", 2, 10.0), ("c2", "p1", 1, 10.0)],
    "orders": [("o1", "u2", "2024-03-06 11:00:00", "c2")],
    "products": [("p1", "Mug", "Kitchen")],
}


@pytest.fixture
def shop(tmp_path: Path, make_db) -> Callable[[str], Config]:
    """Return ``version(name)``: the config of a tiny shop whose build.json says ``name``."""
    db = make_db(**SHOP)
    data = {
        "source": {"url": f"sqlite:///{db}"},
        "report": {"output": str(tmp_path / "reports"), "trend_periods": 0},
    }
    return lambda name: config_from_dict(data, base_dir=tmp_path, origin=name)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive where 2024-03 was built as v1, then v2 (v1 in history): built once."""
    from conftest import CART_TABLES, _write_table

    root = tmp_path_factory.mktemp("two-versions")
    db = sqlite3.connect(root / "shop.db")
    for name, columns in CART_TABLES.items():
        _write_table(db, name, columns, SHOP.get(name, []))
    db.commit()
    db.close()
    data = {"source": {"url": f"sqlite:///{root / 'shop.db'}"}, "report": {"trend_periods": 0}}
    for name in ("v1", "v2"):
        config = config_from_dict(data, base_dir=root, origin=name)
        build_report(config, PERIOD, output=root / "reports", pdf=False)
    return root / "reports"


def version(folder: Path) -> str:
    return json.loads((folder / "build.json").read_text())["config"]


def history_versions(output: Path) -> list[str]:
    base = output / "history" / "month" / PERIOD.label
    return sorted(version(f) for f in base.iterdir()) if base.is_dir() else []


def hidden_leftovers(output: Path) -> list[str]:
    return sorted(
        str(p.relative_to(output))
        for p in output.rglob(".*")
        if p.name != LOCK_NAME and ".building-" not in str(p.parent)
    )


def assert_archive_whole(output: Path, live: str, history: list[str]) -> None:
    """The live report is complete and is ``live``; history holds exactly ``history``, each
    complete; nothing hidden is left; every link of the index and of each nav bar opens."""
    folder = output / "month" / PERIOD.label
    assert is_complete(folder), sorted(p.name for p in folder.iterdir())
    assert version(folder) == live
    assert history_versions(output) == history
    kept = list((output / "history" / "month" / PERIOD.label).glob("*"))
    assert all(is_complete(f) for f in kept), kept
    assert hidden_leftovers(output) == []
    index = BeautifulSoup((output / "index.html").read_text(), "html.parser")
    assert index.select_one(f'tr[data-label="{PERIOD.label}"]') is not None
    for a in index.select("a[href]"):
        if not a["href"].startswith("#"):
            assert (output / unquote(a["href"])).exists(), a["href"]
    for page in [folder / "report.html", *(f / "report.html" for f in kept)]:
        nav = BeautifulSoup(page.read_text(), "html.parser").select("nav.nav a[href]")
        assert nav, page
        for a in nav:
            assert (page.parent / unquote(a["href"])).exists(), (page, a["href"])


def _target(output: Path) -> str:
    return str(output / "month" / PERIOD.label)


KILL_POINTS: dict[str, tuple[str, Callable[[Path], Callable[..., bool]], bool, list[str]]] = {
    # name: (function, which call, --force, history after the next build)
    "writing the pdf": ("write_pdf", lambda out: lambda *a: True, False, ["v1", "v2"]),
    "moving the live report aside": (
        "replace",
        lambda out: lambda src, dst: str(src) == _target(out),
        False,
        ["v1", "v2"],
    ),
    "moving the new report in": (
        "replace",
        lambda out: lambda src, dst: str(dst) == _target(out) and ".building-" in str(src),
        False,
        ["v1", "v2"],
    ),
    "moving the old report to history": (
        "replace",
        lambda out: lambda src, dst: "history" in str(dst),
        False,
        ["v1", "v2", "v3"],
    ),
    "deleting the old report (--force)": (
        "rmtree",
        lambda out: lambda path, *a: ".building-" not in str(path),
        True,
        ["v1", "v3"],
    ),
    "writing the index": (
        "replace",
        lambda out: lambda src, dst: Path(dst).name == "index.html",
        False,
        ["v1", "v2", "v3"],
    ),
}


@pytest.mark.parametrize("step", list(KILL_POINTS))
def test_a_build_killed_while_publishing_is_repaired_by_the_next(
    shop, two_versions, tmp_path, monkeypatch, step
):
    function, which, force, history = KILL_POINTS[step]
    output = tmp_path / "reports"
    shutil.copytree(two_versions, output)
    # Ctrl-C and a SIGTERM turned into SystemExit, in turn.
    exc = (SystemExit, KeyboardInterrupt)[list(KILL_POINTS).index(step) % 2]
    killer = Killer(monkeypatch, exc)
    killer.at(function, which(output))
    with pytest.raises(exc):
        build_report(shop("v3"), PERIOD, pdf=function == "write_pdf", force=force)
    assert killer.dead, f"the build never reached {step}"
    killer.revive()
    # Whatever was killed, the live place holds a complete report, or nothing while the
    # previous one waits beside it to be put back.
    live = output / "month" / PERIOD.label
    assert is_complete(live) or any(
        p.name.startswith(f".{PERIOD.label}.keep-") for p in live.parent.iterdir()
    )
    result = build_report(shop("v4"), PERIOD, pdf=False)
    assert_archive_whole(output, "v4", history)
    assert result.history is not None
    assert version(result.history) == history[-1]


def test_force_killed_during_the_delete_keeps_the_live_report_whole(shop, tmp_path, monkeypatch):
    """Regression: killed in `build --force`'s delete, the live folder held only build.json,
    trends.json and csv/, and the next build archived that half-report as a version."""
    output = tmp_path / "reports"
    build_report(shop("v1"), PERIOD, pdf=False)
    killer = Killer(monkeypatch, SystemExit)
    killer.at("rmtree", lambda path, *a: ".building-" not in str(path))
    with pytest.raises(SystemExit):
        build_report(shop("v2"), PERIOD, pdf=False, force=True)
    killer.revive()
    live = output / "month" / PERIOD.label
    assert is_complete(live)
    assert version(live) == "v2"
    build_report(shop("v3"), PERIOD, pdf=False)
    assert_archive_whole(output, "v3", ["v2"])


def test_killed_pdf_builds_leave_no_staging_folders_behind(shop, tmp_path, monkeypatch):
    """Regression: each build killed in the PDF step left a hidden .2024-03.building-* folder
    with a partial PDF in it, and they piled up."""
    output = tmp_path / "reports"
    build_report(shop("v1"), PERIOD, pdf=False)
    for attempt in ("v2", "v3"):
        killer = Killer(monkeypatch, SystemExit)
        killer.at("write_pdf")
        with pytest.raises(SystemExit):
            build_report(shop(attempt), PERIOD)
        killer.revive()
    staging = [p.name for p in (output / "month").iterdir() if ".building-" in p.name]
    assert len(staging) == 2  # what the killed builds left (their flock died with them)
    build_report(shop("v4"), PERIOD, pdf=False)
    assert_archive_whole(output, "v4", ["v1"])


def test_a_failed_build_leaves_the_archive_as_it_was(shop, tmp_path, monkeypatch):
    output = tmp_path / "reports"
    build_report(shop("v1"), PERIOD, pdf=False)
    before = sorted(str(p.relative_to(output)) for p in output.rglob("*"))

    def explode(html: str, target: Path) -> None:
        Path(target).write_bytes(b"%PDF-half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(reportgen.render.html, "write_pdf", explode)
    with pytest.raises(RuntimeError):
        build_report(shop("v2"), PERIOD, force=True)
    assert sorted(str(p.relative_to(output)) for p in output.rglob("*")) == before
    assert version(output / "month" / PERIOD.label) == "v1"


def test_an_incomplete_live_folder_is_never_kept_as_history(shop, tmp_path):
    """What an older build's half delete left is replaced, not recorded as a version."""
    output = tmp_path / "reports"
    build_report(shop("v1"), PERIOD, pdf=False)
    live = output / "month" / PERIOD.label
    (live / "metrics.json").unlink()
    (live / "report.html").unlink()
    result = build_report(shop("v2"), PERIOD, pdf=False)
    assert history_versions(output) == []
    assert version(live) == "v2"
    assert (result.replaced, result.history) == (True, None)
