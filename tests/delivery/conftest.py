"""Delivery fixtures: a real SMTP server (aiosmtpd) that counts what it received, and builds
that cost a file copy once a period has been rendered for real."""

from __future__ import annotations

import asyncio
import email
from collections import Counter
from collections.abc import Callable, Iterator
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from delivery_support import copy_build, free_port


class Inbox:
    """An aiosmtpd handler keeping every accepted envelope, with replies to force.

    ``reply`` answers every DATA; ``rcpt_replies`` maps an address to the replies its next
    RCPTs get (then 250); ``data_delay`` seconds pass after a message is stored and before
    the 250 is sent (a reply that comes too late).
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []
        self.reply: str | None = None
        self.rcpt_replies: dict[str, list[str]] = {}
        self.data_delay = 0.0
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.reply:
            return self.reply
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 Ok: queued"

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def received(self) -> Counter[str]:
        """How many copies each address was sent (the envelope, not the To header)."""
        return Counter(address for envelope in self.envelopes for address in envelope.rcpt_tos)


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Path]:
    """Report folders rendered for real once per session, by (kind, label, sections)."""
    cache: dict[Any, Path] = {}
    cache["root"] = tmp_path_factory.mktemp("rendered")
    return cache


@pytest.fixture
def fast_build(monkeypatch: pytest.MonkeyPatch, rendered: dict[Any, Path]) -> Callable[..., Path]:
    """Make ``build_report`` publish a copy of a report rendered once for the session.

    Returns ``render(config, period, sections)``: the rendered folder for that period (what
    ``install_copy_build`` needs in a subprocess).
    """
    import reportgen.report.build as build

    real = build.build_report

    def render(config: Any, period: Any, sections: Any = None) -> Path:
        key = (period.kind, period.label, period.timezone, tuple(sections or ()))
        if key not in rendered:
            output = rendered["root"] / str(len(rendered))
            rendered[key] = real(config, period, output=output, sections=sections).folder
        return rendered[key]

    def build_copy(config: Any, period: Any, **options: Any) -> Any:
        source = render(config, period, options.get("sections"))
        return copy_build(source)(config, period, **options)

    monkeypatch.setattr(build, "build_report", build_copy)
    return render
