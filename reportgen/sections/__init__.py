"""The registry of report sections, in report order.

A section is a package here (its queries, charts, template, rules and docs); it is added
to the report by one line in ``REGISTERED``.
"""

from __future__ import annotations

import importlib

from reportgen.plugin import Section

REGISTERED: tuple[str, ...] = (
    "reportgen.sections.carts",
    "reportgen.sections.events",
)
"""The section packages, each exposing ``SECTION``: one line per section."""


def all_sections() -> list[Section]:
    """Return the registered sections in report order."""
    return [importlib.import_module(name).SECTION for name in REGISTERED]
