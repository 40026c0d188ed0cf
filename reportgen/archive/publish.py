"""The report archive: ``reports/<kind>/<label>/`` swapped in whole, old versions kept.

A build fills a hidden staging folder beside its target (``.2026-10.building-…``, holding
an flock on a file inside it while the build lives), then, under the archive lock, swaps
it in so that a kill at any instant leaves a state the next build can finish:

1. the live report (if any) is renamed aside to ``.2026-10.keep-…`` (to be kept as
   history) or ``.2026-10.drop-…`` (``--force``, or a folder that is no complete report);
2. the staging folder is renamed to ``2026-10``;
3. the aside is moved to ``reports/history/<kind>/<label>/<built at>/`` or deleted.

Before its own swap every build (under the same lock) repairs what a killed one left: an
aside whose target is missing is put back (the build died between 1 and 2), an aside
whose target exists is finished (3), and a staging folder whose flock is free belongs to
a dead build and is removed. A new report is always complete before it goes live, and
only complete reports are ever recorded as history.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from reportgen.errors import ArchiveError
from reportgen.periods import Period


def report_folder(output: Path, period: Period) -> Path:
    """Return where ``period``'s report lives: ``month/2026-10``, ``week/2026-W43``…"""
    return output / period.folder_kind / period.label


def history_folder(output: Path, period: Period) -> Path:
    return output / "history" / period.folder_kind / period.label


LOCK_NAME = ".archive.lock"
LOCK_TIMEOUT_SECONDS = 600.0
"""How long a build waits for another build's publish and index before giving up."""


_held = threading.local()
"""The archives this thread holds the lock of, and how deeply (the lock is re-entrant)."""


@contextmanager
def archive_lock(output: Path, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold ``<output>/.archive.lock`` while the archive's folders and index change.

    ``build`` (staging, swap, repair and index) and ``run-due`` (publish + reading the PDF
    it sends) take it, so two writers never interleave their renames. A thread that
    already holds it may take it again (``run-due`` can hold it around a build). The OS
    releases it when a process dies; a holder that never lets go is reported by pid after
    ``timeout`` seconds.
    """
    key = os.path.abspath(output)
    depths: dict[str, int] = _held.__dict__.setdefault("depths", {})
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
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
        depths[key] = 1
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            depths.pop(key, None)
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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP, "CSV injection")."""


def spreadsheet_safe(value: Any) -> Any:
    """Return a text cell a spreadsheet cannot run: ``'=cmd`` for ``=cmd``.

    Only text is changed (a product name, a segment value from the source); numbers stay
    numbers, so ``-3.5`` is still a negative number when opened.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_tables_csv(
    folder: Path,
    tables: dict[str, list[dict[str, Any]]],
    headers: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Export every table as ``csv/<table>.csv`` (the savable customers in full); an empty
    table keeps its header when ``headers`` names its columns.

    Text cells that a spreadsheet would read as a formula are neutralised
    (``spreadsheet_safe``); metrics.json keeps the values as they are.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        columns = list(dict.fromkeys(key for row in table for key in row))
        columns = columns or list((headers or {}).get(name, ()))
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            if columns:
                writer.writerow([spreadsheet_safe(column) for column in columns])
            for row in table:
                writer.writerow([spreadsheet_safe(row.get(column, "")) for column in columns])


# Publishing: staging, swap, repair.

STAGING, KEEP, DROP = "building", "keep", "drop"
STAGING_LOCK = ".building.lock"
"""The file inside a staging folder its build holds an flock on while it lives."""
_HIDDEN = re.compile(r"^\.(?P<label>.+)\.(?P<state>building|keep|drop)-(?P<token>\w+)$")
REPORT_FILES = ("metrics.json", "build.json", "report.html")
"""What every complete report holds (plus report.pdf when build.json says ``"pdf": true``)."""


def missing_files(folder: Path) -> list[str]:
    """Return what ``folder`` lacks to be a whole report (empty: it may be kept as history)."""
    missing = [name for name in REPORT_FILES if not (folder / name).is_file()]
    if "build.json" in missing:
        return missing
    try:
        facts = json.loads((folder / "build.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return [*missing, "a readable build.json"]
    if isinstance(facts, dict) and facts.get("pdf") and not (folder / "report.pdf").is_file():
        missing.append("report.pdf")
    return missing


def is_complete(folder: Path) -> bool:
    """Return whether ``folder`` holds a whole report: metrics.json, build.json, report.html
    and, when build.json says it was built with one, report.pdf."""
    return folder.is_dir() and not missing_files(folder)


@dataclass(frozen=True)
class Repair:
    """One thing a build finished or undid for a build that was killed."""

    action: str
    """``restored``, ``kept as history``, ``deleted`` or ``removed staging``."""
    path: Path
    """Where the folder is now (or was, when it was deleted)."""

    def __str__(self) -> str:
        return f"{self.action}: {self.path}"


@dataclass(frozen=True)
class Published:
    """Where a swap put the new report and what became of the one it replaced."""

    folder: Path
    history: Path | None = None
    """Where the previous version was kept, or None (first build, or replaced)."""
    replaced: bool = False
    """A previous version was deleted: ``--force``, or a folder that was no complete report."""
    repairs: tuple[Repair, ...] = ()
    """What was left by killed builds and repaired first."""


class Staging:
    """A hidden folder beside the target that one build fills, then swaps into place.

    Claimed under the archive lock with an flock held on ``.building.lock`` inside it, so
    the repair of another build never mistakes it for a dead build's leftover.
    """

    def __init__(self, output: Path, period: Period) -> None:
        self.output = output
        self.period = period
        self.target = report_folder(output, period)
        with archive_lock(output):
            try:
                self.target.parent.mkdir(parents=True, exist_ok=True)
                self.folder = Path(
                    tempfile.mkdtemp(prefix=f".{period.label}.{STAGING}-", dir=self.target.parent)
                )
                os.chmod(self.folder, 0o777 & ~_umask())
                self._claim: IO[str] | None = open(self.folder / STAGING_LOCK, "w")
            except OSError as exc:
                raise ArchiveError(f"cannot write under {output}: {exc.strerror}") from None
            fcntl.flock(self._claim, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def swap_in(self, *, force: bool = False) -> Published:
        """Repair the archive, then put the filled folder live; the caller holds the lock.

        The previous version leaves only once the new one is in place (see the module
        docstring); if the swap fails midway the previous version is put back.
        """
        missing = missing_files(self.folder)
        if missing:
            raise ArchiveError(
                f"the new report in {self.folder} is incomplete (no {', '.join(missing)}); "
                "nothing was published"
            )
        repairs = tuple(repair_archive(self.output))
        target = self.target
        aside = None
        try:
            if os.path.lexists(target):
                # A folder that is no complete report (an older build's half delete) is
                # never recorded as a version.
                state = DROP if force or not is_complete(target) else KEEP
                aside = target.with_name(f".{target.name}.{state}-{os.urandom(4).hex()}")
                os.replace(target, aside)
            os.unlink(self.folder / STAGING_LOCK)
            os.replace(self.folder, target)
        except OSError as exc:
            if aside is not None and not os.path.lexists(target):
                os.replace(aside, target)
            raise ArchiveError(
                f"cannot put the new report in place at {target}: {exc.strerror}; "
                "the archive is unchanged"
            ) from None
        self._release()
        if aside is None:
            return Published(target, repairs=repairs)
        try:
            finished = _finish_aside(self.output, aside, target)
        except OSError as exc:
            raise ArchiveError(
                f"the new report is at {target}, but the previous version stays at {aside}: "
                f"{exc.strerror}; the next build moves it"
            ) from None
        kept = finished.path if finished.action == "kept as history" else None
        return Published(target, history=kept, replaced=kept is None, repairs=repairs)

    def discard(self) -> None:
        """Remove the staging folder (a failed build leaves the archive as it was)."""
        claimed = self._claim is not None
        self._release()
        if claimed:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _release(self) -> None:
        if self._claim is not None:
            self._claim.close()
            self._claim = None


@contextmanager
def staged(output: Path, period: Period) -> Iterator[Staging]:
    """Yield a claimed staging folder for ``period``, removed unless it was swapped in."""
    staging = Staging(output, period)
    try:
        yield staging
    finally:
        staging.discard()


def publish(
    output: Path, period: Period, fill: Callable[[Path], None], *, force: bool = False
) -> Published:
    """Fill a staging folder with ``fill`` (outside the lock), then swap it in (under it).

    If ``fill`` raises, nothing under ``output`` changes.
    """
    with staged(output, period) as staging:
        fill(staging.folder)
        with archive_lock(output):
            return staging.swap_in(force=force)


def repair_archive(output: Path) -> list[Repair]:
    """Finish or undo what killed builds left under ``output``; the caller holds the lock.

    Under the lock no swap is halfway, so every hidden folder found is a dead build's,
    except staging folders whose build still holds their flock.
    """
    repairs: list[Repair] = []
    if not output.is_dir():
        return repairs
    for leftover in output.glob(f".{INDEX_TEMP_PREFIX}*"):
        leftover.unlink(missing_ok=True)  # an index write killed before its rename
    for base in sorted(p for p in output.iterdir() if p.is_dir() and p.name != "history"):
        for entry in sorted(base.iterdir()):
            found = _HIDDEN.match(entry.name)
            if not found or not entry.is_dir():
                continue
            target = base / found["label"]
            if found["state"] == STAGING:
                if not _in_use(entry):
                    _remove(entry)
                    repairs.append(Repair("removed staging", entry))
            elif not os.path.lexists(target):
                # Killed between moving the live report aside and moving the new one in.
                os.replace(entry, target)
                repairs.append(Repair("restored", target))
            else:
                repairs.append(_finish_aside(output, entry, target))
    return repairs


INDEX_TEMP_PREFIX = "index.html."
"""``write_atomic``'s temporary name for the index (``.index.html.XXXX``)."""


def _in_use(staging: Path) -> bool:
    """Return whether a live build holds the flock inside ``staging``."""
    try:
        handle = open(staging / STAGING_LOCK)
    except FileNotFoundError:
        return False  # claimed under the lock with the file: its build died in its swap
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _finish_aside(output: Path, aside: Path, target: Path) -> Repair:
    """Move a previous version set aside to history, or delete it (``drop``, incomplete)."""
    found = _HIDDEN.match(aside.name)
    if found and found["state"] == KEEP and is_complete(aside):
        kind = target.parent.name
        destination = _history_destination(output / "history" / kind / target.name, aside)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(aside, destination)
        return Repair("kept as history", destination)
    _remove(aside)
    return Repair("deleted", aside)


def _remove(folder: Path) -> None:
    """Delete a folder that may already be partly deleted (a killed ``rmtree``)."""

    def gone_already(function: Any, path: str, error: Any) -> None:
        error = error[1] if isinstance(error, tuple) else error  # onerror gets exc_info
        if not isinstance(error, FileNotFoundError):
            raise error

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=gone_already)
    else:
        shutil.rmtree(folder, onerror=gone_already)


def _history_destination(base: Path, previous: Path) -> Path:
    """Return a new folder under ``base`` named by when ``previous`` was built."""
    built = datetime.fromtimestamp(previous.stat().st_mtime, UTC).strftime("%Y%m%dT%H%M%S")
    facts = previous / "build.json"
    if facts.is_file():
        try:
            built = json.loads(facts.read_text()).get("generated_at", built).replace(":", "")
        except (ValueError, AttributeError):
            pass
    destination = base / built
    suffix = 1
    while destination.exists():
        destination = base / f"{built}-{suffix}"
        suffix += 1
    return destination
