"""Work on a second connection beside a build's own: on a thread, or in a process.

SQLite sorts of two threads of one process contend (its allocator takes one lock for the
whole process): a group-by over 2.7M cart lines took 0.68 s alone and 2.1 s each, two at
once. So for a SQLite file large enough to pay for a process of its own (about a second to
import reportgen again), that work goes to one; DuckDB, PostgreSQL and Spark share their
engine's threads well.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from reportgen.config import Config
from reportgen.source.connection import Source, sqlite_file
from reportgen.source.query import scalar

T = TypeVar("T")

OWN_PROCESS_MIN_BYTES = 32 * 2**20
"""A SQLite file from this size on works beside in a process: a smaller one is done in
about the time a spawned process takes to start."""


def needs_own_process(config: Config) -> bool:
    """Whether work beside the build's on this source belongs in a process of its own."""
    path = sqlite_file(config)
    if path is None or config.source.files:
        return False
    return path.is_file() and path.stat().st_size >= OWN_PROCESS_MIN_BYTES


class OwnProcess(ThreadPoolExecutor):
    """One worker process per call (``reportgen.source.worker``), waited for on a thread.
    What it runs, and its arguments, must pickle: a Config does, a Source does not.

    A block that ends in an exception, or ``shutdown(cancel_futures=True)``, kills the
    processes still running: a build that failed does not wait for work nobody will read.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="rg-own-process")
        self._running: set[subprocess.Popen[bytes]] = set()
        self._ending = threading.Lock()
        self._cancelled = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if kwargs:
            raise TypeError("OwnProcess.submit takes positional arguments only")
        return super().submit(self._in_own_process, fn, args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            with self._ending:
                self._cancelled = True
                for process in self._running:
                    process.kill()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool | None:
        self.shutdown(wait=True, cancel_futures=kind is not None)
        return False

    def _in_own_process(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        # The worker imports what this process imported, from where it did (a script may
        # have put a checkout on sys.path rather than installing it).
        path = os.pathsep.join(entry for entry in sys.path if entry)
        with self._ending:
            if self._cancelled:
                raise RuntimeError("reportgen's worker process was not started: cancelled")
            process = subprocess.Popen(
                [sys.executable, "-m", "reportgen.source.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
            self._running.add(process)
        try:
            out, err = process.communicate(pickle.dumps((function, args)))
        finally:
            with self._ending:
                self._running.discard(process)
        try:
            kind, value = pickle.loads(out)
        except Exception:
            tail = err.decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(
                f"reportgen's worker process ended with code {process.returncode}: "
                + " / ".join(tail)
            ) from None
        if kind == "error":
            raise value
        return value


def own_process() -> OwnProcess:
    """An executor whose work runs in a fresh Python process of its own."""
    return OwnProcess()


def beside(source: Source, table: str, min_rows: int) -> Executor:
    """A one-worker executor for work beside the build's over ``source``'s ``table``: a
    process of its own when the file needs one and the table holds ``min_rows`` or more
    (a small table's work is done before a worker has started)."""
    if needs_own_process(source.config) and _rows_at_least(source, table, min_rows):
        return own_process()
    return ThreadPoolExecutor(max_workers=1)


def _rows_at_least(source: Source, table: str, min_rows: int) -> bool:
    """Whether a SQLite table's largest rowid reaches ``min_rows`` (read from its index
    b-tree at once; a view or a table without rowids says no)."""
    try:
        found = scalar(source.connection, f"select max(rowid) from {source.table(table).sql}")
    except SQLAlchemyError:  # a SQLite select that fails leaves the connection as it was
        return False
    return found is not None and int(found) >= min_rows
