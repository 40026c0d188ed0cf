"""What a failed test run leaves behind: no server, and what the README says to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _postgres_pids() -> set[int]:
    found = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def test_a_failing_backend_run_leaves_no_postgres_server(tmp_path):
    """The driver import fails after the server started: the server must still stop."""
    from conftest import _postgres_bin

    if _postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have PostgreSQL installed (.ci/run installs it)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "psycopg.py").write_text('raise ImportError("psycopg hidden by the test")\n')
    before = _postgres_pids()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "postgresql",
            str(ROOT / "tests" / "source" / "test_backends.py"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{shim}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0, run.stdout  # the hidden driver made the tests fail
    assert "psycopg hidden by the test" in run.stdout
    assert _postgres_pids() - before == set()


def test_readme_gives_the_system_packages_as_one_command():
    packages = (ROOT / ".ci" / "system-packages").read_text()
    names = [line.strip() for line in packages.splitlines() if line.startswith("  ")]
    readme = (ROOT / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "apt-get install" in line)
    assert names
    assert all(name in command.split() for name in names), command


def test_the_postgres_driver_is_declared():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'postgres = ["psycopg[binary]' in pyproject
    assert '"reportgen[postgres]"' in pyproject  # dev includes it
