"""Text normalisation shared by the config, the SQL and the tests (METRICS.md §8)."""

from __future__ import annotations

import sys

# Every character Python's str.strip() removes; SQL trim() is given this set so the
# database strips exactly as Python does.
WHITESPACE = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


def strip_text(value: object) -> str:
    """Return ``value`` as text with Python's strip() applied."""
    return str(value).strip()


def normalise_token(value: object) -> str:
    """Return a status or event type as the rules compare it: stripped, lower-case."""
    return strip_text(value).lower()


def normalised_list(values: list[str]) -> list[str]:
    """Strip and lower-case rule values as the data is (METRICS.md §8), dropping empties."""
    out: list[str] = []
    for value in values:
        token = normalise_token(value)
        if token and token not in out:
            out.append(token)
    return out
