"""The data source: engine, canonical table and column mapping, and up-front schema checks.

A section asks for canonical names (``carts.created_at``); this module answers with the
quoted real identifiers, after the config's ``tables`` / ``columns`` renames and ``views``
(named SQL building a canonical table from whatever the user has).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from reportgen.config import Config
from reportgen.errors import SourceError
from reportgen.sections import canonical_tables
from reportgen.source.spark import spark_url
from reportgen.source.sqlexpr import register_functions

ZONED_TIMESTAMP_TEXT = {
    "postgresql": "(to_char({column} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC')",
    "duckdb": "(strftime(timezone('UTC', {column}), '%Y-%m-%d %H:%M:%S.%f') || ' UTC')",
}
"""How each engine prints a zone-aware timestamp as text the §8 parser reads."""


@dataclass
class TableInfo:
    """A canonical table as found in the source."""

    canonical: str
    real: str
    """The name the user's data uses (after renames), for messages."""
    sql: str
    """The quoted identifier to put in FROM."""
    columns: dict[str, str] = field(default_factory=dict)
    """Canonical column → quoted real column (or an expression over it), if it exists."""


class Source:
    """An open connection to the user's data with the canonical mapping resolved."""

    def __init__(self, config: Config, connection: Connection) -> None:
        self.config = config
        self.connection = connection
        self.dialect = connection.dialect.name
        self._preparer = connection.dialect.identifier_preparer
        self._existing = self._existing_relations()
        self.tables: dict[str, TableInfo] = {}
        self._problems: dict[str, list[str]] = {}
        self._types: dict[tuple[str, str], str] = {}
        for name, sql in config.source.views.items():
            self._create_view(name, sql)

    # -- identifiers ---------------------------------------------------------------------
    def quote(self, identifier: str) -> str:
        """Quote one identifier (the only way config names reach SQL)."""
        return self._preparer.quote(identifier)

    def quote_dotted(self, name: str) -> str:
        return ".".join(self.quote(part) for part in name.split("."))

    # -- discovery -----------------------------------------------------------------------
    def _existing_relations(self) -> dict[str, str]:
        inspector = sa.inspect(self.connection)
        names: list[str] = []
        try:
            names += inspector.get_table_names() + inspector.get_view_names()
        except SQLAlchemyError as exc:
            raise SourceError(
                f"cannot list tables of {self.config.source.url}: {_first_line(exc)}"
            ) from None
        return {n.lower(): n for n in names}

    def _create_view(self, canonical: str, sql: str) -> None:
        """Materialise ``source.views.<canonical>`` as a temporary view."""
        view = f"rg_view_{canonical}"
        try:
            self.connection.exec_driver_sql(f"create temporary view {self.quote(view)} as {sql}")
        except SQLAlchemyError as exc:
            where = f"{self.config.origin}: source.views.{canonical}"
            raise SourceError(f"{where}: the SQL failed: {_first_line(exc)}") from None
        self._existing[view] = view

    def real_table_name(self, canonical: str) -> str:
        if canonical in self.config.source.views:
            return f"rg_view_{canonical}"
        return self.config.source.tables.get(canonical, canonical)

    def has_table(self, canonical: str) -> bool:
        real = self.real_table_name(canonical)
        # A schema-qualified name is not in the default schema's listing: the first query
        # on it reports a wrong one.
        return real.lower() in self._existing or "." in real

    def table(self, canonical: str) -> TableInfo:
        """Return the mapped table, checking its required columns exist."""
        if canonical in self.tables:
            return self.tables[canonical]
        missing = self.missing_columns([canonical])
        if missing:
            raise SourceError(missing[0])
        return self.tables[canonical]

    def missing_columns(self, canonicals: Iterable[str]) -> list[str]:
        """Describe every missing table or required column, with the config key mapping it."""
        return [problem for canonical in canonicals for problem in self._inspect(canonical)]

    def usable(self, canonical: str) -> bool:
        """Return whether an optional table is there with its required columns."""
        return self.has_table(canonical) and not self._inspect(canonical)

    def _inspect(self, canonical: str) -> list[str]:
        """Map one table's columns (once) and return what is missing from it."""
        if canonical in self._problems:
            return self._problems[canonical]
        problems: list[str] = []
        self._problems[canonical] = problems
        real = self.real_table_name(canonical)
        if not self.has_table(canonical):
            problems.append(
                f"table {real!r} (canonical {canonical!r}) not found; map it with "
                f"source.tables.{canonical} or source.views.{canonical}"
            )
            return problems
        real_columns = self._columns_of(real, canonical)
        renames = self.config.source.columns.get(canonical, {})
        lowered = {c.lower(): c for c in real_columns}
        info = TableInfo(canonical, real, self.quote_dotted(self._existing.get(real.lower(), real)))
        spec = canonical_tables().get(canonical)
        required = spec.required if spec else ()
        for column in required + (spec.optional if spec else ()):
            name = renames.get(column, column)
            if name.lower() in lowered:
                info.columns[column] = self.quote(lowered[name.lower()])
            elif column in required:
                problems.append(
                    f"column {name!r} missing from table {real!r}; map it with "
                    f"source.columns.{canonical}.{column}"
                )
        self._read_zoned_timestamps(info)
        self.tables[canonical] = info
        return problems

    def _read_zoned_timestamps(self, info: TableInfo) -> None:
        """Read a zone-aware timestamp column as UTC text with a `` UTC`` suffix.

        A typed ``timestamptz`` prints as ``…+00`` on PostgreSQL and DuckDB, a form
        METRICS.md §8 does not accept; its instant is what counts, so give it one that is.
        """
        spec = canonical_tables().get(info.canonical)
        column = spec.timestamp if spec else None
        if column not in info.columns or self.dialect not in ZONED_TIMESTAMP_TEXT:
            return
        typeof = "pg_typeof" if self.dialect == "postgresql" else "typeof"
        quoted = info.columns[column]
        kind = self.connection.exec_driver_sql(
            f"select cast({typeof}({quoted}) as varchar) from {info.sql} limit 1"
        ).scalar()
        if kind and "with time zone" in kind.lower():
            info.columns[column] = ZONED_TIMESTAMP_TEXT[self.dialect].format(column=quoted)

    def column_type(self, canonical: str, column: str) -> str:
        """Return the engine's type name of a mapped column (lower case; '' when the table
        is empty), so a section can skip text coercion on natively typed columns."""
        info = self.table(canonical)
        key = (canonical, column)
        if key not in self._types:
            typeof = {"postgresql": "pg_typeof", "duckdb": "typeof"}.get(self.dialect, "typeof")
            found = self.connection.exec_driver_sql(
                f"select cast({typeof}({info.columns[column]}) as varchar) from {info.sql} "
                f"where {info.columns[column]} is not null limit 1"
            ).scalar()
            self._types[key] = str(found or "").lower()
        return self._types[key]

    def _columns_of(self, real: str, canonical: str) -> list[str]:
        try:
            name = self.quote_dotted(self._existing.get(real.lower(), real))
            result = self.connection.exec_driver_sql(f"select * from {name} where 1 = 0")
            return list(result.keys())
        except SQLAlchemyError as exc:
            where = (
                f"source.views.{canonical}: the SQL failed"
                if canonical in self.config.source.views
                else f"cannot read table {real!r}"
            )
            raise SourceError(f"{self.config.origin}: {where}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


_SQLITE_PATH = re.compile(r"^sqlite(\+\w+)?:///(?P<path>[^?]+)")


def engine_for(config: Config) -> Engine:
    """Create the engine for ``source.url`` (or embedded DuckDB for ``source.files``).

    SQLite files are opened read-only: reportgen never writes to the user's data (its
    temporary tables live in SQLite's separate temp database).
    """
    url = config.source.url
    if not url:
        if config.source.files:
            return sa.create_engine("duckdb:///:memory:")
        raise SourceError(f"{config.origin}: source.url: no data source configured")
    match = _SQLITE_PATH.match(url)
    if match and match["path"] != ":memory:":
        path = config.resolve(match["path"])
        if not path.is_file():
            raise SourceError(f"{config.origin}: source.url: database file not found: {path}")
        return sa.create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"check_same_thread": False}
        )
    if url.startswith("duckdb:///") and not url.endswith(":memory:"):
        path = config.resolve(url.removeprefix("duckdb:///").split("?")[0])
        if not path.is_file():
            raise SourceError(f"{config.origin}: source.url: database file not found: {path}")
        return sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    url = spark_url(url)  # sc://host:port is Spark Connect
    try:
        make_url(url)
        return sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SourceError(
            f"{config.origin}: source.url: cannot use {url!r}: {_first_line(exc)}"
        ) from None


@contextmanager
def open_source(config: Config) -> Iterator[Source]:
    """Connect, register ``source.files`` as DuckDB views, and yield a Source."""
    engine = engine_for(config)
    try:
        with engine.connect() as connection:
            # Before any temp object exists: SQLite's temp_store pragma drops them all.
            register_functions(connection)
            _register_files(config, connection)
            yield Source(config, connection)
    except SQLAlchemyError as exc:
        raise SourceError(f"{config.origin}: source.url: {_first_line(exc)}") from None
    finally:
        engine.dispose()


def _register_files(config: Config, connection: Connection) -> None:
    """Expose each ``source.files`` entry as a DuckDB view named like its canonical table."""
    if not config.source.files:
        return
    if connection.dialect.name != "duckdb":
        raise SourceError(
            f"{config.origin}: source.files needs a DuckDB source (omit source.url or use duckdb:///)"
        )
    preparer = connection.dialect.identifier_preparer
    for canonical, pattern in config.source.files.items():
        path = str(config.resolve(pattern))
        if not glob.glob(path):
            raise SourceError(f"{config.origin}: source.files.{canonical}: no file matches {path}")
        escaped = path.replace("'", "''")
        if Path(pattern).suffix.lower() == ".parquet":
            reader = f"read_parquet('{escaped}', union_by_name = true)"
        else:
            # Every CSV value as text, parsed by the §8 rules like any text column: the
            # sniffer would read `2020-09-24 11:57:06 UTC` as a naive time (dropping its
            # zone) and fail the whole read on one odd value past its sample.
            reader = f"read_csv('{escaped}', union_by_name = true, all_varchar = true)"
        name = config.source.tables.get(canonical, canonical)
        connection.exec_driver_sql(
            f"create or replace temporary view {preparer.quote(name)} as select * from {reader}"
        )
