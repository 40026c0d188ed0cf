"""The data source: engine, canonical table and column mapping, and up-front schema checks.

A section asks for canonical names (``carts.created_at``); this module answers with the
quoted real identifiers, after the config's ``tables`` / ``columns`` renames and ``views``
(named SQL building a canonical table from whatever the user has).
"""

from __future__ import annotations

import atexit
import codecs
import fnmatch
import glob
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from reportgen.config import Config
from reportgen.errors import SourceError
from reportgen.sections import canonical_tables
from reportgen.source.spark import spark_url
from reportgen.source.sqlexpr import Expr, register_functions, sql_literal

ZONED_TIMESTAMP_TEXT = {
    "postgresql": "(to_char({column} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC')",
    "duckdb": "(strftime(timezone('UTC', {column}), '%Y-%m-%d %H:%M:%S.%f') || ' UTC')",
    # The session zone is UTC (the dialect sets it): the value prints as its UTC instant.
    "spark": "concat(date_format({column}, 'yyyy-MM-dd HH:mm:ss.SSSSSS'), ' UTC')",
}
"""How each engine prints a zone-aware timestamp as text the §8 parser reads."""
ZONED_TYPE_NAMES = {
    "postgresql": "with time zone",
    "duckdb": "with time zone",
    "spark": "timestamp",
}
"""What the engine's type name of a zone-aware timestamp contains (Spark: exactly is)."""


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

    def __init__(
        self, config: Config, connection: Connection, *, now: datetime | None = None
    ) -> None:
        self.config = config
        self.connection = connection
        self.now = now or datetime.now(UTC)
        """The build's clock (UTC): rows dated after it are counted as future-dated."""
        self.dialect = connection.dialect.name
        self._preparer = connection.dialect.identifier_preparer
        self._existing = self._existing_relations()
        self.tables: dict[str, TableInfo] = {}
        self._problems: dict[str, list[str]] = {}
        self._types: dict[tuple[str, str], str] = {}
        self.files_source: Source | None = None
        """With ``source.url`` beside ``source.files`` (mixed sources): the embedded
        DuckDB that holds the files' tables, each section run on the one with its table."""
        self.url_source: Source | None = None
        """On the files' side of a mixed source: the database's Source (for ``lookup``)."""
        for name, sql in config.source.views.items():
            self._create_view(name, sql)

    # -- mixed sources -------------------------------------------------------------------
    def holding(self, canonical: str) -> Source:
        """Return the source whose engine holds ``canonical``: the files' DuckDB for a
        ``source.files`` entry, else this one."""
        files = self.files_source
        if files is not None and canonical in files.config.source.files:
            return files
        return self

    def lookup(self, canonical: str) -> Source:
        """Return the source to read an optional table from in a query of its own (product
        names for a list of ids): this one when it has the table, else the other engine of
        a mixed source when that one does. Never for a join: those stay on one engine."""
        if self.usable(canonical):
            return self
        for other in (self.files_source, self.url_source):
            if other is not None and other.usable(canonical):
                return other
        return self

    def split_tables(self, canonicals: Sequence[str]) -> str | None:
        """Describe why tables one section reads together sit on two engines (None when
        they do not): a query cannot join a database table with a file's."""
        engine = self.holding(canonicals[0])
        apart = [name for name in canonicals[1:] if self.holding(name) is not engine]
        if not apart:
            return None
        where = {id(self): "source.url", id(self.files_source): "source.files"}
        other = apart[0]
        return (
            f"{self.config.origin}: source.files: {canonicals[0]} is read from "
            f"{where[id(engine)]} and {other} from {where[id(self.holding(other))]}, but "
            f"{', '.join(canonicals)} are read together: give them all in source.files or "
            f"leave them all to source.url"
        )

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
            where = "source.url" if self.config.source.url else "source.files"
            raise SourceError(
                f"{self.config.origin}: {where}: cannot list tables: {_first_line(exc)}"
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
            f"select cast({typeof}({quoted}) as {self.text_type}) from {info.sql} limit 1"
        ).scalar()
        zoned = ZONED_TYPE_NAMES[self.dialect]
        if kind and (kind.lower() == zoned if self.dialect == "spark" else zoned in kind.lower()):
            info.columns[column] = ZONED_TIMESTAMP_TEXT[self.dialect].format(column=quoted)

    @property
    def text_type(self) -> str:
        """The engine's name of the text type (``varchar``; Spark says ``string``)."""
        return "string" if self.dialect == "spark" else "varchar"

    # -- the build's clock ---------------------------------------------------------------
    def clock_binds(self) -> dict[str, str]:
        """Bind values for ``later_than_now``: the clock in local canonical text, and the
        text bounds of its cheap pre-filter (a day of margin: offsets are under a day)."""
        local = self.now.astimezone(ZoneInfo(self.config.report.timezone)).replace(tzinfo=None)
        return {
            "rg_now": local.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "rg_now_lo": (local - timedelta(days=1)).date().isoformat(),
            "rg_now_hi": ":",  # every text that starts with a digit sorts below ':'
        }

    def later_than_now(self, expr: Expr, raw: str) -> str:
        """Return SQL that is 1 where a raw timestamp is later than the build's clock, in
        ``report.timezone`` local time (0 for NULL and unparsed values).

        Only values that may be that recent are parsed (a text comparison picks them);
        the rest of the column costs one comparison a row.
        """
        maybe = expr.may_fall_between(raw, "rg_now_lo", "rg_now_hi")
        local = expr.slow_local(expr.strip(raw))
        return (
            f"(case when {maybe} then (case when {local} > :rg_now then 1 else 0 end) else 0 end)"
        )

    def column_type(self, canonical: str, column: str) -> str:
        """Return the engine's type name of a mapped column (lower case; '' when the table
        is empty), so a section can skip text coercion on natively typed columns."""
        info = self.table(canonical)
        key = (canonical, column)
        if key not in self._types:
            typeof = {"postgresql": "pg_typeof", "duckdb": "typeof"}.get(self.dialect, "typeof")
            found = self.connection.exec_driver_sql(
                f"select cast({typeof}({info.columns[column]}) as {self.text_type}) "
                f"from {info.sql} "
                f"where {info.columns[column]} is not null limit 1"
            ).scalar()
            self._types[key] = str(found or "").lower()
        return self._types[key]

    def number(self, expr: Expr, canonical: str, column: str) -> str:
        """Return a mapped column as a number: ``expr.number``'s text coercion (METRICS.md
        §8: text that is not a number is NULL), skipped where the column is typed so that
        its text would read back as the very same double.

        That is DuckDB's integers of up to 64 bits, doubles and decimals of up to 18
        digits (tested value by value): the round trip through text was a third of the
        1M-cart history's line merge. Not a float, whose text is the shortest that reads
        back as a float (0.1, not 0.100000001490116 as a double).
        """
        quoted = self.table(canonical).columns[column]
        if self.dialect == "duckdb" and _reads_as_double(self.column_type(canonical, column)):
            return f"cast({quoted} as double)"
        return expr.number(quoted)

    def _columns_of(self, real: str, canonical: str) -> list[str]:
        try:
            name = self.quote_dotted(self._existing.get(real.lower(), real))
            result = self.connection.exec_driver_sql(f"select * from {name} where 1 = 0")
            return list(result.keys())
        except SQLAlchemyError as exc:
            if canonical in self.config.source.files:
                raise SourceError(describe_source_error(self.config, exc, canonical)) from None
            where = (
                f"source.views.{canonical}: the SQL failed"
                if canonical in self.config.source.views
                else f"cannot read table {real!r}"
            )
            raise SourceError(f"{self.config.origin}: {where}: {_first_line(exc)}") from None


_EXACT_DOUBLE_TYPES = frozenset(
    (
        "tinyint",
        "smallint",
        "integer",
        "bigint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "double",
    )
)
"""DuckDB types whose every value, printed as text, reads back as its own cast to double."""


def _reads_as_double(kind: str) -> bool:
    """Whether a DuckDB column of type ``kind`` (``typeof``'s name, lower case) can be
    cast to double instead of reading its text (``Source.number``)."""
    decimal = re.fullmatch(r"decimal\((\d+),\s*\d+\)", kind)
    return kind in _EXACT_DOUBLE_TYPES or (decimal is not None and int(decimal[1]) <= 18)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


_SQLITE_PATH = re.compile(r"^sqlite(\+\w+)?:///(?P<path>[^?]+)")


def sqlite_file(config: Config) -> Path | None:
    """The database file a ``sqlite:///`` url names (resolved), or None for another url
    or an in-memory database."""
    match = _SQLITE_PATH.match(config.source.url or "")
    if not match or match["path"] == ":memory:":
        return None
    return config.resolve(match["path"])


def engine_for(config: Config) -> Engine:
    """Create the engine for ``source.url`` (or embedded DuckDB for ``source.files``).

    SQLite files are opened read-only: reportgen never writes to the user's data (its
    temporary tables live in SQLite's separate temp database).
    """
    url = config.source.url
    if not url:
        if config.source.files:
            return sa.create_engine("duckdb:///:memory:", connect_args=_duckdb_args(config))
        raise SourceError(
            f"{config.origin}: source: no data source configured; set source.url or source.files"
        )
    path = sqlite_file(config)
    if path is not None:
        if not path.is_file():
            raise SourceError(f"{config.origin}: source.url: database file not found: {path}")
        return sa.create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"check_same_thread": False}
        )
    if url.startswith("duckdb:///") and not url.endswith(":memory:"):
        path = config.resolve(url.removeprefix("duckdb:///").split("?")[0])
        if not path.is_file():
            raise SourceError(f"{config.origin}: source.url: database file not found: {path}")
        args = {"read_only": True, **_duckdb_args(config, path)}
        return sa.create_engine(f"duckdb:///{path}", connect_args=args)
    try:
        url = spark_url(url)  # sc://host:port is Spark Connect
        if make_url(url).get_backend_name() == "duckdb":
            return sa.create_engine(url, connect_args=_duckdb_args(config))
        return sa.create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SourceError(
            f"{config.origin}: source.url: cannot use {url!r}: {_first_line(exc)}"
        ) from None


def _duckdb_args(config: Config, shared: Path | None = None) -> dict[str, Any]:
    """DuckDB's connect settings for ``source.memory_limit``: the cap, and a folder of
    reportgen's own to spill to past it (DuckDB's default, ``.tmp`` in the working
    directory, may not be writable and would stay behind).

    They are set when the database opens, not by a statement: a database file is one
    instance for every connection of the process (the whole-table checks open a second
    one), which must see the same settings, so its folder is kept per file.
    """
    limit = config.source.memory_limit
    if not limit:
        return {}
    return {"config": {"memory_limit": limit, "temp_directory": str(_spill_folder(shared))}}


_SPILL_ROOT: list[Path] = []
"""This process's folder for DuckDB's spill files (made at first use, removed at exit)."""


def _spill_folder(shared: Path | None) -> Path:
    """Return a spill folder: one per database file, a new one per in-memory database.

    DuckDB deletes its spill files as a database closes; the folders go when the
    process ends (a killed run leaves empty folders under the system temp directory).
    """
    with _SPILL_LOCK:
        if not _SPILL_ROOT:
            root = Path(tempfile.mkdtemp(prefix="reportgen-duckdb-spill-"))
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            _SPILL_ROOT.append(root)
        root = _SPILL_ROOT[0]
        if shared is None:
            return Path(tempfile.mkdtemp(prefix="memory-", dir=root))
        folder = root / hashlib.sha1(str(shared).encode()).hexdigest()[:16]
        folder.mkdir(exist_ok=True)
        return folder


_SPILL_LOCK = threading.Lock()


def is_mixed(config: Config) -> bool:
    """Whether ``source.files`` stands beside a ``source.url`` that is not DuckDB (whose
    own connection registers the files): two engines, each section run on one."""
    url = config.source.url or ""
    return bool(url and config.source.files and not url.startswith("duckdb:"))


def split_config(config: Config) -> tuple[Config, Config]:
    """Return (the url's config, the files' config) of a mixed source.

    Views stay with the url (their SQL is written for that database); renames and column
    maps go to both, as each applies to the tables it finds.
    """
    source = config.source
    # The memory cap is DuckDB's: it goes with the files.
    url_part = source.model_copy(update={"files": {}, "memory_limit": None})
    files_part = source.model_copy(update={"url": None, "views": {}})
    return (
        config.model_copy(update={"source": url_part}),
        config.model_copy(update={"source": files_part}),
    )


@contextmanager
def open_source(config: Config, *, now: datetime | None = None) -> Iterator[Source]:
    """Connect, register ``source.files`` as DuckDB views, and yield a Source.

    ``now`` is the build's clock (default: this moment), against which future-dated rows
    are counted; a second connection of one build passes the first one's. A mixed source
    (``is_mixed``) yields the url's Source with the files' one as its ``files_source``.
    """
    if not is_mixed(config):
        with _open_one(config, now=now) as source:
            yield source
        return
    url_config, files_config = split_config(config)
    with _open_one(url_config, now=now) as primary:
        with _open_one(files_config, now=primary.now) as files:
            primary.files_source = files
            files.url_source = primary
            _refuse_shadowed_tables(primary, files)
            yield primary


def _refuse_shadowed_tables(primary: Source, files: Source) -> None:
    """Refuse a files entry for a table the database also has (rule ``mixed-sources``).

    With one engine, the file's view replaces the table (METRICS.md §8). With two, the
    sections that read that table beside others would each see one of the two: an error
    says so rather than numbers that depend on which section asked.
    """
    for canonical in files.config.source.files:
        if primary.has_table(canonical):
            raise SourceError(
                f"{primary.config.origin}: source.files.{canonical}: the database at "
                f"source.url has table {primary.real_table_name(canonical)!r} too; with "
                "source.url beside source.files each table comes from one of them: drop "
                "the files entry or the table"
            )


@contextmanager
def _open_one(config: Config, *, now: datetime | None = None) -> Iterator[Source]:
    """Open one engine (``open_source`` of a source that is not mixed)."""
    engine = engine_for(config)
    try:
        with engine.connect() as connection:
            # Before any temp object exists: SQLite's temp_store pragma drops them all.
            register_functions(connection)
            _register_files(config, connection)
            yield Source(config, connection, now=now)
    except SQLAlchemyError as exc:
        raise SourceError(describe_source_error(config, exc)) from None
    finally:
        engine.dispose()


def describe_source_error(config: Config, exc: BaseException, canonical: str | None = None) -> str:
    """Return one line naming what failed: the ``source.files`` entry (and the file) when
    DuckDB says which CSV it could not read, else ``source.url``.

    DuckDB's reason is kept; for an encoding error the line says how to set the encoding.
    """
    text = str(getattr(exc, "orig", None) or exc).strip()
    named = re.search(r"^\s*file = (.+?)\s*$", text, re.MULTILINE)
    entry = canonical or (named and _entry_of(config, named.group(1)))
    if not entry:
        where = "source.url" if config.source.url else "source"
        hint = ""
        if config.source.memory_limit and "Out of Memory" in text:
            hint = f" (source.memory_limit is {config.source.memory_limit}: raise it)"
        return f"{config.origin}: {where}: {_first_line(exc)}{hint}"
    spec = config.source.file(entry)
    shown = _shown_path(config, named.group(1)) if named else spec.path
    reason = _csv_reason(text)
    head = f"{config.origin}: source.files.{entry} ({shown})"
    if re.search(r"not (utf-8|utf-16|latin-1) encoded|invalid unicode", text, re.IGNORECASE):
        wanted = spec.encoding or "utf-8"
        # A file that is not UTF-8 is most often latin-1 (or cp1252) export text.
        other = "latin-1" if _duckdb_encoding(wanted) == "utf-8" else "utf-8"
        return (
            f"{head}: not valid {wanted.upper()} ({reason}); set source.encoding: {other} or "
            f"source.files.{entry}: {{path: {spec.path}, encoding: {other}}}"
        )
    return f"{head}: {reason}"


def _csv_reason(text: str) -> str:
    """Keep DuckDB's reason for a failed CSV read: the line and what was wrong with it."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    head = lines[0].removeprefix("Invalid Input Error: ") if lines else "unreadable"
    where = re.match(r"CSV Error on Line: (\d+)", head)
    if not where:
        return head
    detail = next(
        (
            line
            for line in lines[1:]
            if not line.startswith(("Original Line:", "Possible Solution:", "LINE "))
        ),
        "",
    )
    return f"line {where.group(1)}: {detail}".rstrip(": ")


def _entry_of(config: Config, path: str) -> str | None:
    """Return the ``source.files`` entry whose pattern matches a file DuckDB names."""
    for canonical in config.source.files:
        pattern = str(config.resolve(config.source.file(canonical).path))
        resolved = str(Path(path).resolve())
        if fnmatch.fnmatch(resolved, pattern) or any(
            str(Path(t).resolve()) == resolved for t in _transcoded.get(pattern, {}).values()
        ):
            return canonical
    return None


def _shown_path(config: Config, path: str) -> str:
    """A file as the user wrote it: relative to the config's folder when inside it (for a
    transcoded copy, the original file)."""
    resolved = Path(path).resolve()
    for copies in _transcoded.values():
        for original, copy in copies.items():
            if Path(copy).resolve() == resolved:
                resolved = Path(original)
    try:
        return str(resolved.relative_to(config.base_dir))
    except ValueError:
        return str(resolved)


DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-16": "utf-16", "iso8859-1": "latin-1"}
"""Python's name of an encoding → the name DuckDB's read_csv reads natively."""


def _duckdb_encoding(encoding: str) -> str | None:
    """Return DuckDB's name for an encoding it reads itself, None for one it does not."""
    return DUCKDB_ENCODINGS.get(codecs.lookup(encoding).name)


def _register_files(config: Config, connection: Connection) -> None:
    """Expose each ``source.files`` entry as a DuckDB view named like its canonical table."""
    if not config.source.files:
        return
    # Files reach here only on DuckDB: beside another database they get a DuckDB of their
    # own (``is_mixed``).
    preparer = connection.dialect.identifier_preparer
    for canonical in config.source.files:
        spec = config.source.file(canonical)
        path = str(config.resolve(spec.path))
        matches = sorted(glob.glob(path))
        if not matches:
            raise SourceError(f"{config.origin}: source.files.{canonical}: no file matches {path}")
        if Path(spec.path).suffix.lower() == ".parquet":
            reader = f"read_parquet({sql_literal(path)}, union_by_name = true)"
        else:
            reader = _csv_reader(config, canonical, path, matches, spec.encoding or "utf-8")
        name = config.source.tables.get(canonical, canonical)
        try:
            connection.exec_driver_sql(
                f"create or replace temporary view {preparer.quote(name)} as select * from {reader}"
            )
        except SQLAlchemyError as exc:
            raise SourceError(describe_source_error(config, exc, canonical)) from None


def _csv_reader(
    config: Config, canonical: str, path: str, matches: list[str], encoding: str
) -> str:
    """Return the read_csv call for a CSV entry, in its encoding.

    Every CSV value is read as text, parsed by the §8 rules like any text column: the
    sniffer would read `2020-09-24 11:57:06 UTC` as a naive time (dropping its zone) and
    fail the whole read on one odd value past its sample. An encoding DuckDB cannot read
    (cp1252, utf-16-le…) is transcoded to UTF-8 copies first, a chunk at a time.
    """
    native = _duckdb_encoding(encoding)
    if native is None:
        files = [_utf8_copy(config, canonical, path, match, encoding) for match in matches]
        source, option = "[" + ", ".join(sql_literal(f) for f in files) + "]", ""
    else:
        source = sql_literal(path)
        option = "" if native == "utf-8" else f", encoding = {sql_literal(native)}"
    return f"read_csv({source}, union_by_name = true, all_varchar = true{option})"


_transcoded: dict[str, dict[str, str]] = {}
"""Glob pattern → {original file → its UTF-8 copy}, for messages about the original."""
_copies: dict[tuple[str, str], tuple[tuple[int, int], str]] = {}
"""(file, encoding) → ((size, mtime), its UTF-8 copy): a build opens its source several
times (a second connection, the trends), and each copy is made once per file version."""
_copy_lock = threading.Lock()
_copy_numbers = itertools.count()
_copy_dir: tempfile.TemporaryDirectory[str] | None = None
"""Where the copies live: removed when the process exits."""
CHUNK_BYTES = 1 << 20
"""Bytes decoded at a time while transcoding (a few MB of memory whatever the file)."""


def _utf8_copy(config: Config, canonical: str, pattern: str, path: str, encoding: str) -> str:
    """Return a UTF-8 copy of a CSV in an encoding DuckDB cannot read itself."""
    global _copy_dir
    real = os.path.realpath(path)
    stat = os.stat(real)
    key, version = (real, codecs.lookup(encoding).name), (stat.st_size, stat.st_mtime_ns)
    with _copy_lock:
        known = _copies.get(key)
        if known is None or known[0] != version:
            if _copy_dir is None:
                _copy_dir = tempfile.TemporaryDirectory(prefix="reportgen-csv-")
            if known is not None:
                Path(known[1]).unlink(missing_ok=True)  # the file changed: a new copy
            target = Path(_copy_dir.name) / f"{next(_copy_numbers)}-{Path(path).name}"
            try:
                _transcode(real, target, encoding)
            except UnicodeDecodeError as exc:
                target.unlink(missing_ok=True)
                raise SourceError(
                    f"{config.origin}: source.files.{canonical} ({_shown_path(config, path)}): "
                    f"not valid {encoding} ({exc.reason}); set source.files.{canonical}: "
                    "{path: …, encoding: …} to the encoding the file is written in"
                ) from None
            _copies[key] = (version, str(target))
        _transcoded.setdefault(pattern, {})[real] = _copies[key][1]
        return _copies[key][1]


def _transcode(path: str, target: Path, encoding: str) -> None:
    """Write ``path`` decoded from ``encoding`` to ``target`` as UTF-8, a chunk at a time.

    A byte that does not decode raises UnicodeDecodeError whose reason names its line.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    with open(path, "rb") as original, open(target, "w", encoding="utf-8", newline="") as out:
        while True:
            chunk = original.read(CHUNK_BYTES)
            try:
                out.write(decoder.decode(chunk, final=not chunk))
            except UnicodeDecodeError as exc:
                line = lines + chunk[: exc.start].count(b"\n") + 1
                exc.reason = f"line {line}: {exc.reason}"
                raise
            if not chunk:
                return
            lines += chunk.count(b"\n")
