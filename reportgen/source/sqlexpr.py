"""Portable SQL expressions for the normalisation rules of METRICS.md §8.

Each engine spells text stripping, number casts and timestamp parsing differently; the
sections ask this module for an expression and never write dialect SQL themselves.

Timestamps become two columns: ``local`` — canonical local wall-clock text
``YYYY-MM-DD HH:MM:SS.ffffff`` (fixed width, so text order is time order, and period
bounds and buckets compare on it) — and ``epoch_us``, the real instant in integer
microseconds (durations and re-engagement windows are elapsed time). ``day`` is the local
calendar day as an integer (days since 1970-01-01), for date-only comparisons.

On SQLite the common naive formats are parsed by native string functions when the report
time zone is UTC; anything else (offsets, ``UTC`` suffixes, other zones) goes through a
small Python function registered on the connection.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from reportgen.source.text import WHITESPACE

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(?:( UTC|Z|[+-]\d{2}:\d{2}))?)?$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_D4 = "[0-9][0-9][0-9][0-9]"
_D2 = "[0-9][0-9]"
_DATE_GLOB = f"{_D4}-{_D2}-{_D2}"


def sql_literal(value: str, dialect: str | None = None) -> str:
    """Return ``value`` as an SQL string literal: the one way a literal is written into SQL.

    Values are bound as parameters wherever the engine allows; this is for the places it
    does not (a file path in DuckDB's ``read_csv``, names inside a statement that creates a
    table, which PostgreSQL cannot prepare). Standard SQL doubles the quote, and SQLite,
    DuckDB and PostgreSQL read a backslash as itself. Spark unescapes its literals
    (``'a\\.b'`` is ``a.b``) and reads ``'it''s'`` as two adjacent literals (``its``): there
    both the backslash and the quote are escaped with a backslash.
    """
    text = str(value)
    if dialect == "spark":
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"


def parse_timestamp(text: str | None, timezone: str) -> tuple[str, int] | None:
    """Return (local canonical text, epoch microseconds) or None when unparsed.

    Naive values are local to ``timezone``: a spring-forward gap shifts forward, an
    ambiguous fall-back time is the earlier instant (fold=0).
    """
    if text is None:
        return None
    match = _TIMESTAMP.match(str(text).strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, suffix = match.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    zone = _zone(timezone)
    try:
        if suffix in (" UTC", "Z"):
            instant = naive.replace(tzinfo=UTC)
        elif suffix:
            sign = 1 if suffix[0] == "+" else -1
            offset = timedelta(hours=int(suffix[1:3]), minutes=int(suffix[4:6])) * sign
            instant = naive.replace(tzinfo=UTC) - offset
        else:
            # Round-trip through UTC so a non-existent (gap) time moves forward.
            instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
        local = instant.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        # 9999-12-31 23:00 east of UTC (or 0001-01-01 west of it) has no instant or local
        # time within years 1-9999: unparsed, not a crash ("string or blob too big").
        return None
    delta = instant - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    # isoformat pads the year to four digits (strftime's %Y prints year 1 as "1" on glibc).
    return local.isoformat(sep=" ", timespec="microseconds"), micros


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _py_local(text: object, timezone: str) -> str | None:
    parsed = parse_timestamp(None if text is None else str(text), timezone)
    return parsed[0] if parsed else None


def _py_epoch(text: object, timezone: str) -> int | None:
    parsed = parse_timestamp(None if text is None else str(text), timezone)
    return parsed[1] if parsed else None


_PG_FUNCTIONS = r"""
create or replace function pg_temp.rg_instant(x text, tz text) returns timestamptz
language plpgsql immutable as $fn$
declare
    m text[];
    naive timestamp;
    instant timestamptz;
    earlier timestamptz;
    before timestamptz;
begin
    m := regexp_match(x, '^(\d{4}-\d{2}-\d{2})'
        || '(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)( UTC|Z|[+-]\d{2}:\d{2})?)?$');
    -- PostgreSQL reads 24:00:00 and a 60th second as the next minute; Python does not.
    if m is null or substr(coalesce(m[2], '00'), 1, 2) >= '24'
            or coalesce(substr(m[2], 7, 2), '') >= '60' then
        return null;
    end if;
    naive := (m[1] || ' ' || coalesce(m[2], '00:00'))::timestamp;
    if m[3] is null then
        instant := naive at time zone tz;
        -- In a fall-back fold PostgreSQL takes the later instant, §8 the earlier: the one
        -- at the offset in force a day before, when it reads back as the same wall time.
        before := instant - interval '1 day';
        earlier := (naive at time zone 'UTC')
            - ((before at time zone tz) - (before at time zone 'UTC'));
        if earlier < instant and earlier at time zone tz = naive then
            instant := earlier;
        end if;
    elsif m[3] in (' UTC', 'Z') then
        instant := naive at time zone 'UTC';
    else
        instant := (m[1] || ' ' || m[2] || m[3])::timestamptz;
    end if;
    -- Python's datetime holds years 1-9999, in UTC and in local time alike.
    if extract(year from instant at time zone 'UTC') not between 1 and 9999
            or extract(year from instant at time zone tz) not between 1 and 9999 then
        return null;
    end if;
    return instant;
exception when others then
    return null;
end
$fn$;
create or replace function pg_temp.rg_local(x text, tz text) returns text
language sql immutable as $fn$
    select to_char(pg_temp.rg_instant(x, tz) at time zone tz, 'YYYY-MM-DD HH24:MI:SS.US')
$fn$;
create or replace function pg_temp.rg_epoch(x text, tz text) returns bigint
language sql immutable as $fn$
    select (extract(epoch from pg_temp.rg_instant(x, tz)) * 1000000)::bigint
$fn$;
"""


def register_functions(connection: Connection) -> None:
    """Give the connection the parse helpers the expressions call.

    SQLite and DuckDB get Python functions (SQLite's temp tables kept in memory: they are
    small next to the source and never persist); PostgreSQL gets session-local pg_temp
    functions.
    """
    raw = connection.connection.driver_connection
    if connection.dialect.name == "sqlite":
        raw.execute("pragma temp_store = memory")
        raw.create_function("rg_local", 2, _py_local, deterministic=True)
        raw.create_function("rg_epoch", 2, _py_epoch, deterministic=True)
    elif connection.dialect.name == "duckdb":
        # A long query draws a progress bar on a terminal: not in a report build's output.
        raw.execute("set enable_progress_bar = false")
        for name, function, kind in (
            ("rg_local", _py_local, "VARCHAR"),
            ("rg_epoch", _py_epoch, "BIGINT"),
        ):
            try:
                raw.create_function(
                    name,
                    function,
                    ["VARCHAR", "VARCHAR"],
                    kind,
                    null_handling="special",
                    side_effects=False,
                )
            except Exception as exc:  # duckdb.CatalogException, without importing duckdb
                # Connections to one database file share its catalog: already there.
                if "already exists" not in str(exc):
                    raise
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_PG_FUNCTIONS)


DIALECTS = ("sqlite", "duckdb", "postgresql", "spark")
"""The engines ``Expr`` spells for (docs/warehouse.md says how another one is added)."""


class Expr:
    """SQL expression builders for one dialect."""

    def __init__(self, dialect: str, timezone: str) -> None:
        if dialect not in DIALECTS:
            raise NotImplementedError(dialect)
        self.dialect = dialect
        self.timezone = timezone
        self._ws = self.literal(WHITESPACE)
        self._native_fast = dialect in ("sqlite", "duckdb")
        """Whether canonical naive text takes a cheap native check before the full parse
        (PostgreSQL and Spark parse everything with one function or one native expression)."""

    def literal(self, value: str) -> str:
        """Return ``value`` as a string literal of this dialect (``sql_literal``)."""
        return sql_literal(value, self.dialect)

    def null_text(self) -> str:
        """Return a NULL of text type (a missing optional text column)."""
        return "cast(null as string)" if self.dialect == "spark" else "cast(null as varchar)"

    def null_number(self) -> str:
        """Return a NULL of floating-point type (a missing optional numeric column)."""
        kind = {"sqlite": "real", "duckdb": "double", "spark": "double"}.get(
            self.dialect, "double precision"
        )
        return f"cast(null as {kind})"

    def text(self, column: str) -> str:
        """Return the column as text (ids are compared as text)."""
        if self.dialect == "postgresql":
            # Binary collation, as §8 orders text (code points), whatever the database's.
            return f'cast({column} as varchar) collate "C"'
        # Spark compares strings by their UTF-8 bytes: code point order already.
        kind = {"sqlite": "text", "spark": "string"}.get(self.dialect, "varchar")
        return f"cast({column} as {kind})"

    def strip(self, column: str) -> str:
        """Return Python-style strip() of the column as text, empty → NULL."""
        text = self.text(column)
        if self.dialect == "spark":
            # Spark's trim(a, b) trims the characters of a from b: the SQL-standard form.
            return f"nullif(trim(both {self._ws} from {text}), '')"
        fn = "btrim" if self.dialect == "postgresql" else "trim"
        stripped = f"nullif({fn}({text}, {self._ws}), '')"
        if self.dialect != "duckdb":
            return stripped
        # DuckDB trims a set of Unicode characters slowly (2 s per million values): skip
        # it when both ends are printable ASCII, as nearly every value's are.
        return (
            f"(case when ascii({text}) between 33 and 126 "
            f"and ascii(right({text}, 1)) between 33 and 126 then {text} else {stripped} end)"
        )

    def id_text(self, column: str) -> str:
        """Return an id as text; empty text is NULL."""
        return f"nullif({self.text(column)}, '')"

    def is_null_id(self, column: str) -> str:
        """Return a predicate: the id is NULL or empty text (cheaper than id_text is null)."""
        if self.dialect == "sqlite":
            return f"({column} is null or {column} = '')"
        return f"{self.id_text(column)} is null"

    def is_blank(self, text: str) -> str:
        """Return a predicate: the text ``strip`` makes NULL (NULL, empty or all
        whitespace). Text whose first character is printable ASCII (``!`` to ``}``) is
        not blank: two plain comparisons answer nearly every value, and only the rest are
        stripped (a strip cost SQLite a fifth of the events pass, for a yes or no)."""
        printable = f"{text} >= '!' and {text} < '~'"
        return f"({text} is null or not ({printable}) and {self.strip(text)} is null)"

    def lower_strip(self, column: str) -> str:
        return f"lower({self.strip(column)})"

    def number(self, column: str) -> str:
        """Return a numeric value, NULL for text that is not a number."""
        if self.dialect == "duckdb":
            return f"try_cast({self.strip(column)} as double)"
        stripped = self.strip(column)
        if self.dialect == "spark":
            # The pattern PostgreSQL uses (Spark's own cast also reads 'Infinity' or '1d').
            return (
                f"case when {stripped} rlike {_NUMBER_PATTERN} "
                f"then try_cast({stripped} as double) end"
            )
        if self.dialect == "postgresql":
            return (
                f"case when {stripped} ~ '^[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$' "
                f"then cast({stripped} as double precision) end"
            )
        return (
            f"case when typeof({column}) in ('integer', 'real') then {column} "
            f"when {stripped} glob '*[0-9]*' and {stripped} not glob '*[^0-9.eE+-]*' "
            f"then cast({stripped} as real) end"
        )

    def is_date_only_text(self, stripped: str) -> str:
        """Return a predicate: the stripped text is a bare YYYY-MM-DD."""
        if self.dialect == "sqlite":
            return f"{stripped} glob '{_DATE_GLOB}'"
        if self.dialect == "duckdb":
            return f"regexp_full_match({stripped}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
        operator = "rlike" if self.dialect == "spark" else "~"
        return f"{stripped} {operator} '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'"

    def raw_text(self, raw: str) -> str:
        return raw if self.dialect == "sqlite" else self.text(raw)

    def fast_valid(self, raw: str) -> str:
        """Return a cheap predicate: ``raw`` is already a valid canonical naive timestamp.

        Rows that pass need no stripping or Python parsing; the rest take the slow path.
        """
        if not self._native_fast:
            return "false"
        t = self.raw_text(raw)
        # Years 0000, 0001 and 9999 take the slow path: Python has no year 0, and a local
        # time at either end of its range may have no instant (the engines' calendars go
        # further). Plain text comparisons, as cheap as the checks they guard.
        years = f"{t} >= '0002' and {t} < '9999'"
        if self.dialect == "duckdb":
            # DuckDB reads 24:00:00 as the next midnight; §8 (Python) does not.
            return (
                f"({years} and substr({t}, 12, 2) < '24' and regexp_full_match({t}, "
                f"'[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}([ T][0-9]{{2}}:[0-9]{{2}}"
                f"(:[0-9]{{2}}(\\.[0-9]{{6}})?)?)?') "
                f"and try_cast(replace({t}, 'T', ' ') as timestamp) is not null)"
            )
        # strftime re-prints only real dates and times: a round trip validates digits,
        # ranges and the calendar at once (no 2024-02-30, no 25:00), in C. The '+0 days'
        # modifier makes SQLite normalise the date (without one, it prints 02-30 as is).
        # datetime(x, m) is SQLite's strftime('%Y-%m-%d %H:%M:%S', x, m) without the
        # format to interpret: the same text, in half the time over a million rows.
        head = f"substr({t}, 1, 19)"
        return (
            f"({years} and case length({t}) "
            f"when 19 then datetime({t}, '+0 days') = replace({t}, 'T', ' ') "
            f"when 26 then datetime({head}, '+0 days') = replace({head}, 'T', ' ') "
            f"and substr({t}, 20, 1) = '.' and substr({t}, 21) glob '{_D2}{_D2}{_D2}' "
            f"when 10 then date({t}, '+0 days') = {t} "
            f"when 16 then strftime('%Y-%m-%d %H:%M', {t}, '+0 days') = replace({t}, 'T', ' ') "
            f"else 0 end)"
        )

    def unparsed(self, raw: str) -> str:
        """Return 1 when ``raw`` is NULL or not a timestamp of METRICS.md §8, else 0."""
        stripped = self.strip(raw)
        slow = self.slow_local(stripped)
        suffixed = ""
        if self._reads_raw_suffix:
            suffixed = _whens((test, "0") for test, _ in self._suffixed_raw(raw))
        elif self.timezone == "UTC" and self._native_fast:
            suffixed = f"when {self.utc_suffixed(self.raw_text(raw))[1]} then 0 "
        return (
            f"case when {self.fast_valid(raw)} then 0 {suffixed}when {stripped} is null then 1 "
            f"when {slow} is null then 1 else 0 end"
        )

    @property
    def _reads_raw_suffix(self) -> bool:
        """SQLite in UTC reads suffixed raw values natively (``_suffixed_raw``)."""
        return self.dialect == "sqlite" and self.timezone == "UTC"

    @property
    def _cuts_suffix(self) -> bool:
        """The fast parse reads suffixed times (in UTC, on SQLite and DuckDB): their text
        before the suffix is worth computing once a row."""
        return self.timezone == "UTC" and self._native_fast

    def local_seconds(self, raw: str) -> str:
        """Return the local wall time of a raw timestamp as ``YYYY-MM-DD HH:MM:SS`` text,
        NULL where it is not a timestamp of METRICS.md §8 (a table's first and last).

        Canonical naive text is local time already and is only re-shaped; in UTC so is
        text with a UTC suffix; the rest takes the full parse.
        """
        t = self.raw_text(raw)

        def shaped(text: str) -> str:
            return (
                f"(case length({text}) when 10 then {text} || ' 00:00:00' "
                f"when 16 then replace({text}, 'T', ' ') || ':00' "
                f"else replace(substr({text}, 1, 19), 'T', ' ') end)"
            )

        suffixed = ""
        if self._reads_raw_suffix:
            suffixed = _whens(self._suffixed_raw(raw, fraction=False))
        elif self.timezone == "UTC" and self.dialect != "postgresql":
            body, valid = self.utc_suffixed(t)
            suffixed = f"when {valid} then {shaped(body)} "
        return (
            f"case when {self.fast_valid(raw)} then {shaped(t)} {suffixed}"
            f"else substr({self.slow_local(self.strip(raw))}, 1, 19) end"
        )

    def fence(self) -> str:
        """Return the clause that keeps a subquery from being merged into its outer query,
        so that each of its columns is computed once a row however often it is used."""
        # SQLite merges a subquery with a LIMIT into a plain outer select (which then
        # computes the column at every reference); it never merges one with an OFFSET.
        return {"sqlite": "limit -1 offset 0", "postgresql": "offset 0"}.get(self.dialect, "")

    def materialized(self) -> str:
        """Return the hint that computes a CTE once (``with x as materialized (…)``), with
        its trailing space; empty on Spark, which has no such hint (it plans each CTE
        reference itself)."""
        return "" if self.dialect == "spark" else "materialized "

    def ranks_correlated(self) -> bool:
        """Whether a window function may rank the rows of a select made of correlated
        subqueries. Spark's planner ran for more than 15 minutes on one over a few hundred
        rows (the carts' median delays, with one idle server), so there the rows are read."""
        return self.dialect != "spark"

    def not_bare_date(self, raw: str) -> str:
        """Return 1 for a non-null value that is not a bare YYYY-MM-DD (date-only test)."""
        stripped = self.strip(raw)
        return (
            f"case when {self.fast_valid(raw)} then "
            f"(case when length({self.raw_text(raw)}) = 10 then 0 else 1 end) "
            f"when {stripped} is null then 0 when {self.is_date_only_text(stripped)} then 0 "
            f"else 1 end"
        )

    def may_fall_between(self, raw: str, low: str, high: str) -> str:
        """Return a cheap superset test: ``raw`` may parse to a time in [low, high).

        ``low`` / ``high`` are bind names of ``YYYY-MM-DD`` bounds with a day of margin
        (offsets are under a day). Text that starts with a digit sorts like its date;
        anything else (padding, other types) is kept for the full parse.
        """
        if self.dialect == "sqlite":
            # Plain comparisons (no function calls): text below '0' or from ':' on does not
            # start with a digit. Numbers and NULL fall outside; they never parse anyway.
            return f"({raw} < '0' or {raw} >= ':' or ({raw} >= :{low} and {raw} < :{high}))"
        t = self.raw_text(raw)
        if self.dialect == "postgresql":
            t = f'{t} collate "C"'
        return f"(substr({t}, 1, 1) not between '0' and '9' or ({t} >= :{low} and {t} < :{high}))"

    def with_timestamps(self, inner: str, *, instants: bool = True) -> str:
        """Wrap ``inner`` (a select with a stripped text column ``x``) to add the parsed
        ``local``, ``epoch_us`` and ``day`` columns (without ``instants``: ``local`` alone,
        for a caller that needs no more; SQLite computes a derived column it never reads).

        Materialised steps keep the engine from re-evaluating the strip and the parse once
        per reference (inlined, they cost four times as much on SQLite).
        """
        hint = self.materialized()
        steps, last, cut = f"raw as {hint}({inner})", "raw", None
        if self._cuts_suffix:
            # The text before a " UTC" / "Z" suffix, once a row: the suffixed path tests
            # and reshapes it a dozen times (REES46 logs write every time that way).
            body, _ = self.utc_suffixed("x")
            steps += f", bodied as {hint}(select raw.*, {body} as x_body from raw)"
            last, cut = "bodied", "x_body"
        local = self._validated(self._candidate("x"), "x", body=cut)
        if not instants:
            return f"""
            with {steps},
            parsed as {hint}(select {last}.*, {local} as local from {last})
            select * from parsed
        """
        return f"""
            with {steps},
            parsed as {hint}(select {last}.*, {local} as local from {last})
            select parsed.*,
                   {self.epoch_us("local", "x")} as epoch_us,
                   {self.day_number("local")} as day
            from parsed
        """

    def parsed_rows(self, columns: str, raw: str, rest: str, *, instants: bool = True) -> str:
        """Return ``select {columns} {rest}`` (``rest``: from, where; ``columns`` may be
        empty) with the parsed ``local`` (and, with ``instants``, ``epoch_us`` and
        ``day``) of the raw timestamp ``raw``, as ``with_timestamps`` adds them (``x``,
        the stripped text, is not kept).

        SQLite in UTC tests the raw value first: canonical text, bare or with a UTC
        suffix, is its own stripped text and parses natively, with no strip and no
        materialised step; only the rest are stripped and take the full parse. One fenced
        step computes ``local`` once a row: each materialised step copied every column of
        every row, which cost the demo's events history half its time.
        """
        lead = f"{columns}, " if columns else ""
        if not self._reads_raw_suffix:
            inner = f"select {lead}{self.strip(raw)} as x {rest}"
            return self.with_timestamps(inner, instants=instants)
        x = self.strip(raw)
        local = (
            f"case when {self.fast_valid(raw)} then {self._candidate(raw)} "
            f"{_whens(self._suffixed_raw(raw))}else {self._validated(self._candidate(x), x)} end"
        )
        step = f"select {lead}{local} as local {rest} {self.fence()}"
        if not instants:
            return step
        return f"""
            select parsed.*,
                   {self.epoch_us("local", x)} as epoch_us,
                   {self.day_number("local")} as day
            from ({step}) parsed
        """

    def _suffixed_raw(self, raw: str, *, fraction: bool = True) -> list[tuple[str, str]]:
        """Return (condition, local text) pairs that read a raw (unstripped) value with a
        `` UTC`` / ``Z`` suffix natively (SQLite, UTC): what ``_validated`` makes of its
        stripped text, with its fraction, or without one (``local_seconds``).

        A value that passes starts with a digit and ends with the suffix, so it is its own
        stripped text. Its first 19 characters are the date and time (``head``); a real
        one is SQLite's own re-print of itself, separator aside, and so is ``local``.
        Range tests read the raw text: its first four characters decide them as they do
        the head's. Spaced and whole-second first: REES46 writes every time so. No step
        computes the text before the suffix: each step copies every column of every row.
        """
        head = f"substr({raw}, 1, 19)"
        years = f"{raw} >= '0002' and {raw} < '9999'"
        suffix = "in (' UTC', 'Z')"
        real = f"datetime({head}, '+0 days') = replace({head}, 'T', ' ')"
        spaced = f"replace({head}, 'T', ' ')"
        whole, micros = (" || '.000000'", f" || substr({raw}, 20, 7)") if fraction else ("", "")
        return [
            (
                f"substr({raw}, 20) {suffix} and {years} and datetime({head}, '+0 days') = {head}",
                f"{head}{whole}",
            ),
            (
                f"substr({raw}, 20) {suffix} and substr({raw}, 11, 1) = 'T' and {years} and {real}",
                f"{spaced}{whole}",
            ),
            (
                f"substr({raw}, 27) {suffix} and substr({raw}, 20, 1) = '.' "
                f"and substr({raw}, 21, 6) glob '{_D2}{_D2}{_D2}' and {years} and {real}",
                f"{spaced}{micros}",
            ),
        ]

    def _candidate(self, x: str) -> str:
        """Return the fast native parse of common naive forms (NULL where it does not apply).

        Only for UTC: naive values are then already local wall time and their own instant.
        PostgreSQL always parses in its pg_temp function (a bad cast there aborts a query).
        """
        if self.timezone != "UTC" or not self._native_fast:
            return self.null_text()
        # Dispatch on length (cheap) and let _validated check digits and calendar.
        body = f"substr({x}, 1, 10) || ' ' || substr({x}, 12)"
        return (
            f"case when length({x}) = 10 then {x} || ' 00:00:00.000000' "
            f"when substr({x}, 11, 1) not in (' ', 'T') then null "
            f"when length({x}) = 26 then {body} "
            f"when length({x}) = 19 then {body} || '.000000' "
            f"when length({x}) = 16 then {body} || ':00.000000' end"
        )

    def slow_local(self, stripped: str) -> str:
        """Return the full (Python, pg_temp or native Spark) parse of stripped text to local
        text."""
        if self.dialect == "spark":
            return spark_local(spark_instant(stripped, self.timezone), self.timezone)
        return f"{self._fn('rg_local')}({stripped}, {sql_literal(self.timezone)})"

    def _validated(self, candidate: str, x: str, body: str | None = None) -> str:
        """Keep a fast-parsed value only if it is a real date and time; else parse slowly.

        ``body``, where given, names a column holding ``utc_suffixed(x)``'s text already.
        """
        slow = self.slow_local(x)
        if not self._native_fast or self.timezone != "UTC":
            return slow
        body, suffixed = self.utc_suffixed(x, body)
        return (
            f"case when {self.fast_valid(x)} then {candidate} "
            f"when {suffixed} then {self._candidate(body)} "
            f"when {x} is not null then {slow} end"
        )

    def utc_suffixed(self, x: str, computed: str | None = None) -> tuple[str, str]:
        """Return (the time before a `` UTC`` / ``Z`` suffix, a predicate that it is a valid
        canonical time): in UTC the suffix changes nothing, so it parses natively too
        (REES46 exports write every time that way). ``computed`` names a column that holds
        that text already."""
        body = computed or (
            f"(case when substr({x}, -4) = ' UTC' then substr({x}, 1, length({x}) - 4) "
            f"when substr({x}, -1) = 'Z' then substr({x}, 1, length({x}) - 1) end)"
        )
        return body, f"(length({body}) in (19, 26) and {self.fast_valid(body)})"

    def epoch_us(self, local: str, stripped: str) -> str:
        """Return the instant in integer microseconds."""
        if self.timezone == "UTC" and self.dialect == "sqlite":
            seconds = (
                f"unixepoch(substr({local}, 1, 19))"
                if sqlite3.sqlite_version_info >= (3, 38)
                else f"cast(strftime('%s', substr({local}, 1, 19)) as integer)"
            )
            return f"({seconds} * 1000000 + cast(substr({local}, 21, 6) as integer))"
        if self.timezone == "UTC" and self.dialect == "duckdb":
            return f"epoch_us(strptime({local}, '%Y-%m-%d %H:%M:%S.%f'))"
        if self.dialect == "spark":
            if self.timezone == "UTC":  # local time is the instant's own UTC wall time
                return f"unix_micros(try_to_timestamp({local}, {_SPARK_CANONICAL}))"
            return f"unix_micros({spark_instant(stripped, self.timezone)})"
        return f"{self._fn('rg_epoch')}({stripped}, {sql_literal(self.timezone)})"

    def day_number(self, local: str) -> str:
        """Return the local calendar day as days since 1970-01-01."""
        if self.dialect == "sqlite":
            return f"cast(julianday(substr({local}, 1, 10)) - 2440587.5 as integer)"
        if self.dialect == "spark":
            # A date minus a date is an INTERVAL on Spark, not a number of days.
            return f"unix_date(cast(substr({local}, 1, 10) as date))"
        return f"(cast(substr({local}, 1, 10) as date) - date '1970-01-01')"

    def _fn(self, name: str) -> str:
        return f"pg_temp.{name}" if self.dialect == "postgresql" else name


def _whens(pairs: Iterable[tuple[str, str]]) -> str:
    """Return ``when {test} then {value} `` clauses of a ``case``, one per pair."""
    return "".join(f"when {test} then {value} " for test, value in pairs)


_NUMBER_PATTERN = "'^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'"
"""A decimal number in text (``[.]``, not ``\\.``: Spark unescapes a backslash)."""
_SPARK_SHAPE = (
    "'^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[ T]([0-9]{2}:[0-9]{2})(?::([0-9]{2})"
    "(?:[.]([0-9]{1,6}))?)?( UTC|Z|[+-][0-9]{2}:[0-9]{2})?)?$'"
)
"""The §8 timestamp shape (as ``_TIMESTAMP``): date, hour:minute, seconds, fraction, zone."""
_SPARK_CANONICAL = "'yyyy-MM-dd HH:mm:ss.SSSSSS'"


def spark_instant(stripped: str, timezone: str) -> str:
    """Return native Spark SQL for the instant (a TIMESTAMP) of stripped §8 text, NULL
    where ``parse_timestamp`` gives None.

    Spark Connect takes no Python function, so this is ``parse_timestamp`` in SQL: the
    shape by regular expression, the calendar by ``try_to_timestamp`` (strict: no
    2024-02-30, no 24:00, and no error in ANSI mode), naive values through
    ``to_utc_timestamp`` (java.time moves a spring-forward gap forward and takes the
    earlier instant of a fall-back fold, as fold=0 does), then only the years 1-9999 that
    Python's datetime holds. The session time zone is UTC (the dialect sets it). Each
    value is bound once to a lambda variable (``transform(array(v), s -> …)``), so the
    text is not repeated for every reference.
    """

    def part(group: int) -> str:
        return f"regexp_extract(s, {_SPARK_SHAPE}, {group})"

    date, clock, seconds, fraction, zone = (part(g) for g in range(1, 6))
    wall = (
        f"try_to_timestamp(concat({date}, ' ', coalesce(nullif({clock}, ''), '00:00'), ':', "
        f"coalesce(nullif({seconds}, ''), '00'), '.', rpad({fraction}, 6, '0')), "
        f"{_SPARK_CANONICAL})"
    )
    offset = (
        f"case when {zone} in (' UTC', 'Z') then 0 "
        f"else (case when substr({zone}, 1, 1) = '+' then -1 else 1 end) * "
        f"(try_cast(substr({zone}, 2, 2) as int) * 60 + try_cast(substr({zone}, 5, 2) as int)) "
        f"end"
    )
    zone_name = sql_literal(timezone, "spark")
    naive = wall if timezone == "UTC" else f"to_utc_timestamp({wall}, {zone_name})"
    instant = f"case when {zone} = '' then {naive} else timestampadd(MINUTE, {offset}, {wall}) end"
    in_range = (
        f"case when year(t) between 1 and 9999 "
        f"and year({_spark_wall('t', timezone)}) between 1 and 9999 then t end"
    )
    bound = f"element_at(transform(array({stripped}), s -> {instant}), 1)"
    return f"element_at(transform(array({bound}), t -> {in_range}), 1)"


def _spark_wall(instant: str, timezone: str) -> str:
    """Return the local wall time (a TIMESTAMP printed in the UTC session) of an instant."""
    if timezone == "UTC":
        return instant
    return f"from_utc_timestamp({instant}, {sql_literal(timezone, 'spark')})"


def spark_local(instant: str, timezone: str) -> str:
    """Return canonical local text of a Spark instant (``parse_timestamp``'s first value)."""
    return f"date_format({_spark_wall(instant, timezone)}, {_SPARK_CANONICAL})"


_DUCK_FORMATS: dict[int, tuple[bool, tuple[str, ...]]] = {
    10: (False, ("%Y-%m-%d",)),
    16: (False, ("%Y-%m-%d %H:%M",)),
    17: (True, ("%Y-%m-%d %H:%MZ",)),
    19: (False, ("%Y-%m-%d %H:%M:%S",)),
    20: (True, ("%Y-%m-%d %H:%M:%SZ", "%Y-%m-%d %H:%M UTC")),
    23: (True, ("%Y-%m-%d %H:%M:%S UTC",)),
    26: (False, ("%Y-%m-%d %H:%M:%S.%f",)),
    27: (True, ("%Y-%m-%d %H:%M:%S.%fZ",)),
    30: (True, ("%Y-%m-%d %H:%M:%S.%f UTC",)),
}
"""Text length → (carries a UTC suffix, strptime formats, with ``T`` variants added)."""


def duckdb_timestamps(raw: str, kind: str, timezone: str) -> tuple[str, str, str]:
    """Return DuckDB expressions (native, zoned, text) for a raw timestamp column.

    ``native`` is the TIMESTAMP DuckDB's own parser reads (the UTC instant when ``zoned``,
    else the naive wall time), NULL where it does not apply; ``text`` is the value as text
    for ``duckdb_slow_timestamps``. Compute ``native`` once
    (as a column) and derive local time and instant with ``duckdb_local_instant``: the
    parse is the costly part. No Python function appears here, as DuckDB calls one once
    per vector even when no row needs it (seconds on large logs).
    """
    if kind in ("timestamp", "date", "timestamp_ns", "timestamp_ms", "timestamp_s"):
        if timezone == "UTC":
            return f"cast({raw} as timestamp)", "false", "cast(null as varchar)"
        raw = f"strftime(cast({raw} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
        kind = "varchar"
    t = raw if kind == "varchar" else f"cast({raw} as varchar)"
    branches, zoned = [], []
    for length, (has_zone, formats) in _DUCK_FORMATS.items():
        variants = [f for fmt in formats for f in (fmt, fmt.replace(" %H", "T%H"))]
        listed = ", ".join(f"'{f}'" for f in dict.fromkeys(variants))
        branches.append(f"when {length} then try_strptime({t}, [{listed}])")
        if has_zone:
            zoned.append(str(length))
    # strptime also skips runs of spaces and reads one-digit fields ("2024-03-05  9:00:00"
    # is 19 characters and parses); §8 wants neither. Such text starts or ends with a
    # space or holds two in a row: cheap tests, where a full pattern match costs a parse.
    shaped = f"{t} >= '0' and {t} < ':' and not contains({t}, '  ') and not suffix({t}, ' ')"
    native = f"case when {shaped} then case length({t}) {' '.join(branches)} end end"
    return native, f"(length({t}) in ({', '.join(zoned)}))", t


def duckdb_local_instant(native: str, zoned: str, timezone: str) -> tuple[str, str]:
    """Return (local wall time, instant) from the columns ``duckdb_timestamps`` described.

    In UTC both are the native value. Elsewhere only zoned values are converted natively
    (an instant has one local time); naive local times, with their gaps and folds, are
    left NULL for the Python parser.
    """
    if timezone == "UTC":
        return native, native
    zone = sql_literal(timezone)
    return (
        f"(case when {zoned} then timezone({zone}, timezone('UTC', {native})) end)",
        f"(case when {zoned} then {native} end)",
    )


def duckdb_slow_timestamps(text: str, timezone: str) -> tuple[str, str]:
    """Return DuckDB (local, instant) TIMESTAMPs of text through the registered parser."""
    zone = sql_literal(timezone)
    stripped = f"nullif(trim({text}, '{WHITESPACE}'), '')"
    return (
        f"cast(rg_local({stripped}, {zone}) as timestamp)",
        f"make_timestamp(rg_epoch({stripped}, {zone}))",
    )
