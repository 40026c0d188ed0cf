"""The report archive: ``reports/<kind>/<label>/`` written atomically, old versions kept.

A build writes every file into a hidden temporary folder beside its target and renames
it into place, so a crash never leaves half a report. A period built again moves the
existing folder to ``reports/history/<kind>/<label>/<built at>/`` first (``--force``
replaces it instead), so history is never overwritten silently.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportgen.errors import ArchiveError
from reportgen.periods import Period


def report_folder(output: Path, period: Period) -> Path:
    """Return where ``period``'s report lives: ``month/2026-10``, ``week/2026-W43``…"""
    return output / period.kind / period.label


def history_folder(output: Path, period: Period) -> Path:
    return output / "history" / period.kind / period.label


LOCK_NAME = ".archive.lock"
LOCK_TIMEOUT_SECONDS = 600.0
"""How long a build waits for another build's publish and index before giving up."""


@contextmanager
def archive_lock(output: Path, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold ``<output>/.archive.lock`` while the archive's folders and index change.

    ``build`` (publish + index) and ``run-due`` (publish + reading the PDF it sends) take
    it, so two writers never interleave their renames. The OS releases it when a process
    dies; a holder that never lets go is reported by pid after ``timeout`` seconds.
    """
    try:
        output.mkdir(parents=True, exist_ok=True)
        handle = open(output / LOCK_NAME, "a+")
    except OSError as exc:
        raise ArchiveError(f"cannot write under {output}: {exc.strerror}") from None
    with handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise ArchiveError(
                        f"the archive {output} is locked by another reportgen process "
                        f"(pid {holder}) for more than {timeout:.0f} s; if none is running, "
                        f"delete {output / LOCK_NAME}"
                    ) from None
                time.sleep(0.05)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file (the ledger's record of the PDF that was sent)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_pdf(output: Path, period: Period, sha256: str) -> Path | None:
    """Return the archived ``report.pdf`` of ``period`` with this hash: the live report or
    one kept under history (a later build may have replaced the one that was emailed)."""
    candidates = [report_folder(output, period) / "report.pdf"]
    history = history_folder(output, period)
    if history.is_dir():
        candidates += sorted(history.glob("*/report.pdf"), reverse=True)
    for candidate in candidates:
        if candidate.is_file() and file_sha256(candidate) == sha256:
            return candidate
    return None


def write_json(path: Path, data: Any) -> None:
    """Write JSON (no NaN allowed) atomically."""
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    write_atomic(path, text.encode("utf-8"))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: Path, content: bytes) -> None:
    """Write a file through a temporary file and a rename (readable as a normal file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temp, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_tables_csv(
    folder: Path,
    tables: dict[str, list[dict[str, Any]]],
    headers: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Export every table as ``csv/<table>.csv`` (the savable customers in full); an empty
    table keeps its header when ``headers`` names its columns."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        columns = list(dict.fromkeys(key for row in table for key in row))
        columns = columns or list((headers or {}).get(name, ()))
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as stream:
            writer = csv.DictWriter(stream, fieldnames=columns)
            if columns:
                writer.writeheader()
            writer.writerows(table)


def publish(
    output: Path, period: Period, fill: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Fill a temporary folder with ``fill`` and move it into the archive.

    Returns the final folder. If ``fill`` raises, nothing under ``output`` changes.
    """
    target = report_folder(output, period)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{period.label}.building-", dir=target.parent))
        os.chmod(staging, 0o777 & ~_umask())
    except OSError as exc:
        raise ArchiveError(f"cannot write under {output}: {exc.strerror}") from None
    try:
        fill(staging)
        if target.exists():
            if force:
                shutil.rmtree(target)
            else:
                _keep_previous(output, period, target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _keep_previous(output: Path, period: Period, target: Path) -> None:
    """Move the existing report to history, named by when it was built."""
    built = datetime.fromtimestamp(target.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%S")
    facts = target / "build.json"
    if facts.is_file():
        try:
            built = json.loads(facts.read_text()).get("generated_at", built).replace(":", "")
        except (ValueError, AttributeError):
            pass
    destination = history_folder(output, period) / built
    suffix = 1
    while destination.exists():
        destination = destination.with_name(f"{built}-{suffix}")
        suffix += 1
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(target, destination)
