"""Compose the email of an archived report, or keep it as an .eml file.

``compose`` reads one archive folder (``reports/<kind>/<label>/``): the headline KPIs of
``metrics.json`` formatted exactly as the cover shows them (``viewparts.card``), the top
recommendations of ``build.json``, and the PDF as the attachment (the bytes the caller read
under the archive lock, or the folder's ``report.pdf``) unless the encoded message would be
too big, in which case the body says where the report is instead. A scheduled delivery
carries one Message-ID per (report, period), so a deliberate re-send is the same message to
mail clients (``delivery_message_id``).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reportgen.archive.publish import write_atomic
from reportgen.errors import DeliveryError
from reportgen.render.formatters import fmt_date_range, fmt_datetime, fmt_number
from reportgen.render.viewparts import card
from reportgen.sections import all_sections

TOP_RECOMMENDATIONS = 3
DEFAULT_TITLE = "Report"
DEFAULT_CURRENCY = "USD"
KPI_COLUMNS = 3
"""KPI cards per row of the email's grid (9 headline KPIs make three rows)."""
PERIOD_KINDS = {"month": "Month", "week": "ISO week", "custom": "Custom period"}
TONE_COLORS = {"good": "#2f7d5b", "bad": "#b5482f", "neutral": "#616e7c"}
"""The report's --good, --bad and --muted colours, inlined: email clients drop <style>."""


# What the email says.


@dataclass(frozen=True)
class Digest:
    """One archived report in brief, every value already display text."""

    title: str
    period_label: str
    period_kind: str
    """``Month``, ``ISO week`` or ``Custom period``."""
    period_range: str
    previous_label: str
    generated_at: str
    kpis: tuple[dict[str, str], ...]
    """Headline KPI cards as ``viewparts.card`` returns them (label, value, comparison,
    arrow, tone…), in cover order."""
    recommendations: tuple[dict[str, str], ...]
    """The top recommendations by priority: {headline, detail}."""
    recommendations_total: int


def message_digest(
    folder: Path,
    *,
    title: str | None = None,
    currency: str | None = None,
    limit: int = TOP_RECOMMENDATIONS,
) -> Digest:
    """Return the digest of the report archived in ``folder``.

    ``title`` and ``currency`` default to build.json's ``title`` / ``currency`` (an
    archive older than those keys gets the defaults); the headline cards are build.json's
    ``headline_kpis``, read from metrics.json.
    """
    folder = Path(folder)
    metrics = _read_json(folder / "metrics.json", required=True)
    build = _read_json(folder / "build.json", required=False)
    period = metrics.get("period") or {}
    previous = metrics.get("previous_period") or {}
    label = str(period.get("label") or folder.name)
    currency = currency or build.get("currency") or DEFAULT_CURRENCY
    title = title or build.get("title") or DEFAULT_TITLE
    recommendations = sorted(
        (rec for rec in build.get("recommendations") or [] if isinstance(rec, Mapping)),
        key=lambda rec: rec.get("priority", 50),
    )
    generated = build.get("generated_at") or metrics.get("generated_at")
    return Digest(
        title=str(title),
        period_label=label,
        period_kind=PERIOD_KINDS.get(period.get("kind"), "Period"),
        period_range=fmt_date_range(period.get("start"), period.get("end")),
        previous_label=str(previous.get("label") or "the previous period"),
        generated_at=_local_time(generated, period.get("timezone")) if generated else "",
        kpis=tuple(headline_cards(metrics, str(currency), build.get("headline_kpis"))),
        recommendations=tuple(
            {"headline": str(rec.get("headline", "")), "detail": str(rec.get("detail", ""))}
            for rec in recommendations[:limit]
        ),
        recommendations_total=len(recommendations),
    )


def headline_cards(
    metrics: Mapping[str, Any], currency: str, keys: Sequence[str] | None = None
) -> list[dict[str, str]]:
    """Return the cover's headline KPI cards: those build.json lists (``keys``), else every
    ``headline`` KpiSpec of each section that ran (not skipped, with a KPI in metrics.json)."""
    kpis = metrics.get("kpis") or {}
    if keys is not None:
        specs = {spec.key: spec for section in all_sections() for spec in section.kpis}
        return [card(specs[key], metrics, currency) for key in keys if key in specs]
    skipped = {
        str(entry.get("section"))
        for entry in metrics.get("skipped") or []
        if isinstance(entry, Mapping)
    }
    return [
        card(spec, metrics, currency)
        for section in all_sections()
        if section.name not in skipped and any(spec.key in kpis for spec in section.kpis)
        for spec in section.kpis
        if spec.headline
    ]


def _local_time(moment: str, zone: str | None) -> str:
    """Return when the report was built in the report's time zone, as the cover shows it."""
    try:
        instant = datetime.fromisoformat(moment)
        instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)  # build.json: UTC
        return fmt_datetime(instant.astimezone(ZoneInfo(zone or "UTC")))
    except (ValueError, ZoneInfoNotFoundError):
        return fmt_datetime(moment)


def _read_json(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise DeliveryError(
                f"{path}: no such file; is {path.parent} a report folder written by "
                "`reportgen build`?"
            ) from None
        return {}
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"{path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DeliveryError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


# The message.


def attachment_name(label: str) -> str:
    """Return the PDF's file name in the email: ``reportgen-2026-W43.pdf``."""
    return f"reportgen-{re.sub(r'[^A-Za-z0-9._-]+', '-', label)}.pdf"


def encoded_size(size: int, line_length: int = 76) -> int:
    """Return the bytes ``size`` bytes take in base64 on the wire: 4 characters for every
    3 bytes, in lines of 76 characters each ending in CRLF."""
    characters = math.ceil(size / 3) * 4
    return characters + 2 * math.ceil(characters / line_length)


def fmt_size(size: int) -> str:
    """Return a file size as people read it: ``812 bytes``, ``45 KB``, ``12.4 MB``."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{fmt_number(size / 1000)} KB"
    return f"{fmt_number(size / 1_000_000, 1)} MB"


def compose(
    folder: Path,
    *,
    recipients: Sequence[str],
    sender: str,
    subject: str | None = None,
    max_bytes: int = 10_000_000,
    archive_url: str | None = None,
    banner: str | None = None,
    title: str | None = None,
    currency: str | None = None,
    pdf: bytes | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """Return the email for the report in ``folder``, its PDF attached.

    The body (HTML with a plain-text alternative) gives the period, the headline KPIs with
    their change against the previous period, the top three recommendations and where the
    full report is. When the message with the PDF would exceed ``max_bytes`` as sent, the
    PDF is left out and the body says where to find it (``archive_url`` or the folder).
    ``banner`` is a warning shown above everything (incomplete data, say). ``pdf`` is the
    PDF to attach (default: the folder's ``report.pdf``); ``message_id`` the Message-ID
    (default: a new one).
    """
    folder = Path(folder)
    if pdf is None:
        path = folder / "report.pdf"
        if not path.is_file():
            raise DeliveryError(
                f"{path}: no PDF to attach; build the report with its PDF (without --no-pdf) "
                "before emailing it"
            )
        pdf = path.read_bytes()
    addresses = [address.strip() for address in recipients if address and address.strip()]
    if not addresses:
        raise DeliveryError(f"{folder}: no recipients to email the report to")
    digest = message_digest(folder, title=title, currency=currency)
    subject = subject or f"{digest.title} \u2014 {digest.period_label}"
    content = pdf
    where = {
        "location": archive_url or str(folder.resolve()),
        "url": archive_url,
        "files": None if archive_url else ("report.pdf", "report.html"),
    }
    attachment = {"name": attachment_name(digest.period_label), "size": fmt_size(len(content))}

    def build(attach: bool) -> EmailMessage:
        note = _report_note(attachment, where, attached=attach, limit=max_bytes)
        message = _message(digest, note, banner, addresses, sender, subject, message_id)
        if attach:
            message.add_attachment(
                content, maintype="application", subtype="pdf", filename=attachment["name"]
            )
        return message

    # The cheap estimate first: a PDF that alone is too big is never base64-encoded.
    if encoded_size(len(content)) < max_bytes:
        message = build(attach=True)
        if len(message.as_bytes(policy=policy.SMTP)) <= max_bytes:
            return message
    return build(attach=False)


def _report_note(
    attachment: Mapping[str, str], where: Mapping[str, Any], *, attached: bool, limit: int
) -> dict[str, Any]:
    """Return the "full report" paragraph: attached, or too big and where it is instead."""
    if attached:
        lead = f"The full report is attached as {attachment['name']} ({attachment['size']})."
    else:
        lead = (
            f"The PDF ({attachment['size']}) is too large to attach: emails are limited to "
            f"{fmt_size(limit)} here. Open the full report in the archive."
        )
    return {"lead": lead, "attached": attached, **where}


def _message(
    digest: Digest,
    note: Mapping[str, Any],
    banner: str | None,
    recipients: Sequence[str],
    sender: str,
    subject: str,
    message_id: str | None = None,
) -> EmailMessage:
    from reportgen.render.html import make_environment  # imported on use, with the templates

    kpis = [{**kpi, "color": TONE_COLORS[kpi["tone"]]} for kpi in digest.kpis]
    view = {
        "digest": digest,
        "kpi_rows": [
            # The last row is padded with empty cells so its cards keep the same width.
            (kpis[i : i + KPI_COLUMNS] + [None] * KPI_COLUMNS)[:KPI_COLUMNS]
            for i in range(0, len(kpis), KPI_COLUMNS)
        ],
        "note": note,
        "banner": banner,
        "subject": subject,
        "more": digest.recommendations_total - len(digest.recommendations),
    }
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = message_id or make_msgid(domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain_text(digest, note, banner))
    message.add_alternative(
        make_environment().get_template("email.html").render(**view), subtype="html"
    )
    return message


def delivery_message_id(report: str, period: str, sender: str) -> str:
    """Return the Message-ID of ``report``'s delivery of ``period``: the same on every send
    and re-send, so a client that already has a copy shows one (a test send gets its own)."""
    digest = hashlib.sha256(f"{report}\0{period}\0{sender}".encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{period}.{report}")
    return f"<{safe}.{digest}@{_domain(sender) or 'reportgen.invalid'}>"


def _domain(address: str) -> str | None:
    _, parsed = getaddresses([address])[0]
    return parsed.rpartition("@")[2] or None


def plain_text(digest: Digest, note: Mapping[str, Any], banner: str | None = None) -> str:
    """Return the plain-text alternative of the email body."""
    lines = []
    if banner:
        lines += [f"WARNING: {banner}", ""]
    lines += [
        f"{digest.title} \u2014 {digest.period_label}",
        f"{digest.period_kind} \u00b7 {digest.period_range}",
        "",
    ]
    if digest.kpis:
        lines.append(f"Headline figures (change against {digest.previous_label})")
        labels = max(len(kpi["label"]) for kpi in digest.kpis)
        values = max(len(kpi["value"]) for kpi in digest.kpis)
        for kpi in digest.kpis:
            change = f"{kpi['arrow']} {kpi['comparison']}" if kpi["arrow"] else kpi["comparison"]
            lines.append(f"  {kpi['label']:<{labels}}  {kpi['value']:>{values}}  {change}")
        lines.append("")
    lines.append("Top recommendations" if digest.recommendations else "No recommendation")
    for number, rec in enumerate(digest.recommendations, 1):
        lines += [f"{number}. {rec['headline']}", f"   {rec['detail']}"]
    if not digest.recommendations:
        lines.append("No rule found a change or a gap worth acting on this period.")
    lines += ["", note["lead"], f"Full report: {note['location']}"]
    if note["files"]:
        lines.append(f"  ({' and '.join(note['files'])} in that folder)")
    if digest.generated_at:
        lines += ["", f"Generated {digest.generated_at} by reportgen."]
    return "\n".join(lines) + "\n"


def write_eml(message: EmailMessage, path: Path) -> Path:
    """Write ``message`` as an .eml file atomically (for ``--dry-run``); return its path."""
    path = Path(path)
    write_atomic(path, message.as_bytes(policy=policy.SMTP))
    return path
