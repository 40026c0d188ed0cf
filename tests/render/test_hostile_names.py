"""Hostile names through a full build: escaped in the HTML, text in the PDF and the charts.

Regression: a product named with ``src="…"`` crashed the build with a traceback
(``ValueError: chart SVG refers to an external resource``). Every name below is a
product, a category, a segment value and a brand of a tiny shop (March 2024): each product
is in one abandoned cart (1 x 10.00), and each brand has one purchase (10.00).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from pypdf import PdfReader

from reportgen.cli import main

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src="https://evil.example/x.png" onerror="alert(1)">'
QUOTES = "Mug \"Deluxe\" 'XL' & <b>bold</b> {{ 7*7 }}"
LONG = "Long" + "x" * 10_000
EMOJI = "Cup ☕ 😀"
RTL = "כוס קפה"
CONTROL = "Tab\x01Bell\x07"
NAMES = [SCRIPT, IMG, QUOTES, LONG, EMOJI, RTL, CONTROL]

EVENT_COLUMNS = ("event_time", "event_type", "user_id", "session_id", "product_id", "price")
EVENT_COLUMNS += ("category_code", "brand")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """Build the shop's March 2024 report with PDF; return its folder and the CLI output."""
    import sqlite3

    root = tmp_path_factory.mktemp("hostile")
    db = root / "shop.db"
    carts = [(f"c{i}", f"u{i}", f"2024-03-{i + 2:02d} 10:00:00", "abandoned") for i in range(7)]
    with sqlite3.connect(db) as conn:
        tables = {
            "carts": ("cart_id", "customer_id", "created_at", "status", carts),
            "cart_items": (
                "cart_id",
                "product_id",
                "quantity",
                "unit_price",
                [(f"c{i}", f"p{i}", 1, 10.0) for i in range(7)],
            ),
            "orders": ("order_id", "customer_id", "order_date", [("o1", "u1", "2024-02-01")]),
            "customers": (
                "customer_id",
                "signup_channel",
                [(f"u{i}", name) for i, name in enumerate(NAMES)],
            ),
            "products": (
                "product_id",
                "name",
                "category",
                [(f"p{i}", name, name) for i, name in enumerate(NAMES)],
            ),
            "events": (
                *EVENT_COLUMNS,
                [
                    (
                        f"2024-03-{i + 2:02d} 10:00",
                        "purchase",
                        f"u{i}",
                        f"s{i}",
                        name,
                        10,
                        name,
                        name,
                    )
                    for i, name in enumerate(NAMES)
                ],
            ),
        }
        for name, (*columns, rows) in tables.items():
            conn.execute(f"create table {name} ({', '.join(columns)})")
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"insert into {name} values ({marks})", rows)
    config = root / "shop.yaml"
    config.write_text(
        f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n  trend_periods: 0\n"
        "segments: [signup_channel]\nrules:\n  zero_purchase_min_views: 1\n"
    )
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("weasyprint").addHandler(handler)
    try:
        result = CliRunner().invoke(
            main, ["build", "--config", str(config), "--month", "2024-03"], catch_exceptions=True
        )
    finally:
        logging.getLogger("weasyprint").removeHandler(handler)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    # WeasyPrint's own tests fail on any warning; only the machine's HarfBuzz may speak.
    assert [r.getMessage() for r in records if "HarfBuzz-Subset" not in r.getMessage()] == []
    return root / "reports" / "month" / "2024-03", result.output


def test_html_escapes_every_name(built):
    folder, _ = built
    html = (folder / "report.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find_all("script") == []
    assert soup.find_all("b") == []
    assert not [img for img in soup.find_all("img") if "evil" in str(img.get("src"))]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    text = soup.get_text()
    for name in (SCRIPT, IMG, QUOTES, EMOJI, RTL):
        assert name in text, name
    assert LONG in text  # tables show a name whole; charts cut their labels


def test_chart_labels_are_text_not_markup(built):
    folder, _ = built
    soup = BeautifulSoup((folder / "report.html").read_text(), "html.parser")
    figures = soup.select("figure svg")
    assert figures
    labels = " ".join(t.get_text() for svg in figures for t in svg.find_all("text"))
    assert SCRIPT in labels
    assert "Tab\ufffdBell\ufffd" in labels  # XML cannot hold the control characters
    for svg in figures:
        assert not svg.find_all(["script", "foreignobject", "img"])
        assert not [a for tag in svg.find_all(True) for a in tag.attrs if a.startswith("on")]


def test_pdf_shows_the_names_as_text(built):
    folder, _ = built
    text = "\n".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages)
    flat = " ".join(text.split())
    # A control character once made the whole text layer decode as garbage ("\x00G\x00R…").
    assert "\x00" not in text
    assert "Tab\ufffdBell\ufffd" in flat
    assert SCRIPT in flat
    assert "<b>bold</b>" in flat
    assert 'src="https://evil.example/x.png"' in flat


def test_metrics_json_keeps_the_names_as_they_are(built):
    folder, _ = built
    metrics = json.loads((folder / "metrics.json").read_text())
    names = {row["name"] for row in metrics["tables"]["carts.top_abandoned_skus"]}
    assert names == set(NAMES)
