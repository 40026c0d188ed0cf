"""The errors reportgen raises for user mistakes; the CLI prints them on one line."""


class ReportgenError(Exception):
    """A problem the user can fix: bad config, unreachable data, failed delivery."""


class ConfigError(ReportgenError):
    """The YAML config cannot be read or does not validate."""


class SourceError(ReportgenError):
    """The data source is missing, unreachable or lacks a required table or column."""


class PeriodError(ReportgenError):
    """A period string such as ``2026-13`` does not name a period."""


class ArchiveError(ReportgenError):
    """The report archive cannot be written as asked."""


class DeliveryError(ReportgenError):
    """A report cannot be emailed as asked (no PDF to attach, no recipients)."""
