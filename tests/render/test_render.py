"""Render a hand-written metrics.json: HTML by structure, PDF by content, metadata and logs."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from reportgen.plugin import Recommendation
from reportgen.render.formatters import fmt_days, fmt_money, fmt_number, fmt_percent
from reportgen.render.html import ReportContent, render_html, write_pdf
from reportgen.sections.carts import SECTION
from reportgen.sections.carts.charts import build_charts
from reportgen.sections.carts.kpis import CART_KPIS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "metrics_carts.json"
CURRENCY = "GBP"
TITLE = "Cart & customer behaviour"
AUTHOR = "Growth & Retention analytics"
GENERATED_AT = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)

SECTION_TITLES = [
    "Recommendations",
    "Cart funnel",
    "Abandoned value",
    "Segments",
    "Re-engagement",
    "Time to order",
    "Data quality",
    "Skipped",
    "Assumptions",
]
"""Every h2 after the contents page, in document order."""

ENVIRONMENT_WARNINGS = ("HarfBuzz-Subset",)
"""WeasyPrint warnings about the machine's libraries, not about the report."""

RECOMMENDATIONS = [
    Recommendation(
        section="carts",
        headline="Send a win-back offer to the savable customers.",
        detail="They abandoned a cart and did not order within 7 days.",
        priority=30,
    ),
    Recommendation(
        section="carts",
        headline="Target Paid social cart abandoners with a recovery flow.",
        detail="Their abandonment rate is 58.2% against 48.5% overall.",
        priority=20,
    ),
]


@contextmanager
def weasyprint_records() -> Iterator[list[logging.LogRecord]]:
    """Collect what WeasyPrint logs (its own tests fail on any warning)."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("weasyprint")
    handler = Collect(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def problems(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{record.levelname}: {record.getMessage()}"
        for record in records
        if record.levelno >= logging.WARNING
        and not any(text in record.getMessage() for text in ENVIRONMENT_WARNINGS)
    ]


def make_content(metrics: dict[str, Any], recommendations=RECOMMENDATIONS) -> ReportContent:
    return ReportContent(
        metrics=metrics,
        sections=[SECTION],
        charts=build_charts(metrics, CURRENCY),
        recommendations=list(recommendations),
        generated_at=GENERATED_AT,
        currency=CURRENCY,
        title=TITLE,
        author=AUTHOR,
    )


def empty_period(metrics: dict[str, Any]) -> dict[str, Any]:
    """Return the fixture as a period with no carts: zero counts, null rates, empty tables."""
    empty = copy.deepcopy(metrics)
    nullable = {"rate", "days"}
    kinds = {spec.key: spec.kind for spec in CART_KPIS}
    for key in kinds:
        empty["kpis"][key] = None if kinds[key] in nullable else 0
    empty["kpis"]["carts.avg_abandoned_cart_value"] = None
    tables = empty["tables"]
    tables["carts.funnel_trend"] = [
        {
            "bucket_start": row["bucket_start"],
            "carts_total": 0,
            "converted": 0,
            "abandoned": 0,
            "open": 0,
            "other": 0,
            "conversion_rate": None,
        }
        for row in metrics["tables"]["carts.funnel_trend"]
    ]
    for key in list(tables):
        if key != "carts.funnel_trend":
            tables[key] = []
    tables["carts.time_to_order_hist"] = [
        {"bucket": row["bucket"], "carts": 0}
        for row in metrics["tables"]["carts.time_to_order_hist"]
    ]
    empty["data_quality"] = {
        key: {} if isinstance(value, dict) else 0 for key, value in metrics["data_quality"].items()
    }
    empty["skipped"] = []
    return empty


@pytest.fixture(scope="module")
def metrics() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def content(metrics: dict[str, Any]) -> ReportContent:
    return make_content(metrics)


@pytest.fixture(scope="module")
def html(content: ReportContent) -> str:
    return render_html(content)


@pytest.fixture(scope="module")
def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


@pytest.fixture(scope="module")
def pdf(html: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("pdf") / "report.pdf"
    with weasyprint_records() as records:
        write_pdf(html, target)
    reader = PdfReader(target)
    return {
        "reader": reader,
        "pages": [page.extract_text() for page in reader.pages],
        "records": records,
    }


def headline_value(soup: BeautifulSoup, key: str) -> str:
    card = soup.select_one(f'.kpis-headline .kpi[data-key="{key}"]')
    assert card is not None, f"no headline card for {key}"
    return card.select_one(".kpi-value").get_text(strip=True)


# HTML


def test_html_is_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    without_namespaces = re.sub(r'xmlns(?::\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces
    assert "https://" not in without_namespaces
    assert "<link" not in html.lower()
    assert html.count("@font-face") == 2
    assert "data:font/ttf;base64," in html


def test_head_carries_the_pdf_metadata(soup: BeautifulSoup) -> None:
    assert soup.title.get_text() == f"{TITLE} — 2026-10"
    meta = {tag["name"]: tag["content"] for tag in soup.select("head meta[name]")}
    assert meta["author"] == AUTHOR
    assert "2026-10" in meta["description"]
    assert meta["generator"].startswith("reportgen ")
    assert meta["dcterms.created"] == "2026-11-02T06:00:00+00:00"


def test_section_headings_are_in_report_order(soup: BeautifulSoup) -> None:
    headings = [h2.get_text(strip=True) for h2 in soup.find_all("h2")]
    assert headings == ["Contents", *SECTION_TITLES]


def test_contents_links_every_heading(soup: BeautifulSoup) -> None:
    targets = [a["href"] for a in soup.select("nav.contents a")]
    assert targets
    for href in targets:
        assert soup.find(id=href.removeprefix("#")) is not None, href


def test_cover_cards_show_the_formatted_headline_kpis(
    soup: BeautifulSoup, metrics: dict[str, Any]
) -> None:
    kpis = metrics["kpis"]
    keys = [card["data-key"] for card in soup.select(".kpis-headline .kpi")]
    assert keys == [spec.key for spec in CART_KPIS if spec.headline]
    assert headline_value(soup, "carts.cart_conversion_rate") == fmt_percent(
        kpis["carts.cart_conversion_rate"]
    )
    assert headline_value(soup, "carts.cart_conversion_rate") == "41.0%"
    assert headline_value(soup, "carts.carts_total") == "1,234"
    assert headline_value(soup, "carts.abandoned_cart_value") == "£48.2k"  # headline policy
    assert headline_value(soup, "carts.median_time_to_order_days") == "10.0 h"


def _final(metrics: dict[str, Any]) -> dict[str, Any]:
    """The fixture with every window closed: no open cart, no abandoned cart inside its
    re-engagement window (else those KPIs are provisional and show no change)."""
    final = copy.deepcopy(metrics)
    final["kpis"].update({"carts.carts_open": 0, "carts.reengagement_immature_carts": 0})
    return final


@pytest.fixture(scope="module")
def final_soup(metrics: dict[str, Any]) -> BeautifulSoup:
    return BeautifulSoup(render_html(make_content(_final(metrics))), "html.parser")


def test_cover_cards_of_open_windows_are_provisional(soup: BeautifulSoup) -> None:
    for key in ("carts.cart_conversion_rate", "carts.reengagement_rate"):
        delta = soup.select_one(f'.kpis-headline .kpi[data-key="{key}"] .kpi-delta')
        assert delta.get_text(strip=True) == "provisional"
    # Why, once under the cards, naming the figures each reason holds for.
    caveats = soup.select_one(".cover-caveats").get_text(" ", strip=True)
    assert "Cart conversion rate, Abandonment rate, Abandoned cart value:" in caveats
    assert "abandoned carts are still inside their 7-day window" in caveats


def test_cover_card_deltas_are_coloured_by_direction(final_soup: BeautifulSoup) -> None:
    soup = final_soup

    def delta(key: str):
        return soup.select_one(f'.kpis-headline .kpi[data-key="{key}"] .kpi-delta')

    # Conversion rose (good), abandonment fell (good), abandoned value fell (good).
    assert "tone-good" in delta("carts.cart_conversion_rate")["class"]
    assert "+2.1 pp" in delta("carts.cart_conversion_rate").get_text()
    assert "tone-good" in delta("carts.abandonment_rate")["class"]
    assert "tone-good" in delta("carts.abandoned_cart_value")["class"]


def test_a_change_that_rounds_to_zero_is_neutral(metrics: dict[str, Any]) -> None:
    same = _final(metrics)
    rate = same["kpis"]["carts.cart_conversion_rate"]
    same["kpis"]["previous"]["carts.cart_conversion_rate"] = rate - 0.0001
    soup = BeautifulSoup(render_html(make_content(same)), "html.parser")
    delta = soup.select_one('.kpis-headline .kpi[data-key="carts.cart_conversion_rate"] .kpi-delta')
    assert delta.get_text(strip=True).startswith("+0.0 pp")
    assert "tone-neutral" in delta["class"]


def test_null_previous_rate_shows_na(final_soup: BeautifulSoup, metrics: dict[str, Any]) -> None:
    assert metrics["kpis"]["previous"]["carts.reengagement_rate"] is None
    card = final_soup.select_one('.kpis-headline .kpi[data-key="carts.reengagement_rate"]')
    assert card.select_one(".kpi-value").get_text(strip=True) == "26.0%"
    delta = card.select_one(".kpi-delta")
    assert "n/a" in delta.get_text()
    assert "tone-neutral" in delta["class"]


def test_null_rate_in_a_segment_table_shows_na(soup: BeautifulSoup) -> None:
    table = soup.select_one("#segment-loyalty-tier table")
    unknown = [
        [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in table.select("tbody tr")
        if tr.find("td").get_text(strip=True) == "Unknown"
    ]
    assert unknown == [["Unknown", "57", "24.6%", "54.4%", "£1,950.20", "0", "0", "n/a"]]


def test_tables_show_fixture_values_formatted(soup: BeautifulSoup, metrics: dict[str, Any]) -> None:
    sku = metrics["tables"]["carts.top_abandoned_skus"][0]
    first = [td.get_text(strip=True) for td in soup.select_one("#part-abandoned-value tbody tr")]
    assert first == [
        sku["product_id"],
        sku["name"],
        sku["category"],
        fmt_number(sku["carts"]),
        fmt_number(sku["units"]),
        fmt_money(sku["abandoned_value"], CURRENCY),
        fmt_percent(sku["share"]),
    ]
    # A product missing from products has a null name, shown as a dash.
    rows = soup.select("#part-abandoned-value tbody tr")
    names = [tr.find_all("td")[1].get_text() for tr in rows]
    assert "—" in names
    time_cards = soup.select("#part-time-to-order .kpi-value")
    assert time_cards[1].get_text(strip=True) == fmt_days(
        metrics["kpis"]["carts.p90_time_to_order_days"]
    )


def test_savable_table_shows_top_n_and_points_to_the_csv(
    soup: BeautifulSoup, metrics: dict[str, Any]
) -> None:
    rows = soup.select("#part-reengagement table tbody tr")
    assert len(rows) == metrics["rules"]["top_n"] == 10
    best = metrics["tables"]["carts.savable_customers"][0]
    assert rows[0].find("td").get_text(strip=True) == str(best["customer_id"])
    # The clv_bucket column is all null (skipped): it is left out.
    headers = [th.get_text(strip=True) for th in soup.select("#part-reengagement thead th")]
    assert headers == [
        "Customer",
        "Signup channel",
        "Loyalty tier",
        "Abandoned carts",
        "Abandoned value",
    ]
    text = soup.select_one("#part-reengagement").get_text(" ", strip=True)
    assert "of 379 savable customers" in text
    assert "csv/carts.savable_customers.csv" in text
    assert "37 abandoned carts were created less than 7 days" in text


def test_charts_are_inline_svg_in_figures(soup: BeautifulSoup, content: ReportContent) -> None:
    figures = soup.select("figure.chart")
    assert len(figures) >= 6
    for figure in figures:
        assert figure.find("svg") is not None
        assert figure.find("figcaption").get_text(strip=True)
    for svg in content.charts.values():
        assert not svg.lstrip().startswith("<?xml")
        assert "<script" not in svg


def test_skipped_parts_are_explained(soup: BeautifulSoup) -> None:
    clv = soup.select_one("#segment-clv-bucket")
    assert "Skipped because column clv_bucket missing from customers." in clv.get_text()
    assert clv.find("table") is None
    skipped = [
        [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in soup.select("section.skipped tbody tr")
    ]
    assert ["Experiments", "No table experiment_sessions."] in skipped
    assert len(skipped) == 4


def test_data_quality_lists_every_key(soup: BeautifulSoup, metrics: dict[str, Any]) -> None:
    """Counts found are a table; checks that found nothing are one line (every key once)."""
    rows = soup.select("section.data-quality tbody tr:not(.sub)")
    clean = soup.select("section.data-quality .quality-clean .check")
    assert len(rows) + len(clean) == len(metrics["data_quality"])
    zeros = [k for k, v in metrics["data_quality"].items() if v == 0 or v == {}]
    assert [c["data-key"] for c in clean] == zeros
    statuses = [
        [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in soup.select("section.data-quality tbody tr.sub")
    ]
    assert statuses == [["pending_payment", "31"], ["NULL", "8"], ["saved_for_later", "4"]]


def test_assumptions_list_the_rules_of_the_sections_in_the_report(
    soup: BeautifulSoup, metrics: dict[str, Any]
) -> None:
    """The report holds the cart section only: its rules are listed, the event ones not."""
    from reportgen.sections.carts.rules import CartRules
    from reportgen.sections.events.rules import EventRules

    text = soup.select_one("section.assumptions").get_text(" ", strip=True)
    for key in CartRules.model_fields:
        assert f"rules.{key}" in text
    for key in set(EventRules.model_fields) - set(CartRules.model_fields):
        assert f"rules.{key}" not in text
    assert "converted, purchased, completed, checked_out, ordered" in text
    assert "percentile_cont" in text
    assert "Europe/London" in text


def test_recommendations_come_in_priority_order(soup: BeautifulSoup) -> None:
    headlines = [
        p.get_text(strip=True) for p in soup.select("section.recommendations .rec-headline")
    ]
    assert headlines == [RECOMMENDATIONS[1].headline, RECOMMENDATIONS[0].headline]


# PDF


def test_pdf_metadata_and_length(pdf: dict[str, Any]) -> None:
    reader = pdf["reader"]
    assert reader.metadata.title == f"{TITLE} — 2026-10"
    assert reader.metadata.author == AUTHOR
    assert reader.metadata.creator.startswith("reportgen ")
    assert len(reader.pages) > 5


def test_pdf_text_has_sections_in_order(pdf: dict[str, Any]) -> None:
    # Skip the cover, which names every section too; a heading is a line of its own (the
    # same words also appear inside sentences, table headers and the contents' dotted lines,
    # which share page 2 with the recommendations).
    lines = [line.strip() for page in pdf["pages"][1:] for line in page.splitlines()]
    positions = [lines.index(title) if title in lines else -1 for title in SECTION_TITLES]
    assert -1 not in positions, dict(zip(SECTION_TITLES, positions, strict=True))
    assert positions == sorted(positions)


def test_pdf_cover_has_the_headline_figures(pdf: dict[str, Any]) -> None:
    cover = pdf["pages"][0]
    for text in ("1,234", "41.0%", "48.5%", "£48.2k", "26.0%", "10.0 h", "October 2026"):
        assert text in cover, text


def test_pdf_has_running_header_and_page_numbers(pdf: dict[str, Any]) -> None:
    total = len(pdf["pages"])
    assert "page 3 / " + str(total) in pdf["pages"][2]
    assert f"{TITLE} · October 2026" in pdf["pages"][2]
    assert "page 1 /" not in pdf["pages"][0]


def test_weasyprint_logs_no_warning(pdf: dict[str, Any]) -> None:
    assert problems(pdf["records"]) == []


# Templates and edge cases


def test_user_template_overrides_a_partial(content: ReportContent, tmp_path: Path) -> None:
    (tmp_path / "_cover.html").write_text(
        '<section class="cover"><h1>Custom cover for {{ report.period_label }}</h1></section>',
        encoding="utf-8",
    )
    soup = BeautifulSoup(render_html(content, tmp_path), "html.parser")
    assert soup.select_one(".cover h1").get_text() == "Custom cover for 2026-10"
    assert soup.select_one(".kpis-headline") is None
    assert [h2.get_text(strip=True) for h2 in soup.find_all("h2")][1] == "Recommendations"


def test_user_template_can_extend_the_default(content: ReportContent, tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text(
        '{% extends "default:report.html" %}'
        '{% block recommendations %}<section><h2 id="recommendations">Actions</h2>'
        "</section>{% endblock %}",
        encoding="utf-8",
    )
    soup = BeautifulSoup(render_html(content, tmp_path), "html.parser")
    headings = [h2.get_text(strip=True) for h2 in soup.find_all("h2")]
    assert headings[:3] == ["Contents", "Actions", "Cart funnel"]
    assert soup.select_one(".kpis-headline") is not None


def test_empty_period_renders(metrics: dict[str, Any], tmp_path: Path) -> None:
    content = make_content(empty_period(metrics), recommendations=[])
    html = render_html(content)
    soup = BeautifulSoup(html, "html.parser")
    assert "No carts were created in this period." in soup.select_one("#part-cart-funnel").text
    assert headline_value(soup, "carts.cart_conversion_rate") == "n/a"
    assert headline_value(soup, "carts.median_time_to_order_days") == "n/a"
    assert headline_value(soup, "carts.carts_total") == "0"
    trend = soup.select("#part-cart-funnel tbody tr")
    assert [tr.find_all("td")[-1].get_text() for tr in trend] == ["n/a"] * 5
    assert [h2.get_text(strip=True) for h2 in soup.find_all("h2")] == [
        "Contents",
        *[title for title in SECTION_TITLES if title != "Skipped"],
    ]
    with weasyprint_records() as records:
        write_pdf(html, tmp_path / "report.pdf")
    assert problems(records) == []
    assert len(PdfReader(tmp_path / "report.pdf").pages) > 5


def test_skipped_section_shows_a_note(metrics: dict[str, Any]) -> None:
    skipped = copy.deepcopy(metrics)
    skipped["skipped"] = [{"section": "carts", "reason": "no table carts"}]
    soup = BeautifulSoup(render_html(make_content(skipped)), "html.parser")
    section = soup.select_one("section.section-skipped")
    assert section.find("h2").get_text() == SECTION.title
    assert "Skipped because no table carts." in section.get_text()
    assert soup.select_one("#part-cart-funnel") is None
    assert soup.select_one(".kpis-headline") is None
