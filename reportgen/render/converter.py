"""Vega-Lite → SVG in a process of its own, so the charts use the second core.

vl-convert runs every conversion on one JavaScript runtime and holds the GIL while it
does: the builders of a report's charts (Altair, pure Python) and the conversions take
turns on one core, whatever the number of threads (23 demo charts: 5.6 s one after the
other, 5.9 to 7.5 s on four threads). With the conversions in a process of their own the
builders run while the previous chart converts.

The process is this file run as a script (``python -P converter.py FONT_DIR``): it imports
nothing of reportgen, only vl-convert, and answers the requests on its standard input in
the order they came. Each request is a Vega-Lite spec as JSON; each answer the SVG or
vl-convert's error. ``ChartConverter.convert`` may be called from several threads; the
requests queue, so the process never waits for the next one.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path
from typing import Any, BinaryIO

_LENGTH = struct.Struct(">I")
_OK, _ERROR = b"o", b"e"

WARM_UP = {"mark": "text", "encoding": {"text": {"value": "0"}}}
"""A chart the process draws as it starts: the runtime's first conversion takes most of a
second, paid before the first real chart arrives."""


class ConverterGoneError(RuntimeError):
    """The converter process has ended (it was closed, or it died)."""


class ChartConverter:
    """One converter process and the conversions asked of it, answered in order."""

    def __init__(self, font_dir: Path) -> None:
        self._process = subprocess.Popen(
            # -P: this file's folder (which holds an html.py) must not shadow the stdlib.
            [sys.executable, "-P", str(Path(__file__).resolve()), str(font_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._waiting: deque[Future[str]] = deque()
        self._sending = threading.Lock()
        self._gone = False
        self._reader = threading.Thread(
            target=self._read_answers, name="rg-chart-answers", daemon=True
        )
        self._reader.start()

    def convert(self, spec: dict[str, Any]) -> str:
        """Return ``spec`` drawn as SVG; vl-convert's own error is a ValueError, as in
        process. Raises ConverterGoneError if the process has ended."""
        return self.submit(spec).result()

    def submit(self, spec: dict[str, Any]) -> Future[str]:
        request = json.dumps(spec).encode("utf-8")
        answer: Future[str] = Future()
        with self._sending:
            if self._gone:
                raise ConverterGoneError("the chart converter process has ended")
            self._waiting.append(answer)
            try:
                _send(self._process.stdin, request)
            except OSError:
                self._waiting.remove(answer)
                raise ConverterGoneError("the chart converter process has ended") from None
        return answer

    def close(self) -> None:
        """End the process (the answers not yet read fail with ConverterGoneError)."""
        with self._sending:
            self._gone = True
            try:
                self._process.stdin.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join()

    def _read_answers(self) -> None:
        answers = self._process.stdout
        while True:
            head = answers.read(1 + _LENGTH.size)
            if len(head) < 1 + _LENGTH.size:
                break
            (size,) = _LENGTH.unpack(head[1:])
            body = answers.read(size).decode("utf-8")
            with self._sending:
                waiting = self._waiting.popleft()
            if head[:1] == _OK:
                waiting.set_result(body)
            else:
                waiting.set_exception(ValueError(body))
        with self._sending:
            self._gone = True
            pending, self._waiting = list(self._waiting), deque()
        for waiting in pending:
            waiting.set_exception(ConverterGoneError("the chart converter process has ended"))


def _send(stream: BinaryIO | None, payload: bytes, status: bytes = b"") -> None:
    assert stream is not None
    stream.write(status + _LENGTH.pack(len(payload)) + payload)
    stream.flush()


def _serve(font_dir: str) -> None:
    """The process's loop: a spec in, its SVG (or vl-convert's error) out, until EOF."""
    import vl_convert as vlc

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed may corrupt the answers
    vlc.register_font_directory(font_dir)
    vlc.vegalite_to_svg(WARM_UP)
    while True:
        head = requests.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return
        (size,) = _LENGTH.unpack(head)
        # Parsed here, not by vl-convert: its JSON reader can round a float to the next
        # one, a dict goes over as the float it is (the same SVG as in process).
        spec = json.loads(requests.read(size))
        try:
            status, text = _OK, vlc.vegalite_to_svg(spec)
        except ValueError as exc:
            status, text = _ERROR, str(exc)
        _send(answers, text.encode("utf-8"), status)


if __name__ == "__main__":
    _serve(sys.argv[1])
