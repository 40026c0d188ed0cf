"""A small SQLAlchemy dialect for Spark SQL over Spark Connect (adbc-driver-spark).

It is what reportgen needs and little more: backtick quoting, ``?`` parameters bound as
Arrow values, literal LIMIT/OFFSET, Spark type names in DDL, multi-row INSERT for bulk
loads, and reflection enough for ``inspect(conn).get_table_names() / get_view_names()``
and ``get_columns``. Spark has no transactions (every statement commits on its own), no
indexes and no temporary tables: a session's scratch tables are temporary views
(``create temporary view`` / ``cache table``).

URL: ``spark+connect://HOST:PORT[/SCHEMA][?key=value...]`` (``sc://HOST:PORT`` is mapped
to it by ``engine_for``). Query keys ``token``, ``use_ssl`` and ``user_id`` go to the
driver, ``spark.*`` keys are session settings set on connect, any other key is passed on
as a gRPC header (Databricks reads ``x-databricks-cluster-id``). A token may also come from
the ``REPORTGEN_SPARK_TOKEN`` environment variable, so it need not be in the config.

Each connection sets ``spark.sql.session.timeZone`` to UTC (zone-aware timestamps then
print as their UTC instant) unless the URL sets it; ANSI mode stays as the server has it
(on by default since Spark 4), as PostgreSQL is as strict and the portable SQL guards
divisions and casts for both.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc, types
from sqlalchemy.engine import URL, default, reflection
from sqlalchemy.sql import compiler

TOKEN_VARIABLE = "REPORTGEN_SPARK_TOKEN"
"""The environment variable a bearer token is read from when the URL has none."""

DRIVER_KEYS = ("token", "use_ssl", "user_id")
"""URL query keys that configure the driver rather than the Spark session."""

_TYPES: dict[str, type[types.TypeEngine]] = {
    "string": types.String,
    "varchar": types.String,
    "char": types.String,
    "boolean": types.Boolean,
    "tinyint": types.SmallInteger,
    "byte": types.SmallInteger,
    "smallint": types.SmallInteger,
    "short": types.SmallInteger,
    "int": types.Integer,
    "integer": types.Integer,
    "bigint": types.BigInteger,
    "long": types.BigInteger,
    "float": types.Float,
    "real": types.Float,
    "double": types.Double,
    "decimal": types.Numeric,
    "numeric": types.Numeric,
    "date": types.Date,
    "timestamp": types.DateTime,
    "timestamp_ltz": types.DateTime,
    "timestamp_ntz": types.DateTime,
    "binary": types.LargeBinary,
}
"""Spark type names (``describe table``) → SQLAlchemy types, for reflection."""


class SparkIdentifierPreparer(compiler.IdentifierPreparer):
    """Quote every identifier with backticks: Spark reads a double-quoted name as a string
    (unless ``spark.sql.ansi.doubleQuotedIdentifiers`` is on), and its reserved words
    depend on ANSI mode, so quoting always is the one safe rule."""

    def __init__(self, dialect: default.DefaultDialect) -> None:
        super().__init__(dialect, initial_quote="`", escape_quote="`")

    def _requires_quotes(self, value: str) -> bool:
        return True


class SparkCompiler(compiler.SQLCompiler):
    """Spark SQL statements: literal LIMIT/OFFSET (Spark wants an INT constant there)."""

    def limit_clause(self, select: Any, **kw: Any) -> str:
        text = ""
        if select._limit_clause is not None:
            text += " \nLIMIT " + self.process(select._limit_clause, literal_execute=True, **kw)
        if select._offset_clause is not None:
            text += " \nOFFSET " + self.process(select._offset_clause, literal_execute=True, **kw)
        return text

    def render_literal_value(self, value: Any, type_: Any) -> str:
        # A backslash escapes in a Spark string literal ('a\.b' is 'a.b'): double it.
        rendered = super().render_literal_value(value, type_)
        if isinstance(value, str):
            rendered = rendered.replace("\\", "\\\\")
        return rendered

    def visit_empty_set_expr(self, element_types: Any, **kw: Any) -> str:
        return "SELECT 1 WHERE 1 != 1"


class SparkDDLCompiler(compiler.DDLCompiler):
    """Plain ``create table`` (the catalog's default format); no constraints, no indexes."""

    def visit_create_table(self, create: Any, **kw: Any) -> str:
        table = create.element
        if table._prefixes and any(p.lower().startswith("temp") for p in table._prefixes):
            raise exc.CompileError(
                "Spark has no temporary tables: use 'create temporary view' or 'cache table'"
            )
        columns = ",\n\t".join(
            f"{self.preparer.format_column(column)} "
            f"{self.dialect.type_compiler_instance.process(column.type, type_expression=column)}"
            for column in table.columns
        )
        return f"\nCREATE TABLE {self.preparer.format_table(table)} (\n\t{columns}\n)\n\n"

    def visit_create_index(self, create: Any, **kw: Any) -> str:
        raise exc.CompileError("Spark has no indexes")

    def visit_drop_index(self, drop: Any, **kw: Any) -> str:
        raise exc.CompileError("Spark has no indexes")


class SparkTypeCompiler(compiler.GenericTypeCompiler):
    """Spark's type names (no length on strings, TIMESTAMP_NTZ for naive times)."""

    def process(self, type_: Any, **kw: Any) -> str:
        if isinstance(type_, types.TypeDecorator):
            type_ = type_.impl_instance
        for kind, name in _SPARK_NAMES:
            if isinstance(type_, kind):
                return name
        if isinstance(type_, types.Numeric):
            if type_.precision is None:
                return "DECIMAL(38, 10)"
            return f"DECIMAL({type_.precision}, {type_.scale or 0})"
        if isinstance(type_, types.DateTime):
            return "TIMESTAMP" if type_.timezone else "TIMESTAMP_NTZ"
        return super().process(type_, **kw)


_SPARK_NAMES: tuple[tuple[type[types.TypeEngine], str], ...] = (
    (types.String, "STRING"),
    (types.Boolean, "BOOLEAN"),
    (types.BigInteger, "BIGINT"),
    (types.SmallInteger, "SMALLINT"),
    (types.Integer, "INT"),
    (types.Float, "DOUBLE"),  # Double and REAL are Floats
    (types.Date, "DATE"),
    (types.LargeBinary, "BINARY"),
)
"""SQLAlchemy type → Spark type name, most specific first."""


class SparkDialect(default.DefaultDialect):
    """Spark SQL through a Spark Connect endpoint (a local server, a cluster, Databricks)."""

    name = "spark"
    driver = "connect"
    default_paramstyle = "qmark"
    positional = True
    supports_statement_cache = True
    supports_native_boolean = True
    supports_native_decimal = True
    supports_sane_rowcount = False
    supports_sane_multi_rowcount = False
    supports_sequences = False
    supports_default_values = False
    supports_empty_insert = False
    supports_multivalues_insert = True
    use_insertmanyvalues = True
    use_insertmanyvalues_wo_returning = True
    insertmanyvalues_page_size = 1000
    """Rows per INSERT … VALUES statement of a bulk insert (one Spark job each)."""
    insert_returning = False
    postfetch_lastrowid = False
    supports_comments = False
    requires_name_normalize = False
    max_identifier_length = 255
    has_indexes = False
    """Read by ``reportgen.source.load``: Spark tables take no ``create index``."""

    statement_compiler = SparkCompiler
    ddl_compiler = SparkDDLCompiler
    type_compiler_cls = SparkTypeCompiler
    preparer = SparkIdentifierPreparer

    def __init__(self, session_conf: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.session_conf = session_conf or {}

    @classmethod
    def import_dbapi(cls) -> Any:
        try:
            import adbc_driver_spark.dbapi
        except ImportError:
            raise ImportError(
                "the Spark driver is not installed: pip install 'reportgen[spark]'"
            ) from None
        return adbc_driver_spark.dbapi

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        """Build the ``sc://`` URI; split the query into driver keys, session settings and
        headers (the URI's own ``;key=value`` part)."""
        query = dict(url.query)
        token = url.password or query.pop("token", None) or os.environ.get(TOKEN_VARIABLE)
        kwargs: dict[str, Any] = {}
        if token:
            kwargs["token"] = str(token)
        if "use_ssl" in query:
            kwargs["use_ssl"] = str(query.pop("use_ssl")).lower() in ("1", "true", "yes")
        headers = []
        user = url.username or query.pop("user_id", None)
        if user:
            headers.append(f"user_id={user}")
        conf = {"spark.sql.session.timeZone": "UTC"}
        for key, value in query.items():
            if key.startswith("spark."):
                conf[key] = str(value)
            else:
                headers.append(f"{key}={value}")
        self.session_conf = conf
        if url.database:
            self.default_schema = url.database
        uri = f"sc://{url.host or 'localhost'}:{url.port or 15002}"
        if headers:
            uri += "/;" + ";".join(headers)
        self.uri = uri
        return [uri], kwargs

    default_schema: str | None = None
    uri = "sc://localhost:15002"

    def on_connect(self) -> Any:
        conf, schema = self.session_conf, self.default_schema
        quote = self.identifier_preparer.quote

        uri, error_class = self.uri, self.loaded_dbapi.Error

        def configure(dbapi_connection: Any) -> None:
            # The first statement is where an unreachable server shows (connect is lazy).
            try:
                with dbapi_connection.cursor() as cursor:
                    for key, value in conf.items():
                        # A session setting, not a value: SET takes no parameter marker.
                        cursor.execute(f"set {key}={value}")
                    if schema:
                        cursor.execute(f"use {quote(schema)}")
            except error_class as error:
                # The URI carries no token (that travels as an argument): safe to show.
                raise _clean(error, f"cannot reach Spark Connect at {uri}: ") from None

        return configure

    # -- execution -----------------------------------------------------------------------
    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        if parameters and any(value is None for value in parameters):
            statement, parameters = _inline_nulls(statement, parameters)
        try:
            if parameters:
                cursor.execute(statement, _arrow_row(parameters))
            else:
                cursor.execute(statement)
        except self.loaded_dbapi.Error as error:
            raise _clean(error) from None

    def do_execute_no_params(self, cursor: Any, statement: str, context: Any = None) -> None:
        self.do_execute(cursor, statement, None, context)

    def do_executemany(
        self, cursor: Any, statement: str, parameters: Any, context: Any = None
    ) -> None:
        # The driver binds one row at a time (bulk inserts go through insertmanyvalues).
        for row in parameters:
            self.do_execute(cursor, statement, row, context)

    def do_begin(self, dbapi_connection: Any) -> None:
        """Spark has no transactions: every statement commits on its own."""

    def do_commit(self, dbapi_connection: Any) -> None:
        pass

    def do_rollback(self, dbapi_connection: Any) -> None:
        pass

    def do_ping(self, dbapi_connection: Any) -> bool:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("select 1")
            cursor.fetchall()
        return True

    def get_isolation_level(self, dbapi_connection: Any) -> str:
        return "AUTOCOMMIT"

    def get_isolation_level_values(self, dbapi_connection: Any) -> list[str]:
        return ["AUTOCOMMIT"]

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        if level != "AUTOCOMMIT":
            raise exc.ArgumentError(f"Spark has no transactions; cannot set {level}")

    def _get_server_version_info(self, connection: Any) -> tuple[int, ...]:
        version = connection.exec_driver_sql("select version()").scalar() or ""
        return tuple(int(part) for part in re.findall(r"\d+", version.split()[0])[:3])

    def _get_default_schema_name(self, connection: Any) -> str:
        return connection.exec_driver_sql("select current_database()").scalar()

    def is_disconnect(self, e: Exception, connection: Any, cursor: Any) -> bool:
        text = str(e)
        return "UNAVAILABLE" in text or "connection refused" in text.lower()

    def insert_rows(self, connection: Any, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        """Insert many rows in one statement: one bound JSON text, unpacked by Spark.

        The driver binds a single row of parameters, and thousands of ``?`` markers cost
        Spark seconds to analyse; ``from_json`` of one text parameter is one cheap job.
        Every value travels as text (floats as their shortest round-trip repr) and is
        cast to its column's type, so it arrives exactly.
        """
        if not rows:
            return
        names = [column.name for column in table.columns]
        payload = json.dumps([[_json_value(row[name]) for name in names] for row in rows])
        quote = self.identifier_preparer.quote
        casts = ", ".join(
            f"{_from_text(f'row[{i}]', column.type, self)} as {quote(column.name)}"
            for i, column in enumerate(table.columns)
        )
        sql = (
            f"insert into {self.identifier_preparer.format_table(table)} "
            f"select {casts} from (select explode(from_json(:rows, 'array<array<string>>')) "
            f"as row) unpacked"
        )
        connection.execute(sa.text(sql), {"rows": payload})

    # -- reflection ----------------------------------------------------------------------
    def _listing(self, connection: Any, kind: str, schema: str | None) -> list[tuple]:
        where = f" in {self.identifier_preparer.quote(schema)}" if schema else ""
        return list(connection.exec_driver_sql(f"show {kind}{where}"))

    @reflection.cache
    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        views = set(self.get_view_names(connection, schema)) | set(
            self.get_temp_view_names(connection, schema)
        )
        return [
            row[1]
            for row in self._listing(connection, "tables", schema)
            if not row[2] and row[1] not in views
        ]

    @reflection.cache
    def get_view_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        return [row[1] for row in self._listing(connection, "views", schema) if not row[2]]

    @reflection.cache
    def get_temp_view_names(
        self, connection: Any, schema: str | None = None, **kw: Any
    ) -> list[str]:
        return [row[1] for row in self._listing(connection, "views", schema) if row[2]]

    def has_table(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> bool:
        rows = self._listing(connection, "tables", schema)
        return any(row[1].lower() == table_name.lower() for row in rows)

    def get_schema_names(self, connection: Any, **kw: Any) -> list[str]:
        return [row[0] for row in connection.exec_driver_sql("show schemas")]

    @reflection.cache
    def get_columns(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        name = self.identifier_preparer.quote(table_name)
        if schema:
            name = f"{self.identifier_preparer.quote(schema)}.{name}"
        if not self.has_table(connection, table_name, schema) and table_name not in (
            self.get_temp_view_names(connection, schema) + self.get_view_names(connection, schema)
        ):
            raise exc.NoSuchTableError(table_name)
        columns = []
        for column, kind, *_ in connection.exec_driver_sql(f"describe table {name}"):
            if not column or column.startswith("#"):
                break  # partition and detail sections follow a blank or '#' row
            columns.append(
                {"name": column, "type": _sa_type(kind), "nullable": True, "default": None}
            )
        return columns

    def get_pk_constraint(self, connection: Any, table_name: str, schema: Any = None, **kw: Any):
        return {"constrained_columns": [], "name": None}

    def get_foreign_keys(self, connection: Any, table_name: str, schema: Any = None, **kw: Any):
        return []

    def get_indexes(self, connection: Any, table_name: str, schema: Any = None, **kw: Any):
        return []

    def get_unique_constraints(self, connection: Any, table_name: str, schema=None, **kw: Any):
        return []

    def get_check_constraints(self, connection: Any, table_name: str, schema=None, **kw: Any):
        return []


def _json_value(value: Any) -> str | None:
    """Return a value as the text Spark casts back to it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _from_text(text: str, type_: types.TypeEngine, dialect: SparkDialect) -> str:
    """Return the Spark expression that reads a column's value back from its text."""
    if isinstance(type_, types.String):
        return text
    if isinstance(type_, types.LargeBinary):
        return f"unbase64({text})"
    spark_type = dialect.type_compiler_instance.process(type_)
    return f"cast({text} as {spark_type})"


def _sa_type(kind: str) -> types.TypeEngine:
    """Return the SQLAlchemy type of a Spark type name such as ``decimal(10,2)``."""
    match = re.match(r"(\w+)(?:\((\d+)\s*,\s*(\d+)\))?", kind.lower())
    base = match[1] if match else kind.lower()
    found = _TYPES.get(base, types.NullType)
    if found is types.Numeric and match and match[2]:
        return types.Numeric(int(match[2]), int(match[3]))
    if base == "timestamp":
        return types.DateTime(timezone=True)
    return found()


_MARKER = re.compile(
    r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/|(\?)""",
    re.S,
)
"""A string, quoted name or comment (skipped whole), or a ``?`` marker (group 1)."""


def _inline_nulls(statement: str, parameters: Any) -> tuple[str, list[Any]]:
    """Write NULL in place of each ``?`` bound to None, and drop those values.

    Spark Connect cannot bind an untyped null (``KIND_NOT_SET``), and NULL is a constant,
    not data: writing it into the SQL lets no value in.
    """
    values = iter(parameters)
    kept: list[Any] = []

    def replace(match: re.Match[str]) -> str:
        if match[1] is None:
            return match[0]
        value = next(values)
        if value is None:
            return "NULL"
        kept.append(value)
        return "?"

    return _MARKER.sub(replace, statement), kept


def _arrow_row(parameters: Any) -> Any:
    """Return one row of parameters as an Arrow batch the driver can bind (Python ints
    as BIGINT, floats as DOUBLE, text as STRING)."""
    import pyarrow as pa

    arrays = []
    for value in parameters:
        if isinstance(value, bool):
            arrays.append(pa.array([value], pa.bool_()))
        elif isinstance(value, int):
            arrays.append(pa.array([value], pa.int64()))
        elif isinstance(value, float):
            arrays.append(pa.array([value], pa.float64()))
        elif isinstance(value, Decimal | dt.date | dt.datetime | bytes | str):
            arrays.append(pa.array([value]))
        else:
            arrays.append(pa.array([str(value)], pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=[f"p{i}" for i in range(len(arrays))])


def _clean(error: Exception, prefix: str = "") -> Exception:
    """Return the driver error with Spark's message first (``[ERROR_CLASS] …``), not the
    driver's ``INTERNAL: [Spark]`` prefix, so a one-line message says what failed."""
    text = prefix + re.sub(r"^\w+: \[Spark\]\s*", "", str(error)).strip()
    text = re.sub(r"\s*\. Vendor code: \d+$", "", text)
    try:
        cleaned = type(error)(
            text,
            status_code=error.status_code,
            vendor_code=error.vendor_code,
            sqlstate=error.sqlstate,
            details=error.details,
        )
    except (AttributeError, TypeError):
        return error
    return cleaned


def spark_url(url: str) -> str:
    """Return a SQLAlchemy URL for a Spark Connect string (``sc://host:port/;k=v``).

    Parts after ``/;`` become query keys, as the dialect reads them back.
    """
    if not url.startswith("sc://"):
        return url
    rest = url.removeprefix("sc://")
    address, _, params = rest.partition("/")
    stray = [p for p in params.lstrip(";").split(";") if p and "=" not in p]
    if stray:
        # Dropping it would load into (or read) the default schema without a word.
        raise sa.exc.ArgumentError(
            f"{stray[0]!r} in {url!r} is not key=value: a Spark Connect string takes "
            "sc://host:port/;key=value;…; a schema goes in spark+connect://host:port/schema"
        )
    pairs = [p.split("=", 1) for p in params.lstrip(";").split(";") if "=" in p]
    query = {key: value for key, value in pairs}
    return sa.engine.URL.create(
        "spark+connect",
        host=address.rsplit(":", 1)[0] or "localhost",
        port=int(address.rsplit(":", 1)[1]) if ":" in address else 15002,
        query=query,
    ).render_as_string(hide_password=False)
