"""Headline KPI history, usual range and sparklines (reportgen/trends.py), hand-computed.

The shop is tiny and every expected number is worked out beside it (STYLE.md rule 14).
The report period is March 2024 (UTC) unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import StageTimer, build_report
from reportgen.report.metrics import compute_metrics
from reportgen.report.trends import history_sections, kpi_history, sparkline_svg, usual_range
from reportgen.sections.carts import SECTION
from reportgen.sections.carts.kpis import CART_KPIS

SVG = "{http://www.w3.org/2000/svg}"

# December 2023: no cart. January: C1 converted (A orders 2 h later), C2 abandoned
# (value 2 at 10 = 20). February: C3, C4, C5 abandoned (5 + 5 + 10 = 20). March: C6
# converted (C orders 1 h later).
SHOP: dict[str, list[tuple[Any, ...]]] = {
    "carts": [
        ("C1", "A", "2024-01-10 10:00:00", "converted"),
        ("C2", "B", "2024-01-20 09:00:00", "abandoned"),
        ("C3", "A", "2024-02-05 08:00:00", "abandoned"),
        ("C4", "B", "2024-02-06 08:00:00", "abandoned"),
        ("C5", "C", "2024-02-29 23:00:00", "abandoned"),
        ("C6", "C", "2024-03-15 12:00:00", "converted"),
    ],
    "cart_items": [
        ("C1", "P1", 1, 10.0),
        ("C2", "P1", 2, 10.0),
        ("C3", "P2", 1, 5.0),
        ("C4", "P2", 1, 5.0),
        ("C5", "P1", 1, 10.0),
        ("C6", "P1", 1, 10.0),
    ],
    "orders": [
        ("O1", "A", "2024-01-10 12:00:00", "C1"),
        ("O2", "C", "2024-03-15 13:00:00", "C6"),
    ],
}
HEADLINE = [spec.key for spec in CART_KPIS if spec.headline]


def _config(db_path: Path, tmp_path: Path) -> Any:
    return config_from_dict({"source": {"url": f"sqlite:///{db_path}"}}, base_dir=tmp_path)


def _values(history: dict[str, list[dict[str, Any]]], key: str) -> list[Any]:
    return [point["value"] for point in history[key]]


@pytest.fixture
def shop(make_db, tmp_path: Path) -> Any:
    return _config(make_db(**SHOP), tmp_path)


def test_history_counts_each_month_by_hand(shop) -> None:
    history = kpi_history(shop, month_period("2024-03"), count=4)
    assert sorted(history) == sorted(HEADLINE)
    labels = [point["label"] for point in history["carts.carts_total"]]
    assert labels == ["2023-12", "2024-01", "2024-02", "2024-03"]
    assert _values(history, "carts.carts_total") == [0, 2, 3, 1]
    assert _values(history, "carts.abandoned_cart_value") == [0, 20, 20, 0]
    # December has no cart, so no rate: null, never 0 (METRICS.md §7).
    assert _values(history, "carts.cart_conversion_rate") == [None, 0.5, 0.0, 1.0]
    assert _values(history, "carts.abandonment_rate") == [None, 0.5, 1.0, 0.0]
    # January: 2 h from cart to order; March: 1 h; no converted cart otherwise.
    assert _values(history, "carts.median_time_to_order_days") == [
        None,
        pytest.approx(2 / 24),
        None,
        pytest.approx(1 / 24),
    ]


def test_history_ends_with_the_period_as_metrics_json_has_it(shop) -> None:
    period = month_period("2024-03")
    history = kpi_history(shop, period, count=4)
    metrics = compute_metrics(shop, period)
    for key in HEADLINE:
        assert history[key][-1] == {"label": "2024-03", "value": metrics["kpis"][key]}
        assert history[key][-2] == {"label": "2024-02", "value": metrics["kpis"]["previous"][key]}


def test_metrics_json_of_the_period_stands_in_for_its_first_call(shop, monkeypatch) -> None:
    period = month_period("2024-03")
    metrics = compute_metrics(shop, period)
    expected = kpi_history(shop, period, count=4, metrics=metrics)  # by the one-pass history
    calls: list[str] = []

    def counted(source: Any, config: Any, asked: Any) -> Any:
        calls.append(asked.label)
        return SECTION.compute(source, config, asked)

    # Without its one-pass history the section is computed per two periods.
    counting = dataclasses.replace(SECTION, compute=counted, history=None)
    monkeypatch.setattr("reportgen.report.trends.all_sections", lambda: [counting])
    assert kpi_history(shop, period, count=4, metrics=metrics) == expected
    assert calls == ["2024-01"]


def test_an_odd_count_drops_the_last_calls_previous_period(shop) -> None:
    history = kpi_history(shop, month_period("2024-03"), count=3)
    assert [p["label"] for p in history["carts.carts_total"]] == ["2024-01", "2024-02", "2024-03"]
    assert _values(history, "carts.carts_total") == [2, 3, 1]


def test_twelve_periods_by_default_with_zero_before_the_data(shop) -> None:
    history = kpi_history(shop, month_period("2024-03"))
    totals = history["carts.carts_total"]
    assert [p["label"] for p in totals][:2] == ["2023-04", "2023-05"]
    assert [p["value"] for p in totals] == [0] * 9 + [2, 3, 1]


def test_a_section_without_its_table_has_no_history(shop) -> None:
    # The shop has no events table: the events section is skipped, as metrics.json skips it.
    assert kpi_history(shop, month_period("2024-03"), ["events"], count=2) == {}


def test_the_event_log_has_a_history_in_one_pass_and_experiments_none() -> None:
    # Events answer every period at once (Section.history); experiments say why they don't.
    assert "carts" in history_sections()
    assert "events" in history_sections()
    assert history_sections(["events"]) == ["events"]
    assert "experiments" not in history_sections()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 3, 2, 2], {"low": 1, "high": 3, "status": "within"}),
        ([1, 3, 2, 3], {"low": 1, "high": 3, "status": "within"}),
        ([1, 3, 2, 4], {"low": 1, "high": 3, "status": "above"}),
        ([1, 3, 2, 0.5], {"low": 1, "high": 3, "status": "below"}),
        # Only the 8 values before the last count: the 100 is too old.
        ([100, 1, 2, 3, 2, 1, 2, 3, 2, 50], {"low": 1, "high": 3, "status": "above"}),
        # Nulls are left out; the last being null gives no verdict.
        ([None, 1, None, 3, 2, 2.5], {"low": 1, "high": 3, "status": "within"}),
        ([1, 3, 2, None], {"low": 1, "high": 3, "status": None}),
        # Fewer than 3 earlier values: no range at all.
        ([None, 1, 3, 9], {"low": None, "high": None, "status": None}),
        ([], {"low": None, "high": None, "status": None}),
    ],
)
def test_usual_range(values: list[Any], expected: dict[str, Any]) -> None:
    assert usual_range(values) == expected


def _points(svg: str) -> tuple[int, int, int]:
    """Return (points drawn as line or lone dot, polylines, last-point dots) of a sparkline."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("90", "24")
    lines = root.findall(f"{SVG}polyline")
    circles = root.findall(f"{SVG}circle")
    lone = [c for c in circles if c.get("class") != "last"]
    drawn = sum(len(line.get("points", "").split()) for line in lines) + len(lone)
    return drawn, len(lines), len(circles) - len(lone)


def test_sparkline_is_svg_with_one_point_per_value() -> None:
    svg = sparkline_svg([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], "Carts created")
    assert _points(svg) == (12, 1, 1)
    assert ET.fromstring(svg).find(f"{SVG}title").text == "Carts created"


def test_sparkline_nulls_break_the_line() -> None:
    # Runs [1, 2] and [3, 4] are lines; 5 stands alone (a dot) and is also the last point.
    svg = sparkline_svg([1, 2, None, 3, 4, None, 5])
    assert _points(svg) == (5, 2, 1)


def test_sparkline_edge_cases() -> None:
    assert sparkline_svg([None, None]) == ""
    # A flat line sits mid-height; a null last value gets no dot.
    flat = ET.fromstring(sparkline_svg([2, 2, 2, None]))
    ys = {pair.split(",")[1] for pair in flat.find(f"{SVG}polyline").get("points").split()}
    assert ys == {"12.00"}
    assert _points(sparkline_svg([2, 2, 2, None])) == (3, 1, 0)
    # A title is escaped, so the SVG stays well-formed.
    assert ET.fromstring(sparkline_svg([1, 2], 'Cart & "value" <x>')) is not None


# Twelve months, 2023-04 to 2024-03: none in April to June, then 1, 2, 1, 2… abandoned
# carts of $10 each from July to February, and 5 in March. Carts created: the 8 months
# before March run from 1 to 2, so March's 5 is outside; every cart is abandoned, so the
# abandonment rate (100% each month) is within.
MONTHS = ["2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02"]
BUILD_CARTS = [(1 if i % 2 == 0 else 2, month) for i, month in enumerate(MONTHS)] + [(5, "2024-03")]


def test_a_built_report_has_trends_json_and_the_usual_range_on_its_cover(
    make_db, tmp_path: Path
) -> None:
    carts, items = [], []
    for count, month in BUILD_CARTS:
        for n in range(count):
            cart = f"{month}-{n}"
            carts.append((cart, f"U{n}", f"{month}-1{n} 10:00:00", "abandoned"))
            items.append((cart, "P1", 1, 10.0))
    config = _config(make_db(carts=carts, cart_items=items), tmp_path)
    result = build_report(config, month_period("2024-03"), output=tmp_path / "reports", pdf=False)

    metrics = json.loads((result.folder / "metrics.json").read_text())
    assert set(metrics) == {
        "period",
        "previous_period",
        "rules",
        "kpis",
        "tables",
        "data_quality",
        "skipped",
    }
    trends = json.loads((result.folder / "trends.json").read_text())
    assert trends["period"]["label"] == "2024-03"
    totals = trends["kpis"]["carts.carts_total"]
    # April to July 2023 are left out: the data starts on 10 July (rule comparison-coverage).
    assert [p["value"] for p in totals] == [None, None, None, None, 2, 1, 2, 1, 2, 1, 2, 5]
    assert totals[-1]["label"] == "2024-03"

    soup = BeautifulSoup((result.folder / "report.html").read_text(), "html.parser")
    cover = soup.select_one("section.cover")

    def card(key: str) -> Any:
        return cover.select_one(f'.kpi[data-key="{key}"]')

    total = card("carts.carts_total")
    assert total.select_one(".kpi-delta .kpi-range").get_text(" ", strip=True) == (
        "· outside the usual range (1\u20132)"
    )
    assert "within the usual range" in card("carts.abandonment_rate").select_one(".kpi-delta").text
    value = card("carts.abandoned_cart_value").select_one(".kpi-range").text
    assert "outside the usual range ($10\u2013$20)" in value
    # Every cart headline has its sparkline (8 points, the covered months, the last one
    # marked), but the median time to order: no cart converted, so it is null in every month.
    for key in HEADLINE:
        svg = card(key).select_one(".kpi-spark svg")
        assert (svg is None) == (key == "carts.median_time_to_order_days"), key
    assert _points(str(total.select_one(".kpi-spark svg")))[0] == 8
    note = cover.select_one(".cover-trends").text
    assert "last 12 months, recomputed from the source" in note


def _counting_history(monkeypatch) -> list[list[str]]:
    """Replace the cart section by one whose history records the periods it is asked."""
    asked: list[list[str]] = []

    def counted(source: Any, config: Any, periods: Any) -> Any:
        asked.append([p.label for p in periods])
        return SECTION.history(source, config, periods)

    counting = dataclasses.replace(SECTION, history=counted)
    monkeypatch.setattr("reportgen.report.trends.all_sections", lambda: [counting])
    return asked


def test_a_one_pass_history_is_asked_only_the_periods_metrics_json_lacks(shop, monkeypatch):
    period = month_period("2024-03")
    metrics = compute_metrics(shop, period)
    # Coverage unknown (no first and last created_at): every period is shown and asked.
    quality = {k: v for k, v in metrics["data_quality"].items() if k not in SECTION.coverage}
    metrics = {**metrics, "data_quality": quality}
    # Another period's metrics.json: the same coverage rules, every period by the history.
    other = {**metrics, "period": month_period("2024-02").as_json()}
    expected = kpi_history(shop, period, count=4, metrics=other)
    asked = _counting_history(monkeypatch)
    assert kpi_history(shop, period, count=4, metrics=metrics) == expected
    assert asked == [["2023-12", "2024-01"]]


def test_periods_the_data_barely_covers_are_not_asked_and_stay_empty(shop, monkeypatch):
    period = month_period("2024-04")
    metrics = compute_metrics(shop, period)
    every = kpi_history(shop, period, count=6)  # no metrics: every period computed, shown
    asked = _counting_history(monkeypatch)
    found = kpi_history(shop, period, count=6, metrics=metrics)
    # The shop's carts run from 10 January to 15 March 2024 (rule comparison-coverage:
    # a month is shown when they cover 95% of it). metrics.json holds April and March;
    # of the four months before, only February is covered, so only it reaches the source.
    assert asked == [["2024-02"]]
    for key, points in found.items():
        labels = [p["label"] for p in points]
        assert labels == ["2023-11", "2023-12", "2024-01", "2024-02", "2024-03", "2024-04"]
        values = [p["value"] for p in points]
        assert values[:3] == [None] * 3, key
        assert values[3] == every[key][3]["value"], key
        assert values[4] is None, key  # March: half covered
        assert values[5] == metrics["kpis"][key], key


def test_a_large_sqlite_file_gets_its_history_in_a_process_of_its_own(
    shop, tmp_path, monkeypatch
) -> None:
    """The history beside the queries, spawned (SQLite sorts of two threads contend): the
    same trends.json as on a thread beside the charts."""
    period = month_period("2024-03")
    built = {}
    for name, threshold in (("thread", 2**62), ("process", 0)):
        monkeypatch.setattr("reportgen.source.beside.OWN_PROCESS_MIN_BYTES", threshold)
        timer = StageTimer()
        result = build_report(shop, period, output=tmp_path / name, pdf=False, timer=timer)
        built[name] = (json.loads((result.folder / "trends.json").read_text()), set(timer.stages))
    assert "history (own process)" in built["process"][1]
    assert "history (beside charts)" in built["thread"][1]
    assert built["process"][0] == built["thread"][0]
    assert built["process"][0]["kpis"]["carts.carts_total"][-1]["value"] == 1


def _slow_history(config, period, wanted, count):  # run in the worker: picklable by name
    import time

    time.sleep(120)


def test_a_build_whose_queries_fail_kills_the_history_worker(shop, tmp_path, monkeypatch):
    """The history's own process is killed, not waited for (it held a failed build 5 s)."""
    import threading
    import time

    import reportgen.report.build as build
    import reportgen.source.beside as beside
    from reportgen.errors import SourceError

    monkeypatch.setattr(beside, "OWN_PROCESS_MIN_BYTES", 0)  # this small file gets one
    monkeypatch.setattr(build, "_earlier_in_process", _slow_history)
    started: list[Any] = []  # the OwnProcess the build submitted to
    real_submit = beside.OwnProcess.submit

    def submit(self, fn, /, *args):
        started.append(self)
        return real_submit(self, fn, *args)

    def failing(*args, **kwargs):
        deadline = time.monotonic() + 30
        while not (started and started[0]._running):  # the worker is running
            assert time.monotonic() < deadline
            time.sleep(0.05)
        raise SourceError("the queries failed")

    monkeypatch.setattr(beside.OwnProcess, "submit", submit)
    monkeypatch.setattr(build, "compute_metrics", failing)
    with pytest.raises(SourceError):
        build_report(shop, month_period("2024-03"), output=tmp_path / "out", pdf=False)
    began = time.monotonic()
    for thread in threading.enumerate():
        if thread.name.startswith(("rg-trends", "rg-own-process")):
            thread.join(timeout=60)
    assert time.monotonic() - began < 20
    assert not started[0]._running
