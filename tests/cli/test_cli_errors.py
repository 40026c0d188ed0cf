"""Bad input through the CLI: one clear line, non-zero exit, no traceback, nothing written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import assert_clean_failure
from reportgen.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def shop_config(tmp_path: Path, make_db) -> Path:
    """A config pointing at a tiny valid shop, writing into tmp_path/reports."""
    db = make_db(carts=[("c1", "u1", "2024-03-05 10:00:00", "abandoned")])
    path = tmp_path / "shop.yaml"
    path.write_text(f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n")
    return path


def test_missing_database_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("source:\n  url: sqlite:///nowhere.db\nreport:\n  output: reports\n")
    result = run("build", "--config", str(config), "--month", "2024-03", "--no-pdf")
    assert_clean_failure(
        result, tmp_path / "reports", "database file not found", "nowhere.db", "source.url"
    )


def test_missing_tables_and_columns_are_all_listed_with_their_config_keys(tmp_path):
    db = tmp_path / "odd.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table carts (cart_id, customer_id, created, status)")
        conn.execute("create table cart_items (cart_id, product_id, qty, unit_price)")
    config = tmp_path / "c.yaml"
    config.write_text(f"source:\n  url: sqlite:///{db}\nreport:\n  output: reports\n")
    result = run("build", "--config", str(config), "--month", "2024-03", "--no-pdf")
    assert_clean_failure(
        result,
        tmp_path / "reports",
        "column 'created_at' missing from table 'carts'; map it with "
        "source.columns.carts.created_at",
        "column 'quantity' missing from table 'cart_items'; map it with "
        "source.columns.cart_items.quantity",
        "table 'orders' (canonical 'orders') not found; map it with source.tables.orders",
    )


def test_malformed_yaml(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("source: {url: [\n")
    result = run("build", "--config", str(config), "--month", "2024-03")
    assert_clean_failure(result, tmp_path / "reports", "malformed YAML", "c.yaml (line")


def test_unknown_key(tmp_path, shop_config):
    shop_config.write_text(shop_config.read_text() + "rulez: {}\n")
    result = run("build", "--config", str(shop_config), "--month", "2024-03")
    assert_clean_failure(result, tmp_path / "reports", "rulez: unknown key")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2026-13"), "expected YYYY-MM"),
        (("--week", "2026-W60"), "expected an ISO week"),
        (("--from", "2026-01-01"), "--from and --to go together"),
        (("--month", "2026-01", "--week", "2026-W02"), "choose one of"),
    ],
)
def test_bad_periods(tmp_path, shop_config, args, message):
    result = run("build", "--config", str(shop_config), *args)
    assert_clean_failure(result, tmp_path / "reports", message)


def test_no_config_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("build", "--month", "2024-03")
    assert_clean_failure(result, tmp_path / "reports", "no config")


def test_a_failing_view_names_its_key(tmp_path, shop_config):
    db_line = shop_config.read_text().splitlines()[1]
    shop_config.write_text(
        f"source:\n{db_line}\n  views:\n    products: select * from no_such_table\n"
        "report:\n  output: reports\n"
    )
    result = run("build", "--config", str(shop_config), "--month", "2024-03", "--no-pdf")
    assert_clean_failure(result, tmp_path / "reports", "source.views.products", "no_such_table")


def test_every_command_has_help():
    for command in main.commands:
        result = run(command, "-h")
        assert result.exit_code == 0, result.output
        assert "Example" in result.output, command


def test_an_archive_that_cannot_be_written_is_one_line(tmp_path, shop_config):
    out = tmp_path / "not-a-folder"
    out.write_text("a file where the archive should be")
    result = run(
        "build", "--config", str(shop_config), "--month", "2024-03", "--no-pdf", "--out", str(out)
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"Error: cannot write under {out}" in result.output
    assert out.read_text() == "a file where the archive should be"
