"""One dataset, four engines, one metrics.json: every family on SQLite, a DuckDB file,
PostgreSQL and Spark, each loaded with ``reportgen load`` from the same SQLite file.

Datasets: the demo shop at small scale, and the experiments and marketing hand-made
shops (their tests write every expected number down). Numbers agree to 1e-9 relative
(Spark's float sums meet in any order), everything else exactly, tables row for row.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import config_from_dict
from reportgen.periods import Period, month_period, week_period
from reportgen.report.metrics import compute_metrics
from reportgen.sections.events.compute import history
from reportgen.source.connection import open_source

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ("sqlite", "duckdb", "postgresql", "spark")
FAMILIES = ("carts", "events", "experiments", "marketing")
NOT_YET = {}
"""Families whose SQL is not portable to Spark yet: their Spark cases xfail (strict), so
they turn red the day the rewrite makes them pass. Then drop the entry."""


def _module(folder: str, name: str) -> Any:
    """Import a section's test-data module (it lives beside that section's tests)."""
    path = ROOT / "reportgen" / "sections" / folder / "tests" / f"{name}.py"
    sys.path.insert(0, str(path.parent))  # it imports its own neighbours
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _demo(folder: Path) -> tuple[Path, dict[str, Any], Period]:
    from reportgen.demo.shop import generate_demo

    path = folder / "demo.sqlite"
    generate_demo(path, seed=11, scale=0.05, end=date(2026, 11, 1))
    segments = ["signup_channel", "loyalty_tier", "clv_bucket", "age_band"]
    return path, {"segments": segments}, month_period("2026-10")


def _experiments(folder: Path) -> tuple[Path, dict[str, Any], Period]:
    data = _module("experiments", "experiment_data")
    return data.write_sqlite(folder / "log.db"), {"rules": data.RULES}, month_period("2024-03")


def _marketing(folder: Path) -> tuple[Path, dict[str, Any], Period]:
    shop = _module("marketing", "marketing_shop")
    return shop.write_sqlite(folder / "shop.db", shop.TABLES), {}, shop.MARCH


DATASETS = {"demo": _demo, "experiments_handmade": _experiments, "marketing_handmade": _marketing}
FAMILIES_OF = {
    "demo": FAMILIES,
    "experiments_handmade": ("experiments",),
    "marketing_handmade": ("marketing",),
}
"""The families each dataset has tables for."""

_written: dict[str, tuple[str, Path, dict[str, Any], Period]] = {}
_loaded: dict[tuple[str, str], str] = {}


def _dataset(name: str, tmp_path_factory) -> tuple[str, Path, dict[str, Any], Period]:
    """Write dataset ``name`` to SQLite once per session."""
    if name not in _written:
        _written[name] = (name, *DATASETS[name](tmp_path_factory.mktemp(name)))
    return _written[name]


def _url_on(engine: str, dataset, request, tmp_path_factory) -> str:
    """Return the URL of ``dataset`` on ``engine``, loaded there once by ``reportgen load``."""
    name, sqlite_path, _, _ = dataset
    key = (engine, name)
    if key in _loaded:
        return _loaded[key]
    if engine == "sqlite":
        return f"sqlite:///{sqlite_path}"
    folder = tmp_path_factory.mktemp(f"{engine}-{name}")
    if engine == "duckdb":
        url = f"duckdb:///{folder / 'data.duckdb'}"
    elif engine == "postgresql":
        # A database of its own: a session's server holds other tests' tables too.
        server = request.getfixturevalue("postgres_url")
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"drop database if exists parity_{name}")
            conn.exec_driver_sql(f"create database parity_{name}")
        admin.dispose()
        url = server.rsplit("/", 1)[0] + f"/parity_{name}"
    else:
        server = request.getfixturevalue("spark_url")
        engine_ = sa.create_engine(server)
        with engine_.connect() as conn:
            conn.exec_driver_sql(f"drop schema if exists parity_{name} cascade")
            conn.exec_driver_sql(f"create schema parity_{name}")
        engine_.dispose()
        url = f"{server}/parity_{name}"
    config = folder / "source.yaml"
    config.write_text(f"source:\n  url: sqlite:///{sqlite_path}\n")
    result = CliRunner().invoke(main, ["load", str(config), "--to", url, "--quiet"])
    assert result.exit_code == 0, result.output
    _loaded[key] = url
    return url


def _metrics(url: str, extra: dict[str, Any], period: Period, family: str) -> dict[str, Any]:
    config = config_from_dict({"source": {"url": url}, **extra})
    return compute_metrics(config, period, sections=[family])


def assert_same(got: Any, expected: Any, where: str = "metrics") -> None:
    """Equal, numbers to 1e-9 relative; lists in the same order."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), where
        assert sorted(got) == sorted(expected), where
        for key in expected:
            assert_same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list), where
        assert len(got) == len(expected), where
        for index, (a, b) in enumerate(zip(got, expected, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert type(got) is float, (where, got, expected)  # 1 and 1.0 read apart in JSON
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12), (where, got, expected)
    else:
        assert got == expected, (where, got, expected)
        assert type(got) is type(expected), (where, got, expected)


def _cases() -> list[Any]:
    cases = []
    for name, families in FAMILIES_OF.items():
        for family in families:
            for engine in ENGINES[1:]:
                marks = []
                if engine == "spark" and family in NOT_YET:
                    marks = [pytest.mark.xfail(strict=True, reason=NOT_YET[family])]
                case_id = f"{name}-{family}-{engine}"
                cases.append(pytest.param(name, family, engine, marks=marks, id=case_id))
    return cases


@pytest.mark.parametrize(("name", "family", "engine"), _cases())
def test_a_family_gives_the_same_metrics_on_every_engine(
    name, family, engine, request, tmp_path_factory
):
    dataset = _dataset(name, tmp_path_factory)
    _, sqlite_path, extra, period = dataset
    expected = _metrics(f"sqlite:///{sqlite_path}", extra, period, family)
    assert not expected["skipped"], expected["skipped"]
    url = _url_on(engine, dataset, request, tmp_path_factory)
    assert_same(_metrics(url, extra, period, family), expected)


def _events_history(url: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The events family's cover sparklines: six months and five weeks, one pass each."""
    config = config_from_dict({"source": {"url": url}, **extra})
    found = {}
    with open_source(config) as source:
        for name, newest, count in (
            ("months", month_period("2026-10"), 6),
            ("weeks", week_period("2026-W42"), 5),
        ):
            periods = [newest]
            while len(periods) < count:
                periods.append(periods[-1].previous())
            found[name] = history(source, config, periods[::-1])
    return found


@pytest.mark.parametrize("engine", ENGINES[1:])
def test_the_events_history_is_the_same_on_every_engine(engine, request, tmp_path_factory):
    dataset = _dataset("demo", tmp_path_factory)
    _, sqlite_path, extra, _ = dataset
    expected = _events_history(f"sqlite:///{sqlite_path}", extra)
    assert all(expected["months"]["events.users"]), expected
    url = _url_on(engine, dataset, request, tmp_path_factory)
    assert_same(_events_history(url, extra), expected, "history")


def test_the_comparison_catches_a_difference():
    assert_same({"a": [1.0, "x"]}, {"a": [1.0 + 1e-12, "x"]})
    for got in ({"a": [1.001, "x"]}, {"a": ["x", 1.0]}, {"a": [1.0]}, {"a": [1, "x"]}):
        with pytest.raises(AssertionError):
            assert_same(got, {"a": [1.0, "x"]})


HISTORY_FAMILIES = ("carts",)
"""Families whose ``Section.history`` (the cover's trend sparklines) is compared here."""


@pytest.mark.parametrize("engine", ENGINES[1:])
@pytest.mark.parametrize("family", HISTORY_FAMILIES)
def test_a_family_history_is_the_same_on_every_engine(family, engine, request, tmp_path_factory):
    from reportgen.sections import section_named
    from reportgen.source.connection import open_source

    dataset = _dataset("demo", tmp_path_factory)
    _, sqlite_path, extra, period = dataset
    periods = [period]
    while len(periods) < 4:
        periods.insert(0, periods[0].previous())
    section = section_named(family)

    def history(url: str) -> dict[str, Any]:
        config = config_from_dict({"source": {"url": url}, **extra})
        with open_source(config) as source:
            return section.history(source, config, periods)

    expected = history(f"sqlite:///{sqlite_path}")
    assert all(len(values) == len(periods) for values in expected.values()), expected
    assert any(value for value in expected["carts.carts_total"]), expected
    url = _url_on(engine, dataset, request, tmp_path_factory)
    assert_same(history(url), expected, "history")
