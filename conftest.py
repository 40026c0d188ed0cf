"""Shared fixtures: a tiny SQLite shop built from lists of tuples, and a metrics runner."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

CART_TABLES: dict[str, tuple[str, ...]] = {
    "carts": ("cart_id", "customer_id", "created_at", "status"),
    "cart_items": ("cart_id", "product_id", "quantity", "unit_price"),
    "orders": ("order_id", "customer_id", "order_date", "cart_id"),
    "customers": ("customer_id", "signup_channel", "loyalty_tier", "clv_bucket", "age"),
    "products": ("product_id", "name", "category"),
}
"""The canonical cart-family tables and the column order of the rows the tests write."""


def _write_table(
    db: sqlite3.Connection, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    # No declared column types: SQLite keeps every value exactly as given (text stays text).
    names = ", ".join(f'"{column}"' for column in columns)
    db.execute(f'create table "{name}" ({names})')
    padded = []
    for row in rows:
        if len(row) > len(columns):
            raise ValueError(f"{name}: row {row!r} has more values than columns {columns!r}")
        padded.append(tuple(row) + (None,) * (len(columns) - len(row)))
    marks = ", ".join("?" for _ in columns)
    db.executemany(f'insert into "{name}" values ({marks})', padded)


def assert_clean_failure(result: Any, out: Path, *fragments: str) -> None:
    """Assert a CLI run failed with one clear message, no traceback, nothing written."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.output, result.output
    written = [p for p in out.rglob("*")] if out.exists() else []
    assert written == [], written


@pytest.fixture
def make_db(tmp_path: Path) -> Callable[..., Path]:
    """Return a function that writes the cart tables to a new SQLite file and returns its path.

    ``make_db(carts=[...], orders=[...])``: one keyword per canonical table, one tuple per
    row in the column order of ``CART_TABLES``; short rows are padded with NULLs and a
    canonical table not given is created empty. ``columns={"orders": (...)}`` replaces a
    table's columns; ``extra={"basket": (columns, rows)}`` adds other tables.
    """
    numbers = itertools.count()

    def make(
        *,
        columns: dict[str, Sequence[str]] | None = None,
        extra: dict[str, tuple[Sequence[str], Iterable[Sequence[Any]]]] | None = None,
        **tables: Iterable[Sequence[Any]],
    ) -> Path:
        unknown = set(tables) - set(CART_TABLES)
        if unknown:
            raise ValueError(f"not a canonical cart table: {sorted(unknown)}")
        path = tmp_path / f"shop{next(numbers)}.db"
        db = sqlite3.connect(path)
        try:
            for name, default_columns in CART_TABLES.items():
                table_columns = (columns or {}).get(name, default_columns)
                _write_table(db, name, table_columns, tables.get(name, []))
            for name, (table_columns, rows) in (extra or {}).items():
                _write_table(db, name, table_columns, rows)
            db.commit()
        finally:
            db.close()
        return path

    return make


@pytest.fixture
def compute(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Return ``run(db_path, period=None, **config)``: the metrics.json dict for that database.

    ``config`` holds top-level config keys (``rules``, ``segments``, ``report``, ``source``);
    ``source.url`` is set to the database. The period defaults to the month 2024-03 in the
    config's time zone.
    """

    def run(db_path: Path, period: Any = None, **config: Any) -> dict[str, Any]:
        # Imported here so the tests are collected even before reportgen.report.metrics exists.
        from reportgen.config import config_from_dict
        from reportgen.periods import month_period
        from reportgen.report.metrics import compute_metrics

        data = dict(config)
        data["source"] = {"url": f"sqlite:///{db_path}", **data.get("source", {})}
        cfg = config_from_dict(data, base_dir=tmp_path)
        if period is None:
            period = month_period("2024-03", timezone=cfg.report.timezone)
        return compute_metrics(cfg, period)

    return run


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and every process it started (its own session), and wait for them."""

    def group_alive() -> bool:
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return False
        return True

    for sig, seconds in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):  # fast shutdown first
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            server.poll()  # reap the leader, so a zombie does not count as alive
            if not group_alive():
                return
            time.sleep(0.05)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Start a throwaway PostgreSQL server for the session (skip where none is installed).

    The server is stopped however the session ends (a failed connection or test included):
    a failed run must not leave servers behind.
    """
    import sqlalchemy as sa

    binaries = _postgres_bin()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have PostgreSQL installed (.ci/run installs it)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="reportgen-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    server: subprocess.Popen | None = None
    try:
        subprocess.run(
            [*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [
                *as_user,
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(root),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        atexit.register(_stop, server)
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        engine = sa.create_engine(url)
        try:
            for _ in range(200):
                try:
                    with engine.connect():
                        break
                except sa.exc.OperationalError:
                    time.sleep(0.1)
            else:
                pytest.fail("PostgreSQL did not start within 20 s")
        finally:
            engine.dispose()
        yield url
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(root, ignore_errors=True)


def copy_rows(table: Any, conn: Any, keys: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """A ``method`` for pandas' ``to_sql`` into PostgreSQL: the rows through COPY (as
    ``reportgen load`` writes them), in the transaction pandas began. The same tables and
    values as its multi-row inserts, which took three quarters of a parity test's time."""
    from reportgen.source.load import copy_into_postgresql

    quote = conn.dialect.identifier_preparer.quote
    name = (
        quote(table.name) if table.schema is None else f"{quote(table.schema)}.{quote(table.name)}"
    )
    copy_into_postgresql(conn, name, keys, rows)


SPARK_CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"


def spark_missing() -> str | None:
    """Return why no local Spark Connect server can start here (None: it can)."""
    import importlib.util

    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "Java is not installed (apt-get install openjdk-17-jre-headless)"
    for module, extra in (("pyspark", "spark-server"), ("adbc_driver_spark", "spark")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[{extra}]')"
    return None


@pytest.fixture(scope="session")
def spark_url() -> Iterator[str]:
    """Start a local Spark Connect server for the session (skip where Java or pyspark is
    missing; fail under CI). Its whole process group is stopped however the session ends.
    ``REPORTGEN_TEST_SPARK_URL`` names a server already running instead (a JVM start is
    13-60 s of every run).

    Spark runs from pyspark's own jars (the Connect server ships in them: nothing is
    downloaded), with an in-memory catalog, its warehouse in a temporary folder, two
    shuffle partitions (the default 200 makes every small aggregate slow) and no UI.
    """
    import importlib.util

    import sqlalchemy as sa

    running = os.environ.get("REPORTGEN_TEST_SPARK_URL")
    if running:  # a server the developer keeps running between test runs (not under CI)
        yield running
        return
    missing = spark_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have Spark's test server: {missing} (.ci/run installs it)")
        pytest.skip(missing)
    spec = importlib.util.find_spec("pyspark")
    home = Path(spec.origin).parent  # type: ignore[arg-type]
    root = Path(tempfile.mkdtemp(prefix="reportgen-spark-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
    # SPARK_REMOTE would make spark-submit a Connect client instead of the server.
    env |= {"SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(root)}
    confs = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": str(root / "warehouse"),
        "spark.local.dir": str(root / "local"),
        "spark.jars.ivy": str(root / "ivy"),
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={root}",
    }
    command = [
        str(home / "bin" / "spark-submit"),
        "--class",
        SPARK_CONNECT_SERVER,
        "--master",
        "local[2]",
        # 2 GB ran out building broadcast joins once a session had run several computes
        # ("Not enough memory to build and broadcast the table", docs/warehouse.md).
        "--driver-memory",
        "4g",
        *(arg for key, value in confs.items() for arg in ("--conf", f"{key}={value}")),
        "spark-internal",
    ]
    log = root / "server.log"
    server: subprocess.Popen | None = None
    try:
        with log.open("wb") as out:
            server = subprocess.Popen(
                command,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(_stop, server)
        url = f"spark+connect://127.0.0.1:{port}"
        started = time.monotonic()
        while True:
            if server.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"the Spark Connect server exited ({server.returncode}):\n{tail}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() - started > 120:
                pytest.fail("the Spark Connect server did not start within 120 s")
            time.sleep(0.2)
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("select 1").all()
        finally:
            engine.dispose()
        yield url
    finally:
        if server is not None:
            _stop(server)
        shutil.rmtree(root, ignore_errors=True)
