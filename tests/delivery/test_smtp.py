"""Sending over SMTP to a real server (aiosmtpd): retries before DATA only, per-recipient
outcomes, the conversation deadline, TLS and login."""

from __future__ import annotations

import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from reportgen.delivery import smtp as smtp_module
from reportgen.delivery.compose import compose
from reportgen.delivery.smtp import RecipientResult, SendResult, SmtpSettings, send
from reportgen.errors import ConfigError

from .delivery_support import SENDER, TO, Inbox, attachments, free_port, message_for, never, plain


def test_the_report_arrives_with_its_pdf_byte_for_byte(report, smtp_server):
    controller, inbox = smtp_server()

    result = send(message_for(report), plain(controller))

    assert result == SendResult(
        True,
        "250 2.0.0 Ok: queued",
        1,
        False,
        recipients=(RecipientResult(TO, "accepted", "250 2.0.0 Ok: queued", 250),),
    )
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == [TO]
    (received,) = inbox.messages
    (pdf,) = attachments(received)
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "reportgen-2026-W43.pdf"
    assert pdf.get_content() == (report / "report.pdf").read_bytes()
    assert received["Subject"] == "Weekly carts — 2026-W43"
    assert received["To"] == TO
    assert received.get_body(("plain",)) is not None


# Retries.


def test_a_server_that_says_try_later_before_data_is_tried_again(report, smtp_server):
    controller, inbox = smtp_server(Inbox(rcpt_replies={TO: ["451 try later"]}))
    waits: list[float] = []

    result = send(message_for(report), plain(controller), sleep=waits.append)

    assert result.accepted
    assert result.attempts == 2
    assert waits == [2.0]
    assert len(inbox.envelopes) == 1


def test_a_4xx_reply_to_data_is_left_for_the_next_run(report, smtp_server):
    controller, inbox = smtp_server(Inbox(data_replies=["451 try later"]))

    result = send(message_for(report), plain(controller), sleep=never)

    assert not result.accepted
    assert not result.permanent
    assert result.recipients == (RecipientResult(TO, "deferred", "451 try later", 451),)
    assert result.response == f"deferred {TO} (451 try later)"
    assert inbox.envelopes == []


def test_no_reply_to_data_is_possibly_sent_and_never_retried(report, smtp_server):
    inbox = Inbox()
    inbox.data_delay = 2.5
    controller, _ = smtp_server(inbox)
    settings = SmtpSettings("127.0.0.1", controller.port, starttls=False, timeout=1)

    result = send(message_for(report), settings, sleep=never)

    assert len(inbox.envelopes) == 1  # the server has it; only its reply was too late
    (outcome,) = result.recipients
    assert outcome.status == "possibly_sent"
    assert outcome.reply.startswith("no reply to DATA: ")
    assert result.attempts == 1


def test_acceptance_is_reported_before_quit(report, smtp_server, monkeypatch):
    """The caller records the 250 to DATA before QUIT: a kill there loses nothing."""
    controller, _ = smtp_server()
    steps: list[str] = []

    class Steps:
        def data_issued(self, envelope, refused):
            steps.append(f"data issued to {', '.join(envelope)}")

        def data_reply(self, results):
            steps.append(", ".join(f"{r.address} {r.status}" for r in results))

    quit = smtplib.SMTP.quit

    def recorded_quit(self):
        steps.append("QUIT")
        return quit(self)

    monkeypatch.setattr(smtplib.SMTP, "quit", recorded_quit)
    send(message_for(report), plain(controller), progress=Steps())

    assert steps == [f"data issued to {TO}", f"{TO} accepted", "QUIT"]


def test_a_server_that_trickles_its_greeting_meets_the_deadline(report):
    """A 220- line every half second never trips the 1 s read timeout; the deadline does."""
    server = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            try:
                for n in range(40):
                    conn.sendall(f"220-hello ({n})\r\n".encode())
                    time.sleep(0.5)
            except OSError:
                pass

    threading.Thread(target=trickle, daemon=True).start()
    settings = SmtpSettings(
        "127.0.0.1", server.getsockname()[1], starttls=False, timeout=1, deadline=1.5
    )
    started = time.monotonic()
    try:
        result = send(message_for(report), settings, retries=0)
    finally:
        server.close()

    assert time.monotonic() - started < 5
    assert "did not finish within 1.5 s (delivery.smtp.deadline_seconds)" in result.response
    assert result.recipients[0].status == "deferred"  # before DATA: safe to try again


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
        recipients=(RecipientResult(TO, "refused", "550 mailbox unavailable", 550),),
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
    monkeypatch.setattr(smtp_module, "_tls_context", lambda: trusted)
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
