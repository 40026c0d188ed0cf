"""The report archive: ``reports/<kind>/<label>/`` written atomically, old versions kept.

A build writes every file into a hidden temporary folder beside its target and renames
it into place, so a crash never leaves half a report. A period built again moves the
existing folder to ``reports/history/<kind>/<label>/<built at>/`` first (``--force``
replaces it instead), so history is never overwritten silently.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
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
