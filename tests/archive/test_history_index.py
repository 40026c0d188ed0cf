"""The archive index and the links between reports, on a hand-made archive folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from reportgen.archive.index import (
    navigation_links,
    period_neighbours,
    read_archive,
    relink,
    write_index,
)
from reportgen.errors import PeriodError
from reportgen.periods import custom_period, month_period, week_period
from reportgen.render.html import FONT_DIR, FONTS, make_environment, write_pdf


def _report(
    output: Path,
    folder: str,
    kpis: dict[str, Any] | None = None,
    *,
    generated_at: str = "2026-11-02T06:00:00Z",
    pdf: bool = False,
    metrics_text: str | None = None,
) -> Path:
    """Write a minimal report folder: metrics.json, build.json, report.html, csv/."""
    path = output / folder
    (path / "csv").mkdir(parents=True)
    (path / "csv" / "carts.funnel_trend.csv").write_text("bucket,carts\n")
    (path / "report.html").write_text("<!DOCTYPE html><title>report</title>")
    (path / "build.json").write_text(json.dumps({"generated_at": generated_at}))
    if metrics_text is None:
        kind, label = folder.split("/")
        metrics_text = json.dumps({"period": {"kind": kind, "label": label}, "kpis": kpis or {}})
    (path / "metrics.json").write_text(metrics_text)
    if pdf:
        (path / "report.pdf").write_bytes(b"%PDF-1.7\n")
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An archive of three months (one with a PDF, one rebuilt twice, one corrupt), a
    build still being assembled, a stray folder, two weeks and two custom windows."""
    output = tmp_path / "reports"
    _report(
        output,
        "month/2026-10",
        {
            "carts.carts_total": 1234,
            "carts.cart_conversion_rate": 0.25,
            "carts.abandonment_rate": 0.6875,
            "carts.abandoned_cart_value": 9876.5,
            "carts.reengagement_rate": None,
            "carts.median_time_to_order_days": 1.5,
            "carts.carts_open": 7,
            "previous": {"carts.carts_total": 1000},
        },
        pdf=True,
    )
    _report(
        output,
        "month/2026-09",
        {"carts.carts_total": 1000, "carts.cart_conversion_rate": 0.2},
        generated_at="2026-10-02T06:00:00Z",
    )
    for built in ("2026-10-01T060000Z", "2026-10-01T120000Z"):
        old = output / "history" / "month" / "2026-09" / built
        old.mkdir(parents=True)
        (old / "report.html").write_text("<!DOCTYPE html><title>old</title>")
        stamp = built[:13] + ":" + built[13:15] + ":" + built[15:]
        (old / "build.json").write_text(json.dumps({"generated_at": stamp}))
    _report(output, "month/2026-08", metrics_text='{"period": {"kind": "month"')
    _report(output, "month/.2026-11.building-x1y2", {"carts.carts_total": 5})
    (output / "month" / "notes").mkdir()
    (output / "month" / "2026-07").mkdir()  # empty: not a report
    _report(output, "week/2026-W01", {"events.users": 50, "events.revenue": 12.345})
    _report(output, "week/2026-W43", {"events.users": 2823})
    _report(output, "custom/2025-10-03..2026-01-01", {"carts.carts_total": 10})
    _report(output, "custom/2026-01-01..2026-04-01", {"carts.carts_total": 20})
    return output


def _soup(output: Path) -> BeautifulSoup:
    return BeautifulSoup(write_index(output).read_text(encoding="utf-8"), "html.parser")


def _row(soup: BeautifulSoup, kind: str, label: str):
    return soup.select_one(f'section#{kind} tr[data-label="{label}"]')


def test_index_groups_by_kind_newest_period_first(archive):
    soup = _soup(archive)
    assert [h2.contents[0].strip() for h2 in soup.select("section.kind h2")] == [
        "Monthly",
        "Weekly",
        "Custom",
    ]
    labels = {
        section["id"]: [row["data-label"] for row in section.select("tbody tr")]
        for section in soup.select("section.kind")
    }
    # The hidden build, the stray folder and the empty folder are not reports.
    assert labels == {
        "month": ["2026-10", "2026-09", "2026-08"],
        "week": ["2026-W43", "2026-W01"],
        "custom": ["2026-01-01..2026-04-01", "2025-10-03..2026-01-01"],
    }
    period = _row(soup, "week", "2026-W01").select_one(".period")
    assert period.select_one(".range").get_text() == "29 Dec 2025 \u2013 4 Jan 2026"


def test_index_shows_the_headline_kpis_formatted(archive):
    soup = _soup(archive)
    # Months only have cart KPIs: no event column full of n/a.
    assert [th.get_text() for th in soup.select("section#month thead th.kpi")] == [
        "Carts created",
        "Cart conversion rate",
        "Abandonment rate",
        "Abandoned cart value",
        "7-day re-engagement rate",
        "Median time to order",
    ]
    assert [th.get_text() for th in soup.select("section#month th.section")] == [
        "Cart & customer behaviour"
    ]
    october = [td.get_text() for td in _row(soup, "month", "2026-10").select("td.kpi")]
    assert october == ["1,234", "25.0%", "68.8%", "$9,876.50", "n/a", "1.50 days"]
    september = [td.get_text() for td in _row(soup, "month", "2026-09").select("td.kpi")]
    assert september == ["1,000", "20.0%", "n/a", "n/a", "n/a", "n/a"]
    assert [th.get_text() for th in soup.select("section#week thead th.kpi")] == [
        "Users",
        "Event revenue",
    ]
    first_week = [td.get_text() for td in _row(soup, "week", "2026-W01").select("td.kpi")]
    assert first_week == ["50", "$12.35"]


def test_index_links_are_relative_and_point_at_files(archive):
    soup = _soup(archive)
    october = _row(soup, "month", "2026-10")
    assert october.select_one("a.label")["href"] == "month/2026-10/report.html"
    assert october.select_one("a.html")["href"] == "month/2026-10/report.html"
    assert october.select_one("a.pdf")["href"] == "month/2026-10/report.pdf"
    assert october.select_one("a.csv")["href"] == "month/2026-10/csv/"
    assert _row(soup, "month", "2026-09").select_one("a.pdf") is None
    custom = _row(soup, "custom", "2026-01-01..2026-04-01")
    assert custom.select_one("a.html")["href"] == "custom/2026-01-01..2026-04-01/report.html"
    hrefs = [a["href"] for a in soup.select("a[href]") if not a["href"].startswith("#")]
    assert hrefs
    for href in hrefs:
        assert "://" not in href, href
        assert not href.startswith("/"), href
        assert (archive / unquote(href)).exists(), href


def test_index_counts_and_links_superseded_builds(archive):
    soup = _soup(archive)
    earlier = _row(soup, "month", "2026-09").select_one("details.earlier")
    assert earlier["data-count"] == "2"
    assert earlier.summary.get_text() == "2 earlier builds"
    links = [(a.get_text(), a["href"]) for a in earlier.select("a")]
    assert links == [
        ("1 Oct 2026 12:00 UTC", "history/month/2026-09/2026-10-01T120000Z/report.html"),
        ("1 Oct 2026 06:00 UTC", "history/month/2026-09/2026-10-01T060000Z/report.html"),
        ("all in history/", "history/month/2026-09/"),
    ]
    assert _row(soup, "month", "2026-10").select_one("details.earlier") is None


def test_index_shows_when_each_report_was_built(archive):
    soup = _soup(archive)
    built = _row(soup, "month", "2026-10").select("td.built span")
    assert [span.get_text() for span in built] == ["2 Nov 2026", "06:00 UTC"]


def test_invalid_metrics_json_is_listed_with_a_note(archive):
    row = _row(_soup(archive), "month", "2026-08")
    assert row.select_one("td.note").get_text() == "metrics.json is not valid JSON"
    assert row.select("td.kpi") == []
    assert row.select_one("a.html")["href"] == "month/2026-08/report.html"
    assert read_archive(archive)["month"][-1].metrics is None


def test_a_folder_without_metrics_json_is_listed_with_a_note(tmp_path):
    output = tmp_path / "reports"
    folder = output / "week" / "2026-W43"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<!DOCTYPE html><title>report</title>")
    row = _row(_soup(output), "week", "2026-W43")
    assert row.select_one(".note").get_text() == "metrics.json is missing"
    assert [span.get_text() for span in row.select("td.built span")] == ["n/a"]
    assert [a["class"] for a in row.select(".files a")] == [["html"]]


def test_index_is_self_contained_and_written_atomically(archive):
    target = write_index(archive)
    assert target == archive / "index.html"
    text = target.read_text(encoding="utf-8")
    soup = BeautifulSoup(text, "html.parser")
    assert soup.select("script") == []
    assert soup.select("link[rel=stylesheet]") == []
    assert "http://" not in text
    assert "https://" not in text
    assert soup.title.get_text() == "Report archive — all reports"
    assert sorted(p.name for p in archive.iterdir()) == [
        "custom",
        "history",
        "index.html",
        "month",
        "week",
    ]


def test_index_of_an_empty_archive(tmp_path):
    soup = _soup(tmp_path / "reports")
    assert soup.select("section.kind") == []
    assert soup.select_one("p.empty").get_text().startswith("No reports yet")


def test_index_takes_the_currency_and_title(archive):
    html = write_index(archive, currency="EUR", title="Shop reports").read_text()
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one(".kicker").get_text() == "Shop reports"
    assert _row(soup, "week", "2026-W01").select("td.kpi")[1].get_text() == "€12.35"


def test_period_neighbours_are_the_nearest_archived_reports(archive):
    assert period_neighbours(archive, "month", "2026-09") == ("2026-08", "2026-10")
    assert period_neighbours(archive, "month", "2026-10") == ("2026-09", None)
    assert period_neighbours(archive, "month", "2026-08") == (None, "2026-09")
    # A period not archived (yet) still has neighbours; the hidden build is not one.
    assert period_neighbours(archive, "month", "2026-12") == ("2026-10", None)
    assert period_neighbours(archive, "week", "2026-W10") == ("2026-W01", "2026-W43")
    assert period_neighbours(archive, "custom", "2026-01-01..2026-04-01") == (
        "2025-10-03..2026-01-01",
        None,
    )
    assert period_neighbours(archive / "nothing", "month", "2026-09") == (None, None)
    with pytest.raises(PeriodError, match="not a month period label"):
        period_neighbours(archive, "month", "2026-W43")


def test_navigation_links_use_the_archived_neighbours(archive):
    assert navigation_links(archive, month_period("2026-10")) == {
        "index": "../../index.html",
        "previous": {"label": "2026-09", "href": "../2026-09/report.html"},
        "next": None,
    }


def test_nav_links_only_reports_that_exist(archive):
    """Regression: the nav linked the calendar neighbours (2026-11, never built)."""
    november = navigation_links(archive, month_period("2026-11"))
    assert (november["previous"]["label"], november["next"]) == ("2026-10", None)
    week = navigation_links(archive, week_period("2026-W20"))
    assert (week["previous"]["label"], week["next"]["label"]) == ("2026-W01", "2026-W43")
    window = navigation_links(archive, custom_period("2026-01-01", "2026-04-01"))
    assert window["previous"]["href"] == "../2025-10-03..2026-01-01/report.html"
    assert window["next"] is None
    # 2026-07 is an empty folder, 2026-08 has a report.html: the nearest one that opens.
    assert navigation_links(archive, month_period("2026-09"))["previous"]["label"] == "2026-08"


def test_nav_of_a_history_copy_links_from_its_own_depth(archive):
    folder = archive / "history" / "month" / "2026-09" / "2026-10-01T060000Z"
    assert navigation_links(archive, month_period("2026-09"), folder) == {
        "index": "../../../../index.html",
        "previous": {"label": "2026-08", "href": "../../../../month/2026-08/report.html"},
        "next": {"label": "2026-10", "href": "../../../../month/2026-10/report.html"},
    }


def test_relink_rewrites_the_nav_bar_to_the_archived_neighbours(archive):
    env = make_environment()
    stale = {
        "index": "../../index.html",
        "previous": {"label": "2026-08", "href": "../2026-08/report.html"},
        "next": {"label": "2026-11", "href": "../2026-11/report.html"},
    }
    page = archive / "month" / "2026-10" / "report.html"
    body = env.from_string('<body>{% include "_nav.html" %}<p>kept</p></body>')
    page.write_text(body.render(nav=stale))
    write_index(archive)
    relink(archive, [archive / "month" / "2026-10"])
    soup = BeautifulSoup(page.read_text(), "html.parser")
    assert soup.select_one("a[rel=prev]")["href"] == "../2026-09/report.html"
    assert soup.select_one("a[rel=next]") is None
    assert soup.select_one("p").get_text() == "kept"
    for a in soup.select("nav a[href]"):
        assert (page.parent / a["href"]).resolve().is_file(), a["href"]


OCTOBER_NAV = {
    "index": "../../index.html",
    "previous": {"label": "2026-09", "href": "../2026-09/report.html"},
    "next": {"label": "2026-11", "href": "../2026-11/report.html"},
}


def test_nav_partial_links_and_is_empty_without_nav():
    env = make_environment()
    template = env.from_string('{% include "_nav.html" %}')
    nav = BeautifulSoup(template.render(nav=OCTOBER_NAV), "html.parser")
    assert nav.select_one("nav")["class"] == ["nav", "no-print"]
    assert nav.select_one("a[rel=prev]")["href"] == "../2026-09/report.html"
    assert nav.select_one("a[rel=next]").get_text() == "2026-11 \u2192"
    assert nav.select_one("a.nav-index")["href"] == "../../index.html"
    first = {"index": "../../index.html", "previous": None, "next": None}
    assert BeautifulSoup(template.render(nav=first), "html.parser").select("a[rel]") == []
    assert template.render().strip() == ""


def test_nav_is_hidden_in_the_pdf(tmp_path, caplog):
    page = make_environment().from_string(
        '<!DOCTYPE html><html><head><style>{% include "report.css" %}</style></head>'
        '<body>{% include "_nav.html" %}<p>Report body</p></body></html>'
    )
    fonts = {weight: (FONT_DIR / name).as_uri() for weight, name in FONTS.items()}
    html = page.render(nav=OCTOBER_NAV, fonts=fonts)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_pdf(html, tmp_path / "nav.pdf")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    text = PdfReader(tmp_path / "nav.pdf").pages[0].extract_text()
    assert "Report body" in text
    assert "All reports" not in text
    assert "2026-09" not in text
