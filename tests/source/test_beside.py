"""``reportgen.source.beside``: work beside a build's, on a thread or in a process.

A large SQLite file's second-connection work (the whole-table checks, the cover's
history) runs in a Python process of its own, because SQLite sorts of two threads of one
process contend. These tests run that process for real.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reportgen.config import config_from_dict, load_config
from reportgen.errors import ConfigError
from reportgen.source.beside import OwnProcess, beside, needs_own_process, own_process
from reportgen.source.connection import open_source


def test_the_work_runs_in_another_process_and_its_value_comes_back():
    with own_process() as process:
        pid = process.submit(os.getpid).result()
        assert pid != os.getpid()
        assert process.submit(divmod, 17, 5).result() == (3, 2)


def test_an_exception_in_the_process_is_raised_here_as_itself(tmp_path: Path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as here:
        load_config(missing)
    with own_process() as process:
        with pytest.raises(ConfigError) as there:
            process.submit(load_config, missing).result()
    assert str(there.value) == str(here.value)


def test_a_process_that_dies_says_so():
    with own_process() as process:
        with pytest.raises(RuntimeError, match="worker process ended with code 3"):
            process.submit(os._exit, 3).result()


def test_a_block_that_fails_kills_the_work_still_running():
    """A failed build does not wait for a history nobody will read (it took 5 s)."""
    started = time.perf_counter()
    process = own_process()
    sleeping = process.submit(time.sleep, 60)
    _wait_until(lambda: process._running)
    assert process.__exit__(KeyError, KeyError("the queries failed"), None) is False
    assert time.perf_counter() - started < 30
    with pytest.raises(RuntimeError, match="ended with code -9"):
        sleeping.result()


def test_shutdown_with_cancel_kills_the_running_process_and_starts_no_more():
    process = own_process()
    sleeping = process.submit(time.sleep, 60)
    queued = process.submit(time.sleep, 60)
    _wait_until(lambda: process._running)
    child = next(iter(process._running))
    process.shutdown(wait=True, cancel_futures=True)
    assert child.poll() is not None
    assert queued.cancelled()
    with pytest.raises(RuntimeError):
        sleeping.result()


def _wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker process did not start"
        time.sleep(0.05)


def test_a_script_without_a_main_guard_can_use_it(tmp_path: Path):
    """multiprocessing's spawn would run this script again in the child, and fail."""
    script = tmp_path / "no_guard.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from reportgen.source.beside import own_process
            with own_process() as process:
                print(process.submit(os.getpid).result() != os.getpid())
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_the_process_imports_from_where_this_one_did(tmp_path: Path):
    """A script that put a folder on sys.path (a checkout, not an install): the worker
    finds the same modules there."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "shop_helpers.py").write_text("def answer():\n    return 42\n")
    script = tmp_path / "uses_path.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(tmp_path / "lib")!r})
            import shop_helpers
            from reportgen.source.beside import own_process
            with own_process() as process:
                print(process.submit(shop_helpers.answer).result())
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"


def test_only_a_large_sqlite_file_and_table_get_a_process(tmp_path: Path, monkeypatch):
    import sqlite3

    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as made:
        made.execute("create table carts (cart_id, customer_id, created_at, status)")
        made.executemany(
            "insert into carts values (?, 'u', '2024-03-01 10:00:00', 'open')",
            [(f"c{i}",) for i in range(3)],
        )
    carts = config_from_dict({"source": {"url": f"sqlite:///{path}"}})
    viewed = config_from_dict(
        {"source": {"url": f"sqlite:///{path}", "views": {"carts": "select * from carts"}}}
    )
    assert not needs_own_process(carts)  # a small file
    with open_source(carts) as source:
        assert type(beside(source, "carts", 1)) is ThreadPoolExecutor
    monkeypatch.setattr("reportgen.source.beside.OWN_PROCESS_MIN_BYTES", 1)
    assert needs_own_process(carts)
    with open_source(carts) as source:
        assert isinstance(beside(source, "carts", 3), OwnProcess)
        assert type(beside(source, "carts", 4)) is ThreadPoolExecutor  # a small table
    with open_source(viewed) as source:  # a view has no rowid to size it by
        assert type(beside(source, "carts", 1)) is ThreadPoolExecutor
        assert source.connection.exec_driver_sql("select count(*) from carts").scalar() == 3
    for url in ("sqlite:///:memory:", "duckdb:///:memory:"):
        assert not needs_own_process(config_from_dict({"source": {"url": url}}))
