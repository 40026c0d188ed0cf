"""YAML config → typed, validated settings (mirrors ``config/default.yaml``)."""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from reportgen.errors import ConfigError
from reportgen.plugin import SectionRules
from reportgen.source.text import strip_text


class _Strict(BaseModel):
    """Base model: unknown keys are errors, values are immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_encoding(value: str | None) -> str | None:
    """Accept any text encoding Python knows (utf-8, latin-1, cp1252, utf-16…)."""
    if value is None:
        return None
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(
            f"unknown text encoding {value!r}; expected a name such as utf-8, latin-1, "
            "cp1252 or utf-16"
        ) from None
    return value.strip()


class FileSource(_Strict):
    """One ``source.files`` entry in its long form: where the file is and how it is written."""

    path: str
    encoding: str | None = None
    """The CSV's text encoding; default ``source.encoding``. Parquet is always UTF-8."""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """``events: data/ev.csv`` is ``events: {path: data/ev.csv}``."""
        if isinstance(value, str):
            return {"path": value}
        if not isinstance(value, dict | FileSource):
            raise ValueError("expected a path or {path: …, encoding: …}")
        return value

    @field_validator("encoding")
    @classmethod
    def _valid_encoding(cls, value: str | None) -> str | None:
        return _known_encoding(value)


_MEMORY_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B)", re.IGNORECASE)
"""A size DuckDB's memory_limit takes."""


class SourceSettings(_Strict):
    """Where the data lives and how its names map to the canonical tables."""

    url: str | None = None
    tables: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    views: dict[str, str] = Field(default_factory=dict)
    files: dict[str, FileSource] = Field(default_factory=dict)
    """Canonical table → a CSV/Parquet path or glob, or ``{path, encoding}``."""
    encoding: str = "utf-8"
    """The text encoding of every CSV in ``files`` that does not name its own."""
    memory_limit: str | None = None
    """DuckDB's memory cap (``1GB``, ``800MB``); past it, DuckDB spills to a temporary
    folder of its own. None: DuckDB's default (80% of the machine's memory)."""

    @field_validator("memory_limit")
    @classmethod
    def _valid_memory_limit(cls, value: str | None) -> str | None:
        if value is not None and not _MEMORY_SIZE.fullmatch(value.strip()):
            raise ValueError("expected a size such as 1GB or 800MB")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _memory_limit_needs_duckdb(self) -> SourceSettings:
        url = self.url or ""
        if self.memory_limit and url and not url.startswith("duckdb:") and not self.files:
            raise ValueError(
                "memory_limit caps DuckDB's memory (source.files or a duckdb:// url); "
                f"this source is {url.split(':', 1)[0]}"
            )
        return self

    @field_validator("encoding")
    @classmethod
    def _valid_encoding(cls, value: str) -> str:
        return _known_encoding(value) or "utf-8"

    def file(self, canonical: str) -> FileSource:
        """Return the ``files`` entry of a table in its long form, encoding filled in."""
        entry = self.files[canonical]
        if entry.encoding is None:
            return entry.model_copy(update={"encoding": self.encoding})
        return entry

    @field_validator("tables", "columns", "views", "files")
    @classmethod
    def _known_tables(cls, value: dict[str, Any]) -> dict[str, Any]:
        from reportgen.sections import canonical_tables

        known = canonical_tables()
        for name in value:
            if name not in known:
                expected = ", ".join(known)
                raise ValueError(f"unknown canonical table {name!r}; expected one of {expected}")
        return value


class ReportSettings(_Strict):
    """How the report looks and where it is written."""

    title: str = "Cart & customer behaviour"
    author: str = "Growth & Retention analytics"
    timezone: str = "UTC"
    currency: str = "USD"
    output: str = "reports"
    templates: str | None = None
    trend_periods: int = Field(12, ge=0, le=36)
    """Periods in each cover sparkline, recomputed from the source (0: none; each two
    periods cost one more run of the section's queries)."""

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; expected an IANA name such as Europe/London"
            ) from None
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"expected a 3-letter currency code such as EUR, found {value!r}")
        return value.upper()


class RuleSet:
    """The rules in force: one validated model per registered section, read flat.

    ``config.rules.top_n`` is the value of that key; several sections may read one key
    (``top_n``), then they agree on it because it is validated once from one config value.
    ``as_json()`` is metrics.json's ``rules``: every key once, in registration order.
    """

    def __init__(self, models: dict[str, SectionRules]) -> None:
        self._models = models

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):  # not a rule: e.g. _models while a copy is being unpickled
            raise AttributeError(key)
        for model in self._models.values():
            if key in type(model).model_fields:
                return getattr(model, key)
        raise AttributeError(f"no registered section has the rule {key!r}")

    def of(self, section: str) -> SectionRules | None:
        """Return one section's rules model (None for a section without rules)."""
        return self._models.get(section)

    def as_json(self) -> dict[str, Any]:
        flat: dict[str, Any] = {}
        for model in self._models.values():
            for key, value in model.model_dump(mode="json").items():
                flat.setdefault(key, value)
        return flat

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleSet) and self.as_json() == other.as_json()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.as_json().items())))


def build_rules(data: Any, origin: str = "<dict>") -> RuleSet:
    """Validate the ``rules:`` mapping against every registered section's rules model.

    Keys are flat (``rules.reengagement_days``) as METRICS.md names them; a section's keys
    may also be nested under its name (``rules.carts.reengagement_days``).
    """
    from reportgen.sections import all_sections

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: rules: expected a mapping, found {type(data).__name__}")
    sections = [s for s in all_sections() if s.rules is not None]
    flat = {key: value for key, value in data.items() if not _is_section_block(key, value)}
    lines: list[str] = []
    for name, block in data.items():
        if not _is_section_block(name, block):
            continue
        owner = next(s for s in sections if s.name == name)
        for key, value in block.items():
            if key not in owner.rules.model_fields:  # type: ignore[union-attr]
                lines.append(f"{origin}: rules.{name}.{key}: unknown key")
            elif key in flat and flat[key] != value:
                lines.append(f"{origin}: rules.{name}.{key}: also given as rules.{key}")
            else:
                flat[key] = value
    owned = {key for s in sections for key in s.rules.model_fields}  # type: ignore[union-attr]
    lines += [f"{origin}: rules.{key}: unknown key" for key in flat if key not in owned]
    models: dict[str, SectionRules] = {}
    for section in sections:
        model = section.rules
        assert model is not None
        mine = {key: value for key, value in flat.items() if key in model.model_fields}
        try:
            models[section.name] = model.model_validate(mine)
        except ValidationError as exc:
            lines += [line for line in _describe(exc, origin, "rules").split("; ")]
    if lines:
        raise ConfigError("; ".join(dict.fromkeys(lines)))
    return RuleSet(models)


def _is_section_block(key: str, value: Any) -> bool:
    from reportgen.sections import section_named

    section = section_named(key)
    return isinstance(value, dict) and section is not None and section.rules is not None


class QualitySettings(_Strict):
    """When data problems stop being a footnote (named rule ``bad-row-share``)."""

    max_bad_row_share: float = Field(0.005, ge=0, le=1)
    """A table whose unreadable or dropped rows exceed this share of it raises a data alert:
    a warning from the CLI, a banner on the cover, ``data_alerts`` in build.json."""


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class SmtpSettingsConfig(_Strict):
    """The mail server; the login comes from REPORTGEN_SMTP_USER / REPORTGEN_SMTP_PASSWORD."""

    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    sender: str = "reportgen@localhost"
    timeout: float = Field(30.0, gt=0)
    """Seconds to wait for the server on each read or write."""
    deadline_seconds: float = Field(120.0, gt=0)
    """Seconds one whole SMTP conversation may take, however slowly the server talks."""


class DeliverySettings(_Strict):
    """How scheduled reports are sent and recorded."""

    smtp: SmtpSettingsConfig = Field(default_factory=SmtpSettingsConfig)
    max_email_mb: float = Field(10.0, gt=0)
    """Above this (base64 growth counted) the PDF stays in the archive and the email says where."""
    retries: int = Field(3, ge=0, le=10)
    retry_backoff_seconds: float = Field(2.0, ge=0)
    freshness: Literal["hold", "banner"] = "hold"
    """Data not fresh: hold the send (recorded as skipped) or send with a banner."""
    fresh_within_hours: float = Field(24.0, ge=0)
    """Fresh: the newest timestamp (not after the run's clock) is at most this long before
    the period end; 24 means anywhere on the period's last day, 0 at or after its end."""
    possibly_sent: Literal["hold", "resend"] = "hold"
    """A message whose DATA was issued but whose reply was never recorded: hold (report it
    on every run, exit 1, until `reportgen send` or `history --mark-sent`) or resend it
    on the next run (same Message-ID)."""
    run_deadline_minutes: float = Field(30.0, gt=0)
    """No new delivery starts after a run has taken this long; the rest wait for the next."""
    ledger: str | None = None
    """The delivery ledger (SQLite); default ``<report.output>/ledger.sqlite``."""
    archive_url: str | None = None
    """Where readers can browse the archive (said in the email when the PDF is not attached)."""


class Schedule(_Strict):
    """A named report delivered every period: e.g. the director's weekly PDF."""

    period: Literal["week", "month"]
    due: str
    """When a period's report is due, local to ``timezone``: ``monday 07:00`` for a week
    (the weekday on or after the period end), ``1 07:00`` for a month (day of the next month)."""
    timezone: str | None = None
    """Defaults to report.timezone; periods and due times are in this zone."""
    recipients: list[str] = Field(default_factory=list)
    sections: list[str] | None = None
    """The sections this report holds (default: all that the data allows)."""
    catch_up_from: str | None = None
    """The first period to deliver (2026-W40, 2026-09); default: only the latest due one when
    nothing has been sent yet."""

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str | None) -> str | None:
        return None if value is None else ReportSettings._valid_zone(value)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c.isspace() for c in address.strip()):
                raise ValueError(f"not an email address: {address!r}")
        return list(dict.fromkeys(address.strip() for address in value))

    @model_validator(mode="after")
    def _due_time(self) -> Schedule:
        due_parts(self.period, self.due)
        return self


def due_parts(kind: str, due: str) -> tuple[int, int, int]:
    """Parse ``due`` into (day, hour, minute): day is 0-6 (Monday first) for a week, 1-28
    for a month."""
    parts = due.strip().lower().split()
    hint = "'monday 07:00'" if kind == "week" else "'1 07:00' (day of month, then time)"
    if len(parts) != 2 or parts[1].count(":") != 1:
        raise ValueError(f"due: expected {hint}, found {due!r}")
    day_text, clock = parts
    hour_text, minute_text = clock.split(":")
    if not (hour_text.isdigit() and minute_text.isdigit()):
        raise ValueError(f"due: expected a time HH:MM, found {clock!r}")
    hour, minute = int(hour_text), int(minute_text)
    if hour > 23 or minute > 59:
        raise ValueError(f"due: no such time {clock!r}")
    if kind == "week":
        if day_text not in WEEKDAYS:
            raise ValueError(f"due: expected a weekday such as monday, found {day_text!r}")
        return WEEKDAYS.index(day_text), hour, minute
    if not day_text.isdigit() or not 1 <= int(day_text) <= 28:
        raise ValueError(f"due: expected a day of the month from 1 to 28, found {day_text!r}")
    return int(day_text), hour, minute


class Config(_Strict):
    """A whole validated config; ``base_dir`` is where relative paths resolve."""

    source: SourceSettings = Field(default_factory=SourceSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    segments: list[str] | None = None
    """Customer attributes the cart segment tables split by (None: the section's default)."""
    rules: Any = Field(default_factory=lambda: build_rules({}))
    """A ``RuleSet``, validated by ``build_rules`` (the sections own their rules)."""
    quality: QualitySettings = Field(default_factory=QualitySettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    base_dir: Path = Field(default=Path("."), exclude=True)
    origin: str = Field(default="<defaults>", exclude=True)

    @field_validator("segments")
    @classmethod
    def _clean_segments(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(strip_text(v) for v in value))

    @field_serializer("rules")
    def _rules_json(self, rules: RuleSet) -> dict[str, Any]:
        return rules.as_json()

    def resolve(self, path: str) -> Path:
        """Return ``path`` resolved against the config file's folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else (self.base_dir / candidate).resolve()

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.report.output)

    @property
    def ledger_path(self) -> Path:
        return (
            self.resolve(self.delivery.ledger)
            if self.delivery.ledger
            else (self.output_dir / "ledger.sqlite")
        )

    @field_validator("schedules")
    @classmethod
    def _schedule_names(cls, value: dict[str, Schedule]) -> dict[str, Schedule]:
        for name in value:
            if not name or not all(c.isalnum() or c in "-_" for c in name):
                raise ValueError(f"schedule names use letters, digits, - and _: {name!r}")
        return value


def config_from_dict(
    data: dict[str, Any], base_dir: Path | str = ".", origin: str = "<dict>"
) -> Config:
    """Validate a config mapping; ``origin`` names it in error messages."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a mapping at the top level, found {type(data).__name__}"
        )
    from reportgen.sections import all_sections

    data = dict(data)
    problems = [
        f"{origin}: {key}: {message}"
        for section in all_sections()
        if section.check_config is not None
        for key, message in section.check_config(data)
    ]
    try:
        rules = build_rules(data.pop("rules", None), origin)
    except ConfigError as exc:
        problems.append(str(exc))
        rules = build_rules({})
    try:
        config = Config.model_validate(
            {**data, "rules": rules, "base_dir": Path(base_dir).resolve(), "origin": origin}
        )
    except ValidationError as exc:
        problems.insert(0, _describe(exc, origin))
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def load_config(path: Path | str) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: malformed YAML: {problem}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return config_from_dict(data or {}, base_dir=path.parent, origin=str(path))


def _describe(exc: ValidationError, origin: str, prefix: str = "") -> str:
    """Turn pydantic's errors into 'file: key.path: what was expected, found what'."""
    lines = []
    for error in exc.errors():
        key = (
            ".".join(
                [prefix, *(str(part) for part in error["loc"])]
                if prefix
                else [str(part) for part in error["loc"]]
            )
            or "(top level)"
        )
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = error["msg"].removeprefix("Value error, ")
        found = error.get("input")
        shown = "" if error["type"] in ("extra_forbidden", "missing") else f" (found {found!r})"
        lines.append(f"{origin}: {key}: {message}{shown}")
    return "; ".join(lines)
