"""The experiment pages: HTML by structure, the PDF by its text and WeasyPrint's silence."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import build_report

from experiment_data import RULES, write_sqlite  # isort: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    path = write_sqlite(folder / "log.db")
    config = config_from_dict(
        {
            "source": {"url": f"sqlite:///{path}"},
            "report": {"output": str(folder / "reports"), "trend_periods": 0},
            "rules": RULES,
        }
    )
    logger = logging.getLogger("weasyprint")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        result = build_report(config, month_period("2024-03"))
    finally:
        logger.removeHandler(handler)
    return result, records


def page(result) -> BeautifulSoup:
    return BeautifulSoup((result.folder / "report.html").read_text(), "html.parser")


def test_weasyprint_logs_no_warning(built):
    _, records = built
    assert [r.getMessage() for r in records] == []


def test_the_pdf_holds_gates_verdicts_and_personas(built):
    result, _ = built
    text = "\n".join(p.extract_text() for p in PdfReader(result.pdf).pages)
    flat = " ".join(text.split())
    for words in (
        "Experiments: gates and verdicts",
        "GATES, BEFORE ANY LIFT",  # a caption: upper case in print
        "Ship B of Checkout",
        "Do not read Banner: its traffic split is broken",
        "Search is still running",
        "Tiny is too small to read",
        "Results by experiment",
        "Experiment personas (exploratory)",
        "Ship B of Checkout to everyone.",  # the recommendation
    ):
        assert words in flat, words


def test_gates_come_before_any_number_in_report_order(built):
    result, _ = built
    section = page(result).select_one("#section-experiments")
    rows = section.select("table.gates tbody tr")
    assert [r.select("td")[0].get_text(" ", strip=True) for r in rows] == [
        "Tiny 3",
        "Search 7",
        "Checkout 10",
        "Banner 12",
    ]
    assert [r.select_one("td.status").get_text(strip=True) for r in rows] == [
        "Too few sessions",
        "Still running",
        "Ship",
        "Fix the split",
    ]
    parts = [h.get_text(strip=True) for h in section.select("h2")]
    assert parts == [
        "Experiments: gates and verdicts",
        "Results by experiment",
        "Experiment personas (exploratory)",
    ]
    # The forest plot is inline SVG in a figure, one row per comparison.
    assert section.select_one("#part-experiments-overview figure svg") is not None


def test_no_winner_is_named_where_a_gate_failed(built):
    result, _ = built
    sentences = [
        p.get_text(" ", strip=True) for p in page(result).select("#section-experiments p.verdict")
    ]
    banner = [s for s in sentences if "Banner" in s]
    assert banner
    assert all("Ship" not in s and "wins" not in s.replace("neither", "") for s in banner)


def test_personas_only_for_decided_experiments(built):
    result, _ = built
    personas = page(result).select_one("#part-experiments-personas")
    assert [h.get_text(strip=True) for h in personas.select("h3")] == ["Checkout (10)"]
    text = personas.get_text(" ", strip=True)
    assert "Loyalty tier: Gold" in text
    assert "Not shown, as they have no verdict to explain: Tiny, Search, Banner" in text


def test_the_appendix_lists_the_rules_and_readings(built):
    result, _ = built
    appendix = page(result).select_one("section.assumptions").get_text(" ", strip=True)
    for words in ("rules.experiment_min_sessions", "Minimum sessions per arm", "Experiment gates"):
        assert words in appendix
    quality = page(result).select_one("section.data-quality").get_text(" ", strip=True)
    assert "Experiment sessions seen under two variants" in quality


def test_an_empty_period_says_so(tmp_path):
    path = write_sqlite(tmp_path / "log.db")
    config = config_from_dict(
        {
            "source": {"url": f"sqlite:///{path}"},
            "report": {"output": str(tmp_path / "reports"), "trend_periods": 0},
        }
    )
    result = build_report(config, month_period("2024-06"), pdf=False)
    section = page(result).select_one("#section-experiments")
    assert "No experiment had a session in this period." in section.get_text()
    assert section.select("table.gates") == []
    assert [r.section for r in result.recommendations if r.section == "experiments"] == []


def test_charts_of_a_metrics_dict_with_gaps_do_not_raise():
    from reportgen.sections.experiments.charts import build_charts

    found = build_charts(
        {"tables": {"experiments.verdicts": [{"experiment_id": 1, "lift": None}]}}, "USD"
    )
    assert "No experiment to compare" in found["experiments.forest"]


def test_the_view_of_an_empty_metrics_dict():
    from reportgen.sections.experiments.view import experiments_view

    view = experiments_view({}, "USD", {}, {})
    assert [p["id"] for p in view["parts"]] == [
        "experiments-overview",
        "experiments-results",
        "experiments-personas",
    ]
    assert all(p["empty"] for p in view["parts"])


def test_page_files_exist(built):
    result, _ = built
    assert Path(result.pdf).stat().st_size > 0
    assert (
        (result.folder / "csv" / "experiments.results.csv")
        .read_text()
        .startswith("experiment_id,variant,sessions,ctr")
    )


def test_what_to_do_gives_the_undecided_one_shared_line(built):
    result, _ = built
    overview = page(result).select_one("#part-experiments-overview")
    todo = [p.get_text(" ", strip=True) for p in overview.select("p.verdict")]
    statuses = [
        row.select("td.status")[0].get_text(strip=True)
        for row in overview.select("table.gates tbody tr")
    ]
    kept = statuses.count("Keep running")
    assert len(todo) == len(statuses) - kept + (1 if kept else 0)
    assert sum(s.startswith("Keep running") for s in todo) == (1 if kept else 0)


def test_a_persona_table_holds_only_the_personas_that_stand_out(built):
    from reportgen.sections.experiments.view import PERSONA_ROWS

    result, _ = built
    metrics = result.metrics
    rows = [
        row
        for row in metrics["tables"]["experiments.segments"]
        if str(row["experiment_id"]) == "10" and row.get("readable")
    ]
    clear = [r for r in rows if r["ci_low"] is not None and (r["ci_low"] > 0 or r["ci_high"] < 0)]
    personas = page(result).select_one("#part-experiments-personas")
    shown = personas.select("table tbody tr")
    assert len(shown) == min(len(clear), PERSONA_ROWS) < len(rows)
    assert f"{len(rows) - len(shown)} other readable" in personas.get_text(" ", strip=True)
