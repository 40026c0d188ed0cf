"""YAML config → typed, validated settings (mirrors ``config/default.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reportgen.errors import ConfigError
from reportgen.source.text import normalise_token, strip_text

CANONICAL_TABLES = (
    "carts",
    "cart_items",
    "orders",
    "customers",
    "products",
    "events",
    "experiment_sessions",
    "experiments",
    "campaigns",
    "campaign_activity",
)

SEGMENT_COLUMNS = ("signup_channel", "loyalty_tier", "clv_bucket", "age_band")


class _Strict(BaseModel):
    """Base model: unknown keys are errors, values are immutable after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSettings(_Strict):
    """Where the data lives and how its names map to the canonical tables."""

    url: str | None = None
    tables: dict[str, str] = Field(default_factory=dict)
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    views: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)

    @field_validator("tables", "columns", "views", "files")
    @classmethod
    def _known_tables(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if name not in CANONICAL_TABLES:
                known = ", ".join(CANONICAL_TABLES)
                raise ValueError(f"unknown canonical table {name!r}; expected one of {known}")
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


def _default_event_types() -> dict[str, list[str]]:
    return {
        "view": ["view", "page_view", "product_view"],
        "cart": ["cart", "add_to_cart"],
        "remove": ["remove_from_cart", "remove"],
        "purchase": ["purchase", "purchase_cart"],
    }


class Rules(_Strict):
    """Every business rule of METRICS.md, with its default; printed in the Assumptions appendix."""

    converted_statuses: list[str] = [
        "converted",
        "purchased",
        "completed",
        "checked_out",
        "ordered",
    ]
    abandoned_statuses: list[str] = ["abandoned", "emptied"]
    open_statuses: list[str] = ["open", "active"]
    duplicate_lines: Literal["sum", "max"] = "sum"
    top_n: int = Field(10, ge=1, le=1000)
    reengagement_days: int = Field(7, ge=0, le=365)
    order_link: Literal["auto", "cart_id", "next_order"] = "auto"
    event_types: dict[Literal["view", "cart", "remove", "purchase"], list[str]] = Field(
        default_factory=_default_event_types
    )
    zero_purchase_min_views: int = Field(200, ge=1)
    experiment_primary_metric: Literal["ctr", "add_to_cart_rate", "purchase_rate"] = "ctr"
    alpha: float = Field(0.05, gt=0, lt=1)

    @field_validator("converted_statuses", "abandoned_statuses", "open_statuses")
    @classmethod
    def _normalise_statuses(cls, value: list[str]) -> list[str]:
        return _normalised_list(value)

    @field_validator("event_types", mode="before")
    @classmethod
    def _default_other_steps(cls, value: Any) -> Any:
        """A step the config does not list keeps its default names."""
        if isinstance(value, dict):
            return {**_default_event_types(), **value}
        return value

    @field_validator("event_types")
    @classmethod
    def _normalise_event_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {kind: _normalised_list(names) for kind, names in value.items()}

    @model_validator(mode="after")
    def _event_types_disjoint(self) -> Rules:
        seen: dict[str, str] = {}
        for kind, names in self.event_types.items():
            for name in names:
                if name in seen:
                    raise ValueError(
                        f"event type {name!r} is in both event_types.{seen[name]} "
                        f"and event_types.{kind}"
                    )
                seen[name] = kind
        return self

    @model_validator(mode="after")
    def _statuses_disjoint(self) -> Rules:
        seen: dict[str, str] = {}
        for key in ("converted_statuses", "abandoned_statuses", "open_statuses"):
            for status in getattr(self, key):
                if status in seen:
                    raise ValueError(f"status {status!r} is in both {seen[status]} and {key}")
                seen[status] = key
        return self


def _normalised_list(values: list[str]) -> list[str]:
    """Strip and lower-case rule values as the data is (METRICS.md §8), dropping empties."""
    out: list[str] = []
    for value in values:
        token = normalise_token(value)
        if token and token not in out:
            out.append(token)
    return out


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
    segments: list[str] = ["signup_channel", "loyalty_tier", "clv_bucket"]
    rules: Rules = Field(default_factory=Rules)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    schedules: dict[str, Schedule] = Field(default_factory=dict)
    base_dir: Path = Field(default=Path("."), exclude=True)
    origin: str = Field(default="<defaults>", exclude=True)

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, value: list[str]) -> list[str]:
        cleaned = [strip_text(v) for v in value]
        for column in cleaned:
            if column not in SEGMENT_COLUMNS:
                raise ValueError(
                    f"unknown segment {column!r}; expected one of {', '.join(SEGMENT_COLUMNS)}"
                )
        return list(dict.fromkeys(cleaned))

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
    try:
        return Config.model_validate(
            {**data, "base_dir": Path(base_dir).resolve(), "origin": origin}
        )
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


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


def _describe(exc: ValidationError, origin: str) -> str:
    """Turn pydantic's errors into 'file: key.path: what was expected, found what'."""
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        else:
            message = error["msg"].removeprefix("Value error, ")
        found = error.get("input")
        shown = "" if error["type"] in ("extra_forbidden", "missing") else f" (found {found!r})"
        lines.append(f"{origin}: {key}: {message}{shown}")
    return "; ".join(lines)
