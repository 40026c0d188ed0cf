"""Copy a canonical dataset from one source into any SQLAlchemy URL (``reportgen load``).

The algorithm, per canonical table the source maps (in ``canonical_tables()`` order):

1. Read the table through the source's mapping (``tables`` / ``columns`` renames,
   ``views``, ``files``), canonical columns under their canonical names.
2. Choose each column's type from the values: on SQLite from the storage classes a
   column holds (a column mixing text and numbers stays text; into a SQLite target it is
   declared without a type, so every value keeps its own), elsewhere from the engine's
   column type. Text stays text, so timestamps stored as text reach the §8 parser as they
   were, and the metrics after a load are the metrics before it.
3. Write it in chunks into a staging table ``rg_loading_<name>`` (dropped first: a killed
   load may have left one).
4. Swap it in: drop the old table, rename the staging table, create the indexes the
   diagnostics use (where the engine has indexes) and record the table in
   ``rg_load_manifest`` — one transaction where the engine has them, so a failed or
   killed load leaves each table either as it was or wholly new, and the manifest says
   which tables a load finished, with their row counts. Spark has no transactions: there
   the swap is three statements in a row, and the manifest is written last.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import types
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from reportgen.config import Config
from reportgen.errors import SourceError
from reportgen.sections import canonical_tables
from reportgen.source.connection import Source, TableInfo, open_source
from reportgen.source.spark import spark_url

STAGING_PREFIX = "rg_loading_"
MANIFEST = "rg_load_manifest"
"""The target's record of finished tables: table_name, row_count, source, loaded_at."""

INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "carts": (("cart_id",), ("created_at",), ("customer_id",)),
    "cart_items": (("cart_id",),),
    "orders": (("customer_id", "order_date"), ("cart_id",), ("order_date",)),
    "customers": (("customer_id",),),
    "products": (("product_id",),),
    "events": (("event_time",),),
}
"""The indexes the diagnostics' lookups and period filters use (as the demo has them)."""

Progress = Callable[[str, int, int], None]
"""``progress(table, rows_done, rows_total)``, called after each chunk."""


@dataclass(frozen=True)
class LoadedTable:
    """A table a load finished and swapped in."""

    name: str
    rows: int
    columns: tuple[str, ...]
    indexes: tuple[str, ...]
    """Names of the indexes created (none on engines without indexes)."""


@dataclass(frozen=True)
class LoadReport:
    """What a load did."""

    loaded: tuple[LoadedTable, ...]
    absent: tuple[str, ...]
    """Canonical tables the source does not have (not asked for by name), left alone."""


class AnyValue(types.UserDefinedType):
    """A SQLite column declared without a type: every value keeps its storage class."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return ""


def target_engine(url: str) -> Engine:
    """Create the engine for ``--to URL`` (``sc://`` is Spark Connect)."""
    try:
        make_url(spark_url(url))
        return sa.create_engine(spark_url(url))
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise SourceError(f"--to: cannot use {url!r}: {_first_line(exc)}") from None


def load_dataset(
    config: Config,
    url: str,
    *,
    tables: Sequence[str] | None = None,
    chunk_rows: int = 10_000,
    progress: Progress | None = None,
    done: Callable[[LoadedTable], None] | None = None,
) -> LoadReport:
    """Copy every canonical table ``config``'s source has (or those named) into ``url``.

    ``done`` is told each table as soon as it is swapped in, so a caller can say what is
    there if a later table fails.
    """
    known = canonical_tables()
    unknown = [name for name in tables or () if name not in known]
    if unknown:
        raise SourceError(
            f"--table: unknown canonical table {unknown[0]!r}; expected one of {', '.join(known)}"
        )
    engine = target_engine(url)
    loaded: list[LoadedTable] = []
    absent: list[str] = []
    try:
        with open_source(config) as source:
            wanted = (
                list(tables) if tables else [n for n in known if source.holding(n).has_table(n)]
            )
            absent = [name for name in known if not tables and name not in wanted]
            if not wanted:
                raise SourceError(
                    f"{config.origin}: the source has none of the canonical tables "
                    f"({', '.join(known)})"
                )
            # A missing one: which, and how. Each from the engine holding it (mixed sources).
            infos = [source.holding(name).table(name) for name in wanted]
            # Caught here, not by open_source (which would blame source.url for it).
            try:
                with _connect(engine, url) as target:
                    _drop_leftovers(target, wanted)
                    manifest = _manifest(target)
                    for info in infos:
                        holder = source.holding(info.canonical)
                        table = _copy(holder, info, target, manifest, chunk_rows, progress)
                        loaded.append(table)
                        if done:
                            done(table)
            except SQLAlchemyError as exc:
                raise SourceError(f"{_where(url, loaded, infos)}: {_first_line(exc)}") from None
    finally:
        engine.dispose()
    return LoadReport(tuple(loaded), tuple(absent))


def _where(url: str, loaded: list[LoadedTable], infos: list[TableInfo]) -> str:
    pending = [i.canonical for i in infos[len(loaded) :]]
    return f"load into {_safe(url)}" + (f" (table {pending[0]})" if pending else "")


def _connect(engine: Engine, url: str) -> Any:
    try:
        return engine.connect()
    except SQLAlchemyError as exc:
        raise SourceError(f"--to {_safe(url)}: {_first_line(exc)}") from None


def _drop_leftovers(target: Connection, names: Iterable[str]) -> None:
    """Drop staging tables a killed load left behind."""
    existing = set(sa.inspect(target).get_table_names())
    for name in names:
        if STAGING_PREFIX + name in existing:
            _in_transaction(target, [_drop(target, STAGING_PREFIX + name)])


def _copy(
    source: Source,
    info: TableInfo,
    target: Connection,
    manifest: sa.Table,
    chunk_rows: int,
    progress: Progress | None,
) -> LoadedTable:
    """Copy one table into its staging table, then swap it in."""
    columns = _column_plan(source, info, target.dialect.name)
    select = ", ".join(f"{expr} as {source.quote(name)}" for name, (expr, _) in columns.items())
    total = source.connection.exec_driver_sql(f"select count(*) from {info.sql}").scalar() or 0
    staging = sa.Table(
        STAGING_PREFIX + info.canonical,
        sa.MetaData(),
        *(sa.Column(name, kind) for name, (_, kind) in columns.items()),
    )
    staging.create(target)
    target.commit()
    names = list(columns)
    written = 0
    if progress:
        progress(info.canonical, 0, total)
    try:
        result = source.connection.execution_options(stream_results=True).exec_driver_sql(
            f"select {select} from {info.sql}"
        )
        for chunk in result.partitions(chunk_rows):
            _insert(target, staging, names, chunk)
            written += len(chunk)
            if progress:
                progress(info.canonical, written, total)
        target.commit()
        indexes = _swap(target, staging, manifest, info.canonical, names, written, source)
    except BaseException:
        # A half-written staging table must not outlive the failure (a killed process
        # leaves it for the next load, which drops it first).
        with contextlib.suppress(SQLAlchemyError):
            target.rollback()
            _in_transaction(target, [_drop(target, staging.name)])
        raise
    return LoadedTable(info.canonical, written, tuple(names), indexes)


def _insert(target: Connection, table: sa.Table, names: list[str], chunk: Sequence[Any]) -> None:
    bulk = getattr(target.dialect, "insert_rows", None)
    if bulk:
        bulk(target, table, _as_dicts(names, chunk))
    elif target.dialect.name == "duckdb":
        _duckdb_insert(target, table, names, chunk)
    elif target.dialect.name == "postgresql" and target.dialect.driver == "psycopg":
        _postgresql_copy(target, table, names, chunk)
    else:
        target.execute(table.insert(), _as_dicts(names, chunk))


def _as_dicts(names: list[str], chunk: Sequence[Any]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in chunk]


def _duckdb_insert(target: Connection, table: sa.Table, names: list[str], chunk: Any) -> None:
    """Insert a chunk through Arrow (DuckDB runs an executemany row by row)."""
    import pyarrow as pa

    arrays = [
        pa.array([row[i] for row in chunk], type=_arrow_type(column.type))
        for i, column in enumerate(table.columns)
    ]
    raw = target.connection.driver_connection
    raw.register("rg_loading_chunk", pa.Table.from_arrays(arrays, names=names))
    try:
        quoted = target.dialect.identifier_preparer.format_table(table)
        target.exec_driver_sql(f"insert into {quoted} select * from rg_loading_chunk")
    finally:
        raw.unregister("rg_loading_chunk")


def _postgresql_copy(target: Connection, table: sa.Table, names: list[str], chunk: Any) -> None:
    """Write a chunk with PostgreSQL's COPY: values reach their columns as an insert would
    bind them (the staging table's types, naive timestamps, zoned ones as text:
    ``_sa_type``)."""
    copy_into_postgresql(
        target, target.dialect.identifier_preparer.format_table(table), names, chunk
    )


def copy_into_postgresql(
    target: Connection, quoted_table: str, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Stream ``rows`` into ``quoted_table`` with COPY (psycopg's copy protocol), in the
    connection's transaction: an insert of many rows binds and plans each batch, COPY
    streams them. A refused row raises as SQLAlchemy would have wrapped it."""
    import psycopg

    quote = target.dialect.identifier_preparer.quote
    statement = f"copy {quoted_table} ({', '.join(quote(n) for n in names)}) from stdin"
    if not target.in_transaction():
        # The driver's cursor begins one SQLAlchemy does not see: a failed COPY would then
        # leave the connection aborted, since rollback() would roll back nothing.
        target.begin()
    try:
        with target.connection.driver_connection.cursor() as cursor:
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError(statement, None, exc) from exc


def _arrow_type(type_: types.TypeEngine) -> Any:
    import pyarrow as pa

    if isinstance(type_, types.BigInteger):
        return pa.int64()
    if isinstance(type_, types.Float):
        return pa.float64()
    if isinstance(type_, types.Numeric):
        return pa.decimal128(type_.precision or 38, type_.scale or 0)
    if isinstance(type_, types.DateTime):
        return pa.timestamp("us")
    if isinstance(type_, types.Date):
        return pa.date32()
    if isinstance(type_, types.Boolean):
        return pa.bool_()
    if isinstance(type_, types.LargeBinary):
        return pa.binary()
    return pa.string()


def _swap(
    target: Connection,
    staging: sa.Table,
    manifest: sa.Table,
    name: str,
    columns: list[str],
    rows: int,
    source: Source,
) -> tuple[str, ...]:
    """Replace ``name`` by the staging table, index it and record it (atomically where
    the engine has transactions)."""
    quote = target.dialect.identifier_preparer.quote
    statements = [
        _drop(target, name),
        f"alter table {quote(staging.name)} rename to {quote(name)}",
    ]
    created: list[str] = []
    if getattr(target.dialect, "has_indexes", True):
        for index in INDEXES.get(name, ()):
            if all(column in columns for column in index):
                index_name = f"rg_{name}_{'_'.join(index)}"
                statements.append(
                    f"create index {quote(index_name)} on {quote(name)} "
                    f"({', '.join(quote(column) for column in index)})"
                )
                created.append(index_name)
    _in_transaction(
        target,
        statements,
        after=lambda: _record(target, manifest, name, rows, source),
    )
    return tuple(created)


def _drop(target: Connection, name: str) -> str:
    return f"drop table if exists {target.dialect.identifier_preparer.quote(name)}"


def _in_transaction(
    target: Connection, statements: list[str], after: Callable[[], None] | None = None
) -> None:
    """Run statements in one transaction (SQLite needs an explicit BEGIN for DDL)."""
    if target.in_transaction():
        target.commit()
    with target.begin():
        if target.dialect.name == "sqlite":
            target.exec_driver_sql("begin")
        for statement in statements:
            target.exec_driver_sql(statement)
        if after:
            after()


def _manifest(target: Connection) -> sa.Table:
    table = sa.Table(
        MANIFEST,
        sa.MetaData(),
        sa.Column("table_name", sa.String(200)),
        sa.Column("row_count", sa.BigInteger),
        sa.Column("source", sa.String(2000)),
        sa.Column("loaded_at", sa.String(40)),
    )
    if MANIFEST not in sa.inspect(target).get_table_names():
        table.create(target)
        target.commit()
    return table


def _record(target: Connection, manifest: sa.Table, name: str, rows: int, source: Source) -> None:
    """Replace the table's manifest row (Spark cannot delete from a plain table: there the
    manifest keeps one row per load, newest last)."""
    if target.dialect.name != "spark":
        target.execute(manifest.delete().where(manifest.c.table_name == name))
    target.execute(
        manifest.insert(),
        {
            "table_name": name,
            "row_count": rows,
            "source": _safe(source.config.source.url or f"files of {source.config.origin}"),
            "loaded_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC"),
        },
    )


def manifest_rows(url: str) -> list[dict[str, Any]]:
    """Return what the target's manifest says is there: the newest row per table."""
    engine = target_engine(url)
    try:
        with engine.connect() as conn:
            if MANIFEST not in sa.inspect(conn).get_table_names():
                return []
            found = conn.execute(sa.text(f"select * from {MANIFEST} order by loaded_at"))
            newest = {row["table_name"]: dict(row) for row in found.mappings()}
            return list(newest.values())
    finally:
        engine.dispose()


# -- column types ------------------------------------------------------------------------

_TEXT_CAST = {"spark": "string", "postgresql": "varchar", "duckdb": "varchar"}


def _column_plan(
    source: Source, info: TableInfo, target: str
) -> dict[str, tuple[str, types.TypeEngine]]:
    """Return canonical column → (source expression, target type)."""
    if source.dialect == "sqlite":
        return _sqlite_plan(source, info, target)
    plan = {}
    for name, expr in info.columns.items():
        kind = _type_name(source, info, expr)
        if source.dialect == "spark" and kind in ("timestamp", "timestamp_ltz"):
            # An instant: its UTC wall time with the zone, as §8 reads it.
            text = f"date_format({expr}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')"
            plan[name] = (f"concat({text}, ' UTC')", types.Text())
            continue
        found = _sa_type(kind)
        if found is None:
            cast = _TEXT_CAST.get(source.dialect, "varchar")
            plan[name] = (f"cast({expr} as {cast})", types.Text())
        else:
            plan[name] = (expr, found)
    return plan


def _type_name(source: Source, info: TableInfo, expr: str) -> str:
    """Return the engine's type name of a column ('' when it holds only NULL)."""
    typeof = {"postgresql": "pg_typeof", "duckdb": "typeof", "spark": "typeof"}.get(
        source.dialect, "typeof"
    )
    cast = _TEXT_CAST.get(source.dialect, "varchar")
    found = source.connection.exec_driver_sql(
        f"select cast({typeof}({expr}) as {cast}) from {info.sql} where {expr} is not null limit 1"
    ).scalar()
    return str(found or "").lower()


def _sa_type(kind: str) -> types.TypeEngine | None:
    """Return the target type of an engine type name; None: copy it as text."""
    if kind in ("", "null", "void") or any(t in kind for t in ("char", "text", "string")):
        return types.Text()
    if "interval" in kind or "time zone" in kind or "[]" in kind or "tz" in kind:
        return None  # zoned times (as text, with their zone) and what has no plain type
    if "int" in kind:
        return types.BigInteger()
    if any(t in kind for t in ("double", "float", "real")):
        return types.Double()
    match = re.search(r"(decimal|numeric)\((\d+),\s*(\d+)\)", kind)
    if match:
        return types.Numeric(int(match[2]), int(match[3]))
    if "decimal" in kind or "numeric" in kind:
        return types.Double()
    if kind in ("timestamp", "timestamp without time zone", "timestamp_ntz"):
        return types.DateTime()
    if kind == "date":
        return types.Date()
    if "bool" in kind:
        return types.Boolean()
    return None


def _sqlite_plan(
    source: Source, info: TableInfo, target: str
) -> dict[str, tuple[str, types.TypeEngine]]:
    """Read the storage classes of every column in one pass and type each column."""
    classes = ("integer", "real", "text", "blob")
    counts = ", ".join(
        f"count(case when typeof({expr}) = '{kind}' then 1 end)"
        for expr in info.columns.values()
        for kind in classes
    )
    found = list(source.connection.exec_driver_sql(f"select {counts} from {info.sql}").one())
    plan = {}
    for i, (name, expr) in enumerate(info.columns.items()):
        held = {kind for kind, n in zip(classes, found[i * 4 : i * 4 + 4], strict=True) if n}
        if held <= {"text"}:
            plan[name] = (expr, types.Text())
        elif held == {"integer"}:
            plan[name] = (expr, types.BigInteger())
        elif held <= {"integer", "real"}:
            plan[name] = (expr, AnyValue() if target == "sqlite" else types.Double())
        elif held == {"blob"}:
            plan[name] = (expr, types.LargeBinary())
        elif target == "sqlite":
            plan[name] = (expr, AnyValue())
        else:
            # Mixed text and numbers: the text SQLite itself gives them (what a section
            # reads there through cast(... as text)).
            plan[name] = (f"cast({expr} as text)", types.Text())
    return plan


def _safe(url: str) -> str:
    """Return a URL without its password or token, for messages."""
    if url.startswith("sc://"):
        return re.sub(r"(token=)[^;]+", r"\1***", url)
    try:
        rendered = make_url(spark_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return url
    return re.sub(r"(token=)[^&;]+", r"\1***", rendered)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
