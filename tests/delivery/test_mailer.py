"""The email: composed from an archived report, sent to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from bs4 import BeautifulSoup

from reportgen.delivery import mailer
from reportgen.delivery.mailer import (
    DeliveryError,
    SendResult,
    SmtpSettings,
    compose,
    encoded_size,
    send,
    write_eml,
)
from reportgen.errors import ConfigError, ReportgenError

SENDER = "reportgen@shop.example"
TO = "director@shop.example"

METRICS = {
    "period": {
        "kind": "week",
        "label": "2026-W43",
        "start": "2026-10-19T00:00:00",
        "end": "2026-10-26T00:00:00",
        "timezone": "UTC",
    },
    "previous_period": {
        "kind": "week",
        "label": "2026-W42",
        "start": "2026-10-12T00:00:00",
        "end": "2026-10-19T00:00:00",
        "timezone": "UTC",
    },
    "rules": {"reengagement_days": 7},
    "kpis": {
        "carts.carts_total": 1212,
        "carts.cart_conversion_rate": 0.40,
        "carts.abandonment_rate": 0.60,
        "carts.abandoned_cart_value": 262870.39,
        "carts.reengagement_rate": 0.25,
        "carts.carts_converted": 485,
        "previous": {
            "carts.carts_total": 1036,
            "carts.cart_conversion_rate": 0.35,
            "carts.abandonment_rate": 0.65,
            "carts.abandoned_cart_value": 225803.90,
            "carts.reengagement_rate": None,
            "carts.carts_converted": 363,
        },
    },
    "tables": {},
    "data_quality": {},
    "skipped": [{"section": "events", "reason": "no table events"}],
}

RECOMMENDATIONS = [
    {"section": "carts", "headline": "Fourth: review delivery costs.", "priority": 40},
    {"section": "carts", "headline": "First: win back Bronze abandoners.", "priority": 10},
    {"section": "carts", "headline": "Third: send the win-back offer.", "priority": 30},
    {"section": "carts", "headline": "Second: shorten the checkout.", "priority": 20},
]

# The cover as render.py writes it: build.json records neither title nor currency, so the
# email reads both from here.
REPORT_HTML = """<!DOCTYPE html><html><head><title>Weekly carts — 2026-W43</title></head>
<body><div class="kpi" data-key="carts.abandoned_cart_value">
<p class="kpi-label">Abandoned cart value</p>
<p class="kpi-value">€262,870.39</p></div></body></html>"""


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Weekly carts</h1><p>2026-W43</p>").write_pdf()


@pytest.fixture
def report(tmp_path: Path, pdf_bytes: bytes) -> Path:
    """Return an archived report folder: reports/week/2026-W43/."""
    folder = tmp_path / "reports" / "week" / "2026-W43"
    folder.mkdir(parents=True)
    (folder / "report.pdf").write_bytes(pdf_bytes)
    (folder / "report.html").write_text(REPORT_HTML, encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(METRICS), encoding="utf-8")
    build = {
        "generated_at": "2026-10-26T06:00:00Z",
        "generator": "reportgen 0.1.0",
        "config": "config/shop.yaml",
        "recommendations": [
            {**rec, "detail": f"Detail of {rec['headline'].split(':')[0]}.", "evidence": {}}
            for rec in RECOMMENDATIONS
        ],
    }
    (folder / "build.json").write_text(json.dumps(build), encoding="utf-8")
    return folder


class Inbox:
    """An aiosmtpd handler that keeps every envelope it accepts.

    ``rcpt_replies`` maps an address to the replies its next RCPTs get (then 250);
    ``data_replies`` are the replies of the next DATA commands (then 250).
    """

    def __init__(
        self,
        rcpt_replies: dict[str, list[str]] | None = None,
        data_replies: list[str] | None = None,
    ) -> None:
        self.envelopes: list[Any] = []
        self.rcpt_replies = rcpt_replies or {}
        self.data_replies = list(data_replies or [])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.data_replies:
            return self.data_replies.pop(0)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=policy.default)
            for envelope in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Controller, Inbox]]]:
    """Return ``start(inbox=None, port=None, **smtp_options)``: a running aiosmtpd server."""
    started: list[Controller] = []

    def start(
        inbox: Inbox | None = None, port: int | None = None, **options: Any
    ) -> tuple[Controller, Inbox]:
        inbox = inbox or Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port(), **options)
        controller.start()
        started.append(controller)
        return controller, inbox

    yield start
    for controller in started:
        controller.stop()


def plain(controller: Controller, **options: Any) -> SmtpSettings:
    """Return settings for the test server, without TLS."""
    return SmtpSettings(
        host="127.0.0.1", port=controller.port, starttls=False, sender=SENDER, timeout=5, **options
    )


def never(seconds: float) -> None:
    """A ``sleep`` for sends that must not retry."""
    pytest.fail(f"retried after {seconds} s")


def message_for(report: Path, **options: Any) -> EmailMessage:
    return compose(report, recipients=[TO], sender=SENDER, **options)


def html_body(message: EmailMessage) -> BeautifulSoup:
    return BeautifulSoup(message.get_body(("html",)).get_content(), "html.parser")


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return list(message.iter_attachments())


# What it says.


def test_the_report_arrives_with_its_pdf_byte_for_byte(report, smtp_server):
    controller, inbox = smtp_server()

    result = send(message_for(report), plain(controller))

    assert result == SendResult(True, "250 Message accepted for delivery", 1, False)
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [TO]
    (received,) = inbox.messages()
    (pdf,) = attachments(received)
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "reportgen-2026-W43.pdf"
    assert pdf.get_content() == (report / "report.pdf").read_bytes()
    assert received["Subject"] == "Weekly carts — 2026-W43"
    assert received["To"] == TO
    assert received.get_body(("plain",)) is not None


def test_the_body_shows_the_headline_kpis_as_the_cover_does(report):
    page = html_body(message_for(report))

    cards = {
        kpi["data-key"]: [p.get_text(" ", strip=True) for p in kpi.find_all("p")]
        for kpi in page.select("td.kpi")
    }
    # Worked by hand: 1,212 vs 1,036 is +176, +17.0%; 37,066.49 / 225,803.90 is +16.4%.
    # Currency: euros, as report.html's cover shows them.
    assert cards == {
        "carts.carts_total": ["Carts created", "1,212", "▲ +176 (+17.0%) vs 1,036"],
        "carts.cart_conversion_rate": ["Cart conversion rate", "40.0%", "▲ +5.0 pp vs 35.0%"],
        "carts.abandonment_rate": ["Abandonment rate", "60.0%", "▼ -5.0 pp vs 65.0%"],
        "carts.abandoned_cart_value": [
            "Abandoned cart value",
            "€262,870.39",
            "▲ +€37,066.49 (+16.4%) vs €225,803.90",
        ],
        "carts.reengagement_rate": ["7-day re-engagement rate", "25.0%", "previous period n/a"],
        "carts.median_time_to_order_days": ["Median time to order", "n/a", "previous period n/a"],
    }
    # Better is green, worse red: abandoned value went up, which is bad.
    assert "#2f7d5b" in page.select_one('[data-key="carts.abandonment_rate"]')["style"]
    assert "#b5482f" in page.select_one('[data-key="carts.abandoned_cart_value"]')["style"]
    assert "Change against 2026-W42" in page.get_text()


def test_the_body_gives_the_top_three_recommendations_by_priority(report):
    message = message_for(report)
    page = html_body(message)

    assert [p.get_text() for p in page.select(".rec-headline")] == [
        "First: win back Bronze abandoners.",
        "Second: shorten the checkout.",
        "Third: send the win-back offer.",
    ]
    assert [p.get_text() for p in page.select(".rec-detail")] == [
        "Detail of First.",
        "Detail of Second.",
        "Detail of Third.",
    ]
    assert "1 more in the full report." in page.get_text()
    text = message.get_body(("plain",)).get_content()
    assert "1. First: win back Bronze abandoners.\n   Detail of First." in text
    assert "Fourth" not in text


def test_the_body_names_the_period_and_where_the_report_is(report):
    message = message_for(report)
    page = html_body(message)

    assert page.select_one("h1").get_text() == "Weekly carts"
    assert page.select_one(".period-label").get_text() == "2026-W43"
    assert "ISO week · 19 Oct 2026 \u2013 25 Oct 2026" in page.get_text()
    assert "attached as reportgen-2026-W43.pdf" in page.get_text()
    assert str(report.resolve()) in page.get_text()
    text = message.get_body(("plain",)).get_content()
    assert "Weekly carts — 2026-W43\nISO week · 19 Oct 2026 \u2013 25 Oct 2026" in text
    assert f"Full report: {report.resolve()}" in text


def test_the_banner_comes_first(report):
    warning = "Data is incomplete: the events feed stopped on 23 Oct."
    message = message_for(report, banner=warning)

    page = html_body(message)
    assert page.select_one("body").get_text(" ", strip=True).startswith(f"⚠ {warning}")
    assert message.get_body(("plain",)).get_content().startswith(f"WARNING: {warning}\n")
    assert not html_body(message_for(report)).select(".banner")


def test_build_json_and_arguments_name_the_title_and_currency(report):
    build = json.loads((report / "build.json").read_text())
    (report / "build.json").write_text(json.dumps({**build, "title": "Carts", "currency": "GBP"}))

    message = message_for(report)
    assert message["Subject"] == "Carts — 2026-W43"
    value = html_body(message).select_one('[data-key="carts.abandoned_cart_value"] .kpi-value')
    assert value.get_text() == "£262,870.39"

    message = message_for(report, title="Weekly", currency="CHF", subject="Carts this week")
    assert message["Subject"] == "Carts this week"
    assert html_body(message).select_one("h1").get_text() == "Weekly"
    value = html_body(message).select_one('[data-key="carts.abandoned_cart_value"] .kpi-value')
    assert value.get_text() == "CHF 262,870.39"


# The size guard.


def test_encoded_size_counts_base64_growth_and_line_breaks(pdf_bytes):
    message = EmailMessage(policy=policy.SMTP)
    message.set_content(pdf_bytes, maintype="application", subtype="pdf")
    body = message.as_bytes().split(b"\r\n\r\n", 1)[1]

    assert encoded_size(len(pdf_bytes)) == len(body)
    assert encoded_size(57) == 76 + 2
    assert encoded_size(58) == 80 + 4


def test_a_pdf_too_big_for_the_limit_is_left_out_and_the_body_says_where_it_is(report):
    size = len((report / "report.pdf").read_bytes())

    message = message_for(report, max_bytes=encoded_size(size) - 1)

    assert attachments(message) == []
    text = html_body(message).get_text(" ", strip=True)
    assert "too large to attach" in text
    assert str(report.resolve()) in text
    assert "report.pdf and report.html in that folder" in text


def test_the_archive_url_is_linked_when_the_pdf_is_left_out(report):
    url = "https://reports.shop.example/week/2026-W43/"

    message = message_for(report, max_bytes=1000, archive_url=url)

    assert attachments(message) == []
    assert html_body(message).select_one(".where a")["href"] == url
    assert f"Full report: {url}" in message.get_body(("plain",)).get_content()


def test_a_message_that_just_fits_keeps_its_pdf(report):
    whole = len(message_for(report).as_bytes(policy=policy.SMTP))

    assert len(attachments(message_for(report, max_bytes=whole + 50))) == 1
    assert attachments(message_for(report, max_bytes=whole - 200)) == []


# Clear errors.


def test_a_report_without_its_pdf_is_a_clear_error(report):
    (report / "report.pdf").unlink()

    with pytest.raises(DeliveryError, match=r"report\.pdf: no PDF to attach.*--no-pdf") as info:
        message_for(report)
    assert isinstance(info.value, ReportgenError)
    assert str(report / "report.pdf") in str(info.value)


def test_a_folder_that_is_not_a_report_is_a_clear_error(tmp_path):
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7")

    with pytest.raises(DeliveryError, match=r"metrics\.json: no such file"):
        message_for(tmp_path)


def test_no_recipients_is_a_clear_error(report):
    with pytest.raises(DeliveryError, match="no recipients"):
        compose(report, recipients=[" "], sender=SENDER)


# --dry-run.


def test_write_eml_writes_a_parseable_message_atomically(report, tmp_path):
    message = message_for(report)

    path = write_eml(message, tmp_path / "out" / "2026-W43.eml")

    assert path == tmp_path / "out" / "2026-W43.eml"
    assert [p.name for p in path.parent.iterdir()] == ["2026-W43.eml"]
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Weekly carts — 2026-W43"
    (pdf,) = attachments(parsed)
    assert pdf.get_content() == (report / "report.pdf").read_bytes()
    assert "First: win back Bronze abandoners." in parsed.get_body(("html",)).get_content()


# Retries.


def test_a_server_that_says_try_later_is_tried_again(report, smtp_server):
    controller, inbox = smtp_server(Inbox(data_replies=["421 try later"]))
    waits: list[float] = []

    result = send(message_for(report), plain(controller), sleep=waits.append)

    assert result.accepted
    assert result.attempts == 2
    assert waits == [2.0]
    assert len(inbox.envelopes) == 1


def test_a_server_not_listening_yet_is_tried_again(report, smtp_server):
    port = free_port()
    settings = SmtpSettings("127.0.0.1", port, starttls=False, sender=SENDER, timeout=5)
    started: list[Inbox] = []

    def start_server(seconds: float) -> None:
        started.append(smtp_server(port=port)[1])

    result = send(message_for(report), settings, sleep=start_server)

    assert result.accepted, result.response
    assert result.attempts == 2
    assert len(started[0].envelopes) == 1


def test_transient_failures_back_off_exponentially_then_give_up(report):
    settings = SmtpSettings("127.0.0.1", free_port(), starttls=False, timeout=5)
    waits: list[float] = []

    result = send(message_for(report), settings, retries=3, backoff=1.5, sleep=waits.append)

    assert not result.accepted
    assert not result.permanent
    assert result.attempts == 4
    assert waits == [1.5, 3.0, 6.0]
    assert f"cannot reach 127.0.0.1:{settings.port}" in result.response


def test_a_permanent_refusal_is_not_retried(report, smtp_server):
    controller, inbox = smtp_server(Inbox(rcpt_replies={TO: ["550 mailbox unavailable"]}))
    waits: list[float] = []

    result = send(message_for(report), plain(controller), sleep=waits.append)

    assert result == SendResult(
        accepted=False,
        response=f"refused {TO} (550 mailbox unavailable)",
        attempts=1,
        permanent=True,
        undelivered=(TO,),
    )
    assert waits == []
    assert inbox.envelopes == []


def test_some_recipients_refused_is_a_failure_that_names_them(report, smtp_server):
    bad = "gone@shop.example"
    controller, inbox = smtp_server(Inbox(rcpt_replies={bad: ["550 mailbox unavailable"]}))
    message = compose(report, recipients=[TO, bad], sender=SENDER)

    result = send(message, plain(controller), sleep=lambda seconds: None)

    assert not result.accepted
    assert result.permanent
    assert result.attempts == 1
    assert result.undelivered == (bad,)
    assert result.response == f"refused {bad} (550 mailbox unavailable); delivered to {TO}"
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[TO]]


def test_a_recipient_refused_for_now_is_retried_alone(report, smtp_server):
    later = "busy@shop.example"
    controller, inbox = smtp_server(Inbox(rcpt_replies={later: ["450 mailbox busy"]}))
    message = compose(report, recipients=[TO, later], sender=SENDER)

    result = send(message, plain(controller), sleep=lambda seconds: None)

    assert result.accepted
    assert result.attempts == 2
    # Nobody gets the report twice: the second attempt goes to the refused address only.
    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[TO], [later]]


# TLS and login.


def test_without_starttls_a_plain_server_works(report, smtp_server):
    controller, inbox = smtp_server()

    result = send(message_for(report), plain(controller))

    assert result.accepted
    assert len(inbox.envelopes) == 1


def test_starttls_required_but_not_offered_is_a_permanent_failure(report, smtp_server):
    controller, inbox = smtp_server()
    settings = SmtpSettings("127.0.0.1", controller.port, starttls=True, timeout=5)

    result = send(message_for(report), settings, sleep=never)

    assert not result.accepted
    assert result.permanent
    assert result.attempts == 1
    assert "does not offer STARTTLS" in result.response
    assert inbox.envelopes == []


class Logins:
    """An aiosmtpd authenticator that records logins and accepts one password."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.seen.append((mechanism, login, password))
        # handled=False: aiosmtpd then replies 535 itself.
        return AuthResult(success=password == "s3cret", handled=False)


def test_login_happens_only_with_credentials_in_the_environment(report, smtp_server):
    logins = Logins()
    controller, inbox = smtp_server(authenticator=logins, auth_require_tls=False)
    common = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "timeout": 5}

    anonymous = SmtpSettings.from_env(**common, environ={})
    assert (anonymous.username, anonymous.password) == (None, None)
    assert send(message_for(report), anonymous).accepted
    assert logins.seen == []

    environ = {"REPORTGEN_SMTP_USER": "reports", "REPORTGEN_SMTP_PASSWORD": "s3cret"}
    settings = SmtpSettings.from_env(**common, environ=environ)
    assert send(message_for(report), settings).accepted
    assert [login for _, login, _ in logins.seen] == ["reports"]
    assert len(inbox.envelopes) == 2


def test_a_wrong_password_is_a_permanent_failure(report, smtp_server):
    controller, inbox = smtp_server(authenticator=Logins(), auth_require_tls=False)
    environ = {"REPORTGEN_SMTP_USER": "reports", "REPORTGEN_SMTP_PASSWORD": "wrong"}
    settings = SmtpSettings.from_env(
        "127.0.0.1", controller.port, False, SENDER, 5, environ=environ
    )

    result = send(message_for(report), settings, sleep=never)

    assert not result.accepted
    assert result.permanent
    assert result.attempts == 1
    assert result.response.startswith("535")
    assert inbox.envelopes == []


def test_half_the_credentials_is_a_config_error_and_the_password_never_shows():
    with pytest.raises(ConfigError, match="REPORTGEN_SMTP_USER is set but REPORTGEN_SMTP_PASS"):
        SmtpSettings.from_env("mail", environ={"REPORTGEN_SMTP_USER": "reports"})
    with pytest.raises(ConfigError, match="REPORTGEN_SMTP_PASSWORD is set but"):
        SmtpSettings.from_env("mail", environ={"REPORTGEN_SMTP_PASSWORD": "s3cret"})

    environ = {"REPORTGEN_SMTP_USER": "reports", "REPORTGEN_SMTP_PASSWORD": "s3cret"}
    assert "s3cret" not in repr(SmtpSettings.from_env("mail", environ=environ))


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """Return a self-signed certificate and key for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def tls_server(smtp_server, certificate, **options: Any) -> tuple[Controller, Inbox]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return smtp_server(tls_context=context, require_starttls=True, **options)


def test_starttls_then_login_over_tls(report, smtp_server, certificate, monkeypatch):
    logins = Logins()
    controller, inbox = tls_server(smtp_server, certificate, authenticator=logins)
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(mailer, "_tls_context", lambda: trusted)
    settings = SmtpSettings(
        "127.0.0.1", controller.port, True, SENDER, "reports", "s3cret", timeout=5
    )

    result = send(message_for(report), settings)

    assert result.accepted, result.response
    assert logins.seen == [("PLAIN", "reports", "s3cret")]
    assert len(inbox.envelopes) == 1


def test_an_untrusted_certificate_is_a_permanent_failure(report, smtp_server, certificate):
    controller, inbox = tls_server(smtp_server, certificate)
    settings = SmtpSettings("127.0.0.1", controller.port, starttls=True, timeout=5)

    result = send(message_for(report), settings, sleep=never)

    assert not result.accepted
    assert result.permanent
    assert "TLS failed" in result.response
    assert "CERTIFICATE_VERIFY_FAILED" in result.response
    assert inbox.envelopes == []
