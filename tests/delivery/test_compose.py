"""The email composed from an archived report: what it says, its size guard, .eml files."""

from __future__ import annotations

import email
import json
from email import policy
from email.message import EmailMessage

import pytest

from reportgen.delivery.compose import DeliveryError, compose, encoded_size, write_eml
from reportgen.errors import ReportgenError

from .delivery_support import SENDER, attachments, html_body, message_for

# What it says.


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


def test_the_email_reads_its_facts_from_build_json_not_the_page(report):
    """Regression (issue 9): compose scraped report.html for the title and currency."""
    (report / "report.html").unlink()
    message = message_for(report)
    assert message["Subject"] == "Weekly carts \u2014 2026-W43"
    assert "\u20ac262,870.39" in html_body(message).get_text()
