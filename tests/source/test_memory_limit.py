"""``source.memory_limit``: DuckDB's memory cap, a spill folder of its own, the same numbers.

A 10M-row event log peaks near 2 GB on DuckDB's default cap and stays under 1.5 GB at
``memory_limit: 1GB`` (docs/performance.md); here a log of a few thousand rows is built
with a cap small enough that DuckDB must spill its sorts and hashes, and must still give
the uncapped metrics.json.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.config import config_from_dict
from reportgen.errors import ConfigError, SourceError
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics
from reportgen.source.connection import open_source, split_config
from reportgen.source.query import execute, rows, scalar


def write_log(folder: Path, rows: int = 20_000) -> Path:
    """A March 2024 log: views, carts and purchases of 500 products by 2,000 users."""
    rng = random.Random(7)
    lines = ["event_time,event_type,product_id,brand,price,user_id,session_id"]
    for i in range(rows):
        day, second = rng.randrange(1, 32), rng.randrange(86_400)
        time = f"2024-03-{day:02d} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        kind = rng.choices(("view", "cart", "purchase"), (90, 7, 3))[0]
        user = rng.randrange(2_000)
        lines.append(
            f"{time},{kind},{rng.randrange(500)},b{rng.randrange(40)},"
            f"{rng.randrange(1, 500)}.{rng.randrange(100):02d},{user},s{user}-{i % 5}"
        )
    path = folder / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def config_for(log: Path, **source: object):
    return config_from_dict({"source": {"files": {"events": str(log)}, **source}})


def test_duckdb_spills_past_the_cap_into_a_folder_of_its_own(tmp_path):
    config = config_for(write_log(tmp_path, rows=10), memory_limit="16MB")
    with open_source(config) as source:
        conn = source.connection
        spill = Path(scalar(conn, "select current_setting('temp_directory')"))
        assert spill.parent.name.startswith("reportgen-duckdb-spill-")
        # About 100 MB of rows: a temp table past the cap is written out, not refused.
        execute(
            conn, "create temp table big as select i, repeat('x', 30) as s from range(3000000) t(i)"
        )
        spilled = rows(conn, "select path from duckdb_temporary_files()")
        assert spilled
        assert all(Path(r["path"]).parent == spill for r in spilled)
        assert scalar(conn, "select count(*) from big") == 3_000_000
    assert not list(spill.iterdir())  # DuckDB removed its files as the database closed


def test_the_spill_folders_leave_with_the_process(tmp_path):
    log = write_log(tmp_path, rows=10)
    code = (
        "from reportgen.config import config_from_dict\n"
        "from reportgen.source.connection import open_source\n"
        "from reportgen.source.query import scalar\n"
        f"config = config_from_dict({{'source': {{'files': {{'events': {str(log)!r}}}, "
        "'memory_limit': '64MB'}})\n"
        "with open_source(config) as source:\n"
        "    print(scalar(source.connection, \"select current_setting('temp_directory')\"))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    spill = Path(done.stdout.strip())
    assert spill.parent.name.startswith("reportgen-duckdb-spill-")
    assert not spill.parent.exists()


def test_a_database_file_gives_every_connection_of_a_build_the_same_cap(tmp_path):
    import duckdb

    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as made:
        made.execute("create table events as select 1 as event_time")
    config = config_from_dict({"source": {"url": f"duckdb:///{database}", "memory_limit": "200MB"}})
    # The whole-table checks open a second connection beside the build's: one DuckDB
    # instance per file, so both must open it with the same settings.
    with open_source(config) as first, open_source(config) as second:
        settings = "select current_setting('memory_limit'), current_setting('temp_directory')"
        assert rows(first.connection, settings) == rows(second.connection, settings)
        assert scalar(first.connection, "select count(*) from events") == 1


def test_a_cap_too_small_for_the_work_says_which_setting_to_raise(tmp_path):
    config = config_for(write_log(tmp_path, rows=10), memory_limit="16MB")
    with pytest.raises(SourceError, match=r"Out of Memory.*source\.memory_limit is 16MB: raise it"):
        with open_source(config) as source:
            scalar(source.connection, "select count(distinct i::varchar) from range(5000000) t(i)")


def test_a_capped_build_gives_the_uncapped_numbers(tmp_path, monkeypatch):
    log = write_log(tmp_path)
    monkeypatch.chdir(tmp_path)
    period = month_period("2024-03")
    free = compute_metrics(config_for(log), period)
    capped = compute_metrics(config_for(log, memory_limit="20MB"), period)
    for metrics in (free, capped):
        metrics.pop("generated_at", None)
    assert free["kpis"]["events.users"] == 2_000
    assert json.dumps(capped, sort_keys=True) == json.dumps(free, sort_keys=True)
    assert not (tmp_path / ".tmp").exists()  # DuckDB's own default spill folder


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"files": {"events": "e.csv"}, "memory_limit": "lots"}, "expected a size such as 1GB"),
        ({"url": "sqlite:///shop.db", "memory_limit": "1GB"}, "caps DuckDB's memory"),
    ],
)
def test_a_cap_that_cannot_apply_is_an_error_naming_the_key(source, expected):
    with pytest.raises(ConfigError, match=rf"source(\.memory_limit)?: .*{expected}"):
        config_from_dict({"source": source})


def test_a_cap_on_a_mixed_source_goes_to_the_files(tmp_path):
    config = config_from_dict(
        {
            "source": {
                "url": f"sqlite:///{tmp_path / 'shop.db'}",
                "files": {"events": str(tmp_path / "e.csv")},
                "memory_limit": "1GB",
            }
        }
    )
    url_part, files_part = split_config(config)
    assert (url_part.source.memory_limit, files_part.source.memory_limit) == (None, "1GB")
