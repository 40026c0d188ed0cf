"""A section from outside the package joins a report by one registration line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

import reportgen.sections
from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import build_report


@pytest.fixture
def registered(monkeypatch):
    """Register the test package's section after the built-in ones: the one line."""
    monkeypatch.setattr(
        reportgen.sections, "REGISTERED", (*reportgen.sections.REGISTERED, "points_section")
    )


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "points.db"
    with sqlite3.connect(path) as db:
        db.execute("create table point_awards (customer_id, awarded_at, points)")
        db.executemany(
            "insert into point_awards values (?, ?, ?)",
            [
                ("C1", "2024-03-02 10:00:00", 150),
                ("C2", "2024-03-09", 40),
                ("C3", "2024-03-31 23:59:59", -5),
                ("C1", "2024-04-01 00:00:00", 999),  # next month
                ("C2", "2024-02-20", 70),  # previous month
            ],
        )
    return path


def test_the_section_shows_its_page_rule_quality_row_and_kpi(registered, shop, tmp_path):
    config = config_from_dict(
        {
            "source": {"url": f"sqlite:///{shop}"},
            "report": {"output": str(tmp_path / "reports"), "trend_periods": 0},
            "rules": {"points": {"big_award": 100}},
        }
    )
    result = build_report(config, month_period("2024-03"))

    metrics = json.loads((result.folder / "metrics.json").read_text())
    assert metrics["kpis"]["points.points_awarded"] == 150 + 40 - 5
    assert metrics["kpis"]["points.big_awards"] == 1
    assert metrics["kpis"]["previous"]["points.points_awarded"] == 70
    assert metrics["data_quality"]["points.negative_awards"] == 1
    assert metrics["rules"]["big_award"] == 100
    assert {"section": "carts", "reason": "no table carts"} in metrics["skipped"]

    page = BeautifulSoup((result.folder / "report.html").read_text(), "html.parser")
    section = page.select_one("#section-points")
    assert "Points the loyalty scheme awarded" in section.get_text()
    assert section.select_one("svg") is not None  # its chart, inline
    assert "185" in page.select_one(".cover").get_text()  # its headline KPI on the cover
    appendix = page.select_one("section.assumptions").get_text(" ", strip=True)
    assert "Big award" in appendix
    assert "rules.big_award" in appendix
    assert "rules.reengagement_days" not in appendix  # the cart section is not in it
    quality = page.select_one("section.data-quality").get_text(" ", strip=True)
    assert "Point awards below zero" in quality

    text = "\n".join(p.extract_text() for p in PdfReader(result.folder / "report.pdf").pages)
    assert "Loyalty points" in text


def test_its_rules_are_validated_like_the_built_in_ones(registered):
    from reportgen.errors import ConfigError

    with pytest.raises(ConfigError, match=r"rules\.big_award: Input should be greater"):
        config_from_dict({"rules": {"big_award": 0}})
    with pytest.raises(ConfigError, match=r"rules\.points\.bigaward: unknown key"):
        config_from_dict({"rules": {"points": {"bigaward": 3}}})


def test_its_table_is_a_canonical_table(registered):
    config = config_from_dict({"source": {"tables": {"point_awards": "awards_2024"}}})
    assert config.source.tables == {"point_awards": "awards_2024"}
