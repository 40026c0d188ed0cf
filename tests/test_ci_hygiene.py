"""What a failed test run leaves behind: no server, and what the README says to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _postgres_pids(under: Path) -> set[int]:
    """Return the pids of postgres processes whose command line names a folder under
    ``under`` (other test runs on the machine have servers of their own)."""
    found = subprocess.run(["pgrep", "-a", "postgres"], capture_output=True, text=True)
    return {int(line.split()[0]) for line in found.stdout.splitlines() if str(under) in line}


def test_a_failing_backend_run_leaves_no_postgres_server(tmp_path, request):
    """The driver import fails after the server started: the server must still stop."""
    from conftest import _postgres_bin

    if _postgres_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have PostgreSQL installed (.ci/run installs it)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "psycopg.py").write_text('raise ImportError("psycopg hidden by the test")\n')
    # The server's data folder goes under a folder of this test's own (readable by the
    # postgres user, unlike pytest's tmp_path).
    scratch = Path(tempfile.mkdtemp(prefix="reportgen-hygiene-"))
    scratch.chmod(0o777)
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
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
        env={**os.environ, "PYTHONPATH": f"{shim}{os.pathsep}{ROOT}", "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0, run.stdout  # the hidden driver made the tests fail
    assert "psycopg hidden by the test" in run.stdout
    assert _postgres_pids(scratch) == set()


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


def test_the_spark_test_server_and_driver_are_declared_for_ci():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"reportgen[spark]"' in pyproject  # dev includes the driver
    assert '"reportgen[spark-server]"' in pyproject  # and pyspark's jars for the server
    assert "openjdk-17-jre-headless" in (ROOT / ".ci" / "system-packages").read_text()


def test_under_ci_a_missing_spark_server_fails_instead_of_skipping(tmp_path):
    """No Java on the PATH: with CI=true the Spark tests fail and name what is missing."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("JAVA_HOME", "REPORTGEN_TEST_SPARK_URL", "PATH")
    }
    run = subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "parameters_lists"),
            str(ROOT / "tests" / "source" / "test_spark.py"),
        ],
        cwd=ROOT,
        env={**env, "CI": "true", "PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0, run.stdout
    assert "CI must have Spark's test server: Java is not installed" in run.stdout
    assert "skipped" not in run.stdout.splitlines()[-1]
