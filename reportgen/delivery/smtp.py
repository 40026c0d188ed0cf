"""Send one message over SMTP and say what became of each recipient, step by step.

The conversation is driven command by command (MAIL, each RCPT, DATA) rather than through
``sendmail``, so the caller hears of each step as it happens: ``Progress.data_issued`` just
before DATA (from then on the server may have the message) and ``Progress.data_reply`` the
instant DATA's reply arrives, before QUIT. ``send`` never raises for an SMTP problem.

- **Before DATA nothing can have been delivered.** A failure there (no connection, a
  timeout, a 4xx reply) is retried, up to ``retries`` more times with exponential backoff,
  for the recipients it concerned only; a permanent one (5xx, STARTTLS required but not
  offered, a TLS certificate or login refused) is not.
- **After DATA was issued there is no retry within the send.** A 250 is ``accepted``, a
  4xx ``deferred`` (for the next run), a 5xx ``refused`` (not retried), and no reply at all
  (timeout, disconnect, the deadline) ``possibly_sent``: the server may have the message.
- **A deadline bounds the whole conversation** however slowly the server talks: a watchdog
  thread shuts the socket when it passes (a ``220-`` line a second never trips the read
  timeout, which only bounds each wait).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any, Protocol

from reportgen.errors import ConfigError

USER_VARIABLE = "REPORTGEN_SMTP_USER"
PASSWORD_VARIABLE = "REPORTGEN_SMTP_PASSWORD"
ACCEPTED, REFUSED, DEFERRED, POSSIBLY_SENT = "accepted", "refused", "deferred", "possibly_sent"


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server; credentials come only from the environment."""

    host: str
    port: int = 587
    starttls: bool = True
    """Upgrade the connection with STARTTLS; a server that does not offer it is refused."""
    sender: str = "reportgen@localhost"
    """The envelope sender (MAIL FROM)."""
    username: str | None = None
    """Log in only when set (from ``REPORTGEN_SMTP_USER``)."""
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    """Seconds to wait for the server on each network operation."""
    deadline: float = 120.0
    """Seconds one whole conversation may take, from connecting to QUIT."""

    @classmethod
    def from_env(
        cls,
        host: str,
        port: int = 587,
        starttls: bool = True,
        sender: str = "reportgen@localhost",
        timeout: float = 30.0,
        environ: Mapping[str, str] = os.environ,
        deadline: float = 120.0,
    ) -> SmtpSettings:
        """Return settings with the login read from REPORTGEN_SMTP_USER and
        REPORTGEN_SMTP_PASSWORD (never from the YAML config); unset or empty means none."""
        username = environ.get(USER_VARIABLE) or None
        password = environ.get(PASSWORD_VARIABLE) or None
        if username is None and password is not None:
            raise ConfigError(
                f"{PASSWORD_VARIABLE} is set but {USER_VARIABLE} is not: "
                "set both to log in to the SMTP server, or neither"
            )
        if username is not None and password is None:
            raise ConfigError(
                f"{USER_VARIABLE} is set but {PASSWORD_VARIABLE} is not: "
                "set both to log in to the SMTP server, or neither"
            )
        return cls(
            host=host,
            port=port,
            starttls=starttls,
            sender=sender,
            username=username,
            password=password,
            timeout=timeout,
            deadline=deadline,
        )


@dataclass(frozen=True)
class RecipientResult:
    """What became of one recipient."""

    address: str
    status: str
    """``accepted``, ``refused`` (5xx), ``deferred`` (4xx or never reached) or
    ``possibly_sent`` (DATA issued, no reply)."""
    reply: str
    """The server's reply (``250 2.0.0 Ok: queued``) or what went wrong."""
    code: int | None = None
    """The reply code when the server answered for this recipient (RCPT or DATA)."""


@dataclass(frozen=True)
class SendResult:
    """What happened to one message: never an exception for an SMTP problem."""

    accepted: bool
    """True once the server accepted the message for every recipient."""
    response: str
    """The server's last reply (``250 2.0.0 Ok: queued``) or what went wrong."""
    attempts: int
    """Connections tried, 1 when the first one succeeded."""
    permanent: bool
    """The failure is not worth retrying later (5xx reply, TLS or login refused)."""
    undelivered: tuple[str, ...] = ()
    """Recipients not accepted: empty once accepted, all of them after a failed
    connection, only those refused when the server took the others."""
    recipients: tuple[RecipientResult, ...] = ()
    """Each recipient's outcome, in the order given."""


class Progress(Protocol):
    """Told of the steps after which a crash must not lose what happened."""

    def data_issued(self, envelope: tuple[str, ...], refused: tuple[RecipientResult, ...]) -> None:
        """DATA is about to go to ``envelope``; ``refused`` were turned down at RCPT."""

    def data_reply(self, results: tuple[RecipientResult, ...]) -> None:
        """DATA's outcome for the envelope, the instant it is known (before QUIT)."""


def send(
    message: EmailMessage,
    settings: SmtpSettings,
    *,
    recipients: Sequence[str] | None = None,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress | None = None,
) -> SendResult:
    """Send ``message`` to ``recipients`` (default: its To/Cc/Bcc) and return what became of
    each; never raise for SMTP problems.

    Failures before DATA are tried again up to ``retries`` more times, after ``backoff``,
    then twice that, and so on, for the recipients they concerned only (so nobody gets
    the message twice); nothing is retried once DATA was issued.
    """
    addresses = tuple(recipients) if recipients is not None else _header_recipients(message)
    if not addresses:
        return SendResult(False, "the message has no recipient", attempts=0, permanent=True)
    payload = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    final: dict[str, RecipientResult] = {}
    pending, attempts = addresses, 0
    while True:
        attempts += 1
        outcome = _attempt(payload, settings, pending, progress)
        final.update({result.address: result for result in outcome.results})
        if not outcome.retry or outcome.permanent or attempts > retries:
            break
        pending = outcome.retry
        sleep(backoff * 2 ** (attempts - 1))
    results = tuple(final[address] for address in addresses)
    undelivered = tuple(r.address for r in results if r.status != ACCEPTED)
    # Permanent: nothing left that a later try could change (no deferred, no unknown).
    refused_only = all(r.status == REFUSED for r in results if r.address in undelivered)
    return SendResult(
        accepted=not undelivered,
        response=_summary(results, outcome.response),
        attempts=attempts,
        permanent=bool(undelivered) and (outcome.permanent or refused_only),
        undelivered=undelivered,
        recipients=results,
    )


def _header_recipients(message: EmailMessage) -> tuple[str, ...]:
    return tuple(
        address
        for _, address in getaddresses(
            [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
        )
        if address
    )


def _summary(results: tuple[RecipientResult, ...], last: str) -> str:
    """Say what became of the message in one line, the failures first."""
    if all(r.status == ACCEPTED for r in results):
        return last
    parts: list[str] = []
    unreached = [r for r in results if r.status == DEFERRED and r.code is None]
    if unreached:
        parts.append(unreached[0].reply)
    for status, verb in ((REFUSED, "refused"), (DEFERRED, "deferred")):
        listed = [r for r in results if r.status == status and r.code is not None]
        if listed:
            parts.append(f"{verb} " + ", ".join(f"{r.address} ({r.reply})" for r in listed))
    possibly = [r for r in results if r.status == POSSIBLY_SENT]
    if possibly:
        parts.append(
            f"possibly sent to {', '.join(r.address for r in possibly)} ({possibly[0].reply})"
        )
    delivered = [r.address for r in results if r.status == ACCEPTED]
    if delivered:
        parts.append(f"delivered to {', '.join(delivered)}")
    return "; ".join(parts)


# One conversation.


@dataclass(frozen=True)
class _Attempt:
    results: tuple[RecipientResult, ...]
    response: str
    retry: tuple[str, ...] = ()
    """Recipients worth another connection now: they never reached DATA."""
    permanent: bool = False


class _StartTlsMissingError(Exception):
    """The server does not offer the STARTTLS the settings require."""


class _Watchdog:
    """Shut the client's socket once ``seconds`` have passed, and keep shutting whatever
    socket it holds (one made while the first shutdown ran) until the conversation ends."""

    def __init__(self, seconds: float, client: smtplib.SMTP) -> None:
        self.seconds = seconds
        self.client = client
        self.expired = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="rg-smtp-deadline", daemon=True)

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self.seconds):
            return
        self.expired = True
        while True:
            sock = self.client.sock
            if sock is not None:
                try:
                    # The plain socket's shutdown, also under TLS: it wakes a blocked read.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass
            if self._done.wait(0.1):
                return


def _tls_context() -> ssl.SSLContext:
    """Return the context STARTTLS verifies the server with (system CAs, host name)."""
    return ssl.create_default_context()


def _open(client: smtplib.SMTP, settings: SmtpSettings) -> None:
    """Connect, greet, secure and log in."""
    client._host = settings.host  # the name STARTTLS verifies (smtplib sets it only in __init__)
    code, reply = client.connect(settings.host, settings.port)
    if code != 220:
        raise smtplib.SMTPConnectError(code, reply)
    client.ehlo_or_helo_if_needed()
    if settings.starttls:
        if not client.has_extn("starttls"):
            raise _StartTlsMissingError
        client.starttls(context=_tls_context())
        client.ehlo_or_helo_if_needed()
    if settings.username:
        client.login(settings.username, settings.password or "")


def _status(code: int) -> str:
    if code == 250:
        return ACCEPTED
    return DEFERRED if 400 <= code < 500 else REFUSED


def _attempt(
    payload: bytes,
    settings: SmtpSettings,
    addresses: tuple[str, ...],
    progress: Progress | None,
) -> _Attempt:
    """Make one delivery attempt over a new connection and say what became of it."""
    where = f"{settings.host}:{settings.port}"
    client = smtplib.SMTP(timeout=settings.timeout)
    refused: list[RecipientResult] = []
    envelope: tuple[str, ...] = ()
    in_data = False
    with _Watchdog(settings.deadline, client) as watchdog:
        try:
            _open(client, settings)
            options = [f"size={len(payload)}"] if client.has_extn("size") else []
            code, reply = client.mail(settings.sender, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, settings.sender)
            for address in addresses:
                code, reply = client.rcpt(address)
                if code not in (250, 251):
                    text = f"{code} {_text(reply)}"
                    refused.append(RecipientResult(address, _status(code), text, code))
            taken = {r.address for r in refused}
            envelope = tuple(a for a in addresses if a not in taken)
            if progress:
                progress.data_issued(envelope, tuple(refused))
            if not envelope:
                return _Attempt(tuple(refused), _summary(tuple(refused), ""), _later(refused))
            in_data = True
            try:
                code, reply = client.data(payload)
            except smtplib.SMTPDataError as exc:  # DATA itself refused: the message never went
                code, reply = exc.smtp_code, exc.smtp_error
            text = f"{code} {_text(reply)}".strip()
            results = tuple(RecipientResult(a, _status(code), text, code) for a in envelope)
            if progress:
                progress.data_reply(results)
            in_data = False
            return _Attempt((*refused, *results), text, _later(refused))
        except (smtplib.SMTPException, OSError, _StartTlsMissingError) as exc:
            text, permanent = _describe(exc, where, settings, watchdog.expired)
            if in_data:
                unknown = tuple(
                    RecipientResult(a, POSSIBLY_SENT, f"no reply to DATA: {text}") for a in envelope
                )
                if progress:
                    progress.data_reply(unknown)
                return _Attempt((*refused, *unknown), text, _later(refused))
            taken = {r.address for r in refused}
            unreached = tuple(
                RecipientResult(a, DEFERRED, text) for a in addresses if a not in taken
            )
            retry = () if permanent else tuple(r.address for r in unreached) + _later(refused)
            return _Attempt((*refused, *unreached), text, retry, permanent)
        finally:
            _close(client)


def _later(refused: Sequence[RecipientResult]) -> tuple[str, ...]:
    """The addresses refused at RCPT for now (4xx): another connection may take them."""
    return tuple(r.address for r in refused if r.status == DEFERRED)


def _describe(
    exc: BaseException, where: str, settings: SmtpSettings, expired: bool
) -> tuple[str, bool]:
    """Return (what went wrong, whether it is permanent) for a failed conversation."""
    if expired:
        return (
            f"{where}: the conversation did not finish within {settings.deadline:g} s "
            "(delivery.smtp.deadline_seconds); the server may be stalling",
            False,
        )
    if isinstance(exc, _StartTlsMissingError):
        return (
            f"{where} does not offer STARTTLS, which is required (starttls: true); "
            "set starttls: false only if the network to the server is trusted",
            True,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection: {exc}", False
    if isinstance(exc, smtplib.SMTPResponseException):
        # Connect, HELO, sender and login errors: 4xx is worth another try, 5xx not.
        return f"{exc.smtp_code} {_text(exc.smtp_error)}", not 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPException):
        return f"{where}: {exc}", True
    if isinstance(exc, ssl.SSLError):
        # A certificate the system does not trust will not be trusted on a retry either.
        return f"{where}: TLS failed: {exc}", True
    return f"cannot reach {where}: {exc or type(exc).__name__}", False


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _close(client: smtplib.SMTP) -> None:
    """Say QUIT if the connection is still up; a failure here changes nothing."""
    try:
        if client.sock is not None:
            client.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
