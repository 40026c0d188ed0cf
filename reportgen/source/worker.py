"""The process ``beside.own_process`` starts: ``python -m reportgen.source.worker``.

It reads a pickled ``(function, args)`` on standard input, runs it and writes the pickled
``("ok", value)`` or ``("error", exception)`` on standard output. A worker of its own,
rather than multiprocessing's spawn: that re-runs the caller's main script, which breaks
a script that calls reportgen without an ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import pickle
import sys


def main() -> None:
    answer_to = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever the work prints must not corrupt the answer
    function, args = pickle.load(sys.stdin.buffer)
    try:
        answer = pickle.dumps(("ok", function(*args)))
    except BaseException as exc:
        try:
            answer = pickle.dumps(("error", exc))
        except Exception:
            answer = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    answer_to.write(answer)
    answer_to.flush()


if __name__ == "__main__":
    main()
