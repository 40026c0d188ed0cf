"""The registry of report sections, in report order.

A section is a package here (its tables, rules, queries, charts, template, docs and
tests); it joins the report by one line in ``REGISTERED``. The core asks this module what
the sections are and never names one.
"""

from __future__ import annotations

import importlib
from functools import cache

from reportgen.plugin import Section, TableSpec

REGISTERED: tuple[str, ...] = (
    "reportgen.sections.carts",
    "reportgen.sections.events",
    "reportgen.sections.experiments",
    "reportgen.sections.marketing",
)
"""The section packages, each exposing ``SECTION``: one line per section."""


def all_sections() -> list[Section]:
    """Return the registered sections in report order."""
    return list(_load(REGISTERED))


@cache
def _load(modules: tuple[str, ...]) -> tuple[Section, ...]:
    sections = tuple(importlib.import_module(name).SECTION for name in modules)
    names = [section.name for section in sections]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise RuntimeError(f"two registered sections are named {', '.join(duplicated)}")
    return sections


def canonical_tables() -> dict[str, TableSpec]:
    """Return every canonical table a registered section reads, columns merged.

    Two sections reading one table (orders, say) must agree on its timestamp column; a
    column one of them requires is required.
    """
    return dict(_merged_tables(REGISTERED))


@cache
def _merged_tables(modules: tuple[str, ...]) -> tuple[tuple[str, TableSpec], ...]:
    merged: dict[str, TableSpec] = {}
    for section in _load(modules):
        for spec in section.tables:
            known = merged.get(spec.name)
            if known is None:
                merged[spec.name] = spec
                continue
            if spec.timestamp and known.timestamp and spec.timestamp != known.timestamp:
                raise RuntimeError(
                    f"sections disagree on the timestamp of table {spec.name!r}: "
                    f"{known.timestamp!r} and {spec.timestamp!r}"
                )
            required = tuple(dict.fromkeys(known.required + spec.required))
            optional = tuple(
                c for c in dict.fromkeys(known.optional + spec.optional) if c not in required
            )
            merged[spec.name] = TableSpec(
                spec.name,
                required,
                optional,
                known.timestamp or spec.timestamp,
                known.freshness or spec.freshness,
            )
    return tuple(merged.items())


def section_named(name: str) -> Section | None:
    """Return the registered section called ``name``, if any."""
    return next((section for section in all_sections() if section.name == name), None)
