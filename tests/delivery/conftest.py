"""Delivery fixtures: real SMTP servers (aiosmtpd) that count what they received, an archived
report folder to email, and builds that cost a file copy once a period has been rendered."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from .delivery_support import Inbox, copy_build, free_port


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


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


@pytest.fixture(scope="session")
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
        "title": "Weekly carts",
        "currency": "EUR",
        "recommendations": [
            {**rec, "detail": f"Detail of {rec['headline'].split(':')[0]}.", "evidence": {}}
            for rec in RECOMMENDATIONS
        ],
    }
    (folder / "build.json").write_text(json.dumps(build), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The one report rendered for real in a session, which fast builds copy."""
    return {"root": tmp_path_factory.mktemp("rendered")}


@pytest.fixture
def fast_build(monkeypatch: pytest.MonkeyPatch, rendered: dict[str, Path]) -> Callable[..., Path]:
    """Make ``build_report`` publish a copy of a report rendered once for the session.

    The delivery tests need a real archived report (its PDF, metrics.json, build.json),
    not its figures: a render costs seconds, a copy milliseconds. Returns
    ``render(config, period, sections)``, the rendered folder (what ``install_copy_build``
    needs in a subprocess), rendering it on first use.
    """
    import reportgen.report.build as build

    real = build.build_report

    def render(config: Any, period: Any, sections: Any = ("carts",)) -> Path:
        if "folder" not in rendered:
            output = rendered["root"] / "reports"
            rendered["folder"] = real(config, period, output=output, sections=sections).folder
        return rendered["folder"]

    def build_copy(config: Any, period: Any, **options: Any) -> Any:
        return copy_build(render(config, period))(config, period, **options)

    monkeypatch.setattr(build, "build_report", build_copy)
    return render
