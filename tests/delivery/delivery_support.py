"""Helpers the delivery tests share: a small shop's rows, a config, the ledger, a build copier.

Plain functions (not fixtures) so a test can also use them in a ``run-due`` subprocess:
``install_copy_build`` replaces ``build_report`` there too.
"""

from __future__ import annotations

import itertools
import json
import shutil
import socket
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from reportgen.config import load_config
from reportgen.delivery.ledger import Ledger

WEEKLY = (
    "  weekly-director:\n"
    "    period: week\n    due: monday 07:00\n    timezone: Europe/London\n"
    "    recipients: [director@example.com]\n    sections: [carts]\n"
)


def weekly(*recipients: str, extra: str = "") -> str:
    """The weekly-director schedule sent to ``recipients`` (default: the director)."""
    shown = ", ".join(recipients or ("director@example.com",))
    return (
        "  weekly-director:\n"
        "    period: week\n    due: monday 07:00\n    timezone: Europe/London\n"
        f"    recipients: [{shown}]\n    sections: [carts]\n{extra}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shop_rows(first: date, last: date) -> dict[str, list[tuple]]:
    """A small shop with a few carts and orders every day from ``first`` to ``last``."""
    carts, items, orders = [], [], []
    day, n = first, 0
    while day <= last:
        for hour, status in ((9, "converted"), (13, "abandoned"), (18, "abandoned")):
            n += 1
            stamp = f"{day} {hour:02d}:00:00"
            carts.append((f"c{n}", f"u{n % 7}", stamp, status))
            items.append((f"c{n}", f"p{n % 5}", 1, 10 + n % 5))
            if status == "converted":
                orders.append((f"o{n}", f"u{n % 7}", f"{day} {hour:02d}:30:00", f"c{n}"))
        day += timedelta(days=1)
    return {"carts": carts, "cart_items": items, "orders": orders}


def write_config(
    tmp_path: Path,
    db: Path,
    port: int,
    schedule: str,
    extra: str = "",
    *,
    smtp: str = "",
    retries: int = 1,
) -> Path:
    """Write ``shop.yaml``: the database, an archive under tmp_path, the test SMTP server.

    ``extra`` is more of the ``delivery:`` mapping (indented two spaces); ``smtp`` more keys
    of ``delivery.smtp`` (``", timeout: 1"``).
    """
    config = tmp_path / "shop.yaml"
    config.write_text(
        f"source:\n  url: sqlite:///{db}\n"
        "report:\n  output: reports\n  title: Shop weekly\n  trend_periods: 0\n"
        "delivery:\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, starttls: false, "
        f"sender: rg@example.com{smtp}}}\n"
        f"  retries: {retries}\n  retry_backoff_seconds: 0\n"
        f"{extra}"
        "schedules:\n"
        f"{schedule}"
    )
    return config


def ledger_rows(config: Path) -> list[dict]:
    ledger = Ledger(load_config(config).ledger_path)
    try:
        return ledger.rows()
    finally:
        ledger.close()


def record_sent(config: Path, report: str, label: str, start: str) -> None:
    ledger = Ledger(load_config(config).ledger_path)
    try:
        row = ledger.start(report, label, start, config_hash="x", fingerprint="{}", recipients=[])
        ledger.finish(row, "sent", smtp_response="250 earlier")
    finally:
        ledger.close()


_copies = itertools.count(1)


def copy_build(source: Path) -> Any:
    """Return a ``build_report`` stand-in that publishes a copy of the built ``source`` folder.

    Each copy's PDF gets a distinct trailing comment, so every "build" has its own SHA-256
    (as real builds at different times do) while costing a file copy, not a render.
    """
    from reportgen.archive.publish import archive_lock, file_sha256, publish
    from reportgen.report.build import BuildResult

    def build(config, period, *, output=None, pdf=True, force=False, timer=None, sections=None):
        output = output or config.output_dir
        number = next(_copies)

        def fill(folder: Path) -> None:
            shutil.copytree(source, folder, dirs_exist_ok=True)
            with open(folder / "report.pdf", "ab") as stream:
                stream.write(f"\n% copy {number}\n".encode())

        with archive_lock(output):
            folder = publish(output, period, fill, force=force)
            sha = file_sha256(folder / "report.pdf")
        return BuildResult(
            folder=folder,
            metrics=json.loads((folder / "metrics.json").read_text()),
            recommendations=[],
            pdf=folder / "report.pdf",
            timings={},
            pdf_sha256=sha,
        )

    return build


def install_copy_build(source: Path) -> None:
    """Make ``reportgen.report.build.build_report`` publish copies of ``source``."""
    import reportgen.report.build as build

    build.build_report = copy_build(Path(source))
