"""Show a long command's progress: a live bar on a terminal, timestamped lines in a log.

The library only reports events: ``build_report(progress=...)`` calls a
``reportgen.report.build.Progress``, ``(stage, seconds)``, as each stage finishes. This
module decides how they look. On a terminal a click progress bar counts the stages and
names the last one done; when stdout is not a terminal (cron, a log file) each event is
one line, ``2026-12-01T07:00:03Z build 2026-11: queries done in 3.2 s``.

Any verb with stages can use it::

    with progress_display("build 2026-11", stages=6) as progress:
        build_report(config, period, progress=progress)
        progress("send", 0.4)  # a verb's own stage, timed by the verb
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:  # the build module loads pandas: imported only when a build runs
    from reportgen.report.build import Progress


def timestamp() -> str:
    """Return now in UTC as a log line starts: ``2026-12-01T07:00:03Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


@contextmanager
def progress_display(
    subject: str, stages: int | None = None, *, stream: TextIO | None = None
) -> Iterator[Progress]:
    """Yield a ``Progress`` that shows each finished stage of ``subject`` on ``stream``.

    ``subject`` names the work (``build 2026-11``); ``stages`` is how many events to
    expect, the length of the bar on a terminal (more are shown, the bar stays full).
    ``stream`` defaults to stdout. Events may come from any thread.
    """
    stream = stream or sys.stdout  # looked up now: click's test runner replaces it
    lock = threading.Lock()
    if not _is_terminal(stream):

        def line(stage: str, seconds: float) -> None:
            with lock:
                click.echo(f"{timestamp()} {subject}: {stage} done in {seconds:.1f} s", stream)

        yield line
        return

    bar = click.progressbar(
        length=max(stages or 1, 1),
        label=subject,
        show_eta=False,
        show_percent=False,
        show_pos=True,
        item_show_func=lambda text: text,
        file=stream,
    )
    with bar:

        def advance(stage: str, seconds: float) -> None:
            with lock:
                if bar.pos >= bar.length:
                    bar.length += 1  # an event not counted: keep the bar honest
                bar.update(1, f"{stage} done in {seconds:.1f} s")

        yield advance
