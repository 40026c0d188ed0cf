"""CSV files in other encodings: read with ``source.encoding``, or one line naming the file.

The event log below is written in latin-1: ``é`` is the single byte 0xE9, which is not
UTF-8. Two events in March 2024, one view and one purchase of product 1 at 5.00.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.config import config_from_dict
from reportgen.errors import ConfigError, SourceError
from reportgen.periods import month_period
from reportgen.report.metrics import compute_metrics

HEADER = "event_time,event_type,product_id,category_code,brand,price,user_id,session_id\n"
ROWS = (
    "2024-03-01 10:00:00,view,1,café.crème,Crème Brûlée Ltd,5.0,u1,s1\n"
    "2024-03-02 10:00:00,purchase,1,café.crème,Crème Brûlée Ltd,5.0,u1,s1\n"
)


def write_log(folder: Path, name: str = "ev.csv", encoding: str = "latin-1") -> Path:
    path = folder / "data" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((HEADER + ROWS).encode(encoding))
    return path


def metrics_for(folder: Path, source: dict) -> dict:
    config = config_from_dict({"source": source}, base_dir=folder, origin="ev_latin1.yaml")
    return compute_metrics(config, month_period("2024-03"))


def test_source_encoding_latin1_reads_accented_names(tmp_path):
    write_log(tmp_path)
    metrics = metrics_for(tmp_path, {"files": {"events": "data/ev.csv"}, "encoding": "latin-1"})
    assert metrics["tables"]["events.top_brands"] == [
        {"brand": "Crème Brûlée Ltd", "purchases": 1, "revenue": 5.0}
    ]
    assert metrics["tables"]["events.top_categories"][0]["category_code"] == "café.crème"
    assert metrics["data_quality"]["events.unparsed_event_time"] == 0


def test_a_per_file_encoding_beats_source_encoding(tmp_path):
    write_log(tmp_path)
    metrics = metrics_for(
        tmp_path,
        {"files": {"events": {"path": "data/ev.csv", "encoding": "latin-1"}}, "encoding": "utf-8"},
    )
    assert metrics["tables"]["events.top_brands"][0]["brand"] == "Crème Brûlée Ltd"


def test_an_encoding_duckdb_lacks_is_transcoded_in_python(tmp_path):
    """cp1252 has € at 0x80 (latin-1 has a control character there): DuckDB reads neither
    cp1252 nor utf-16-le itself, so reportgen writes UTF-8 copies first."""
    path = tmp_path / "data" / "ev.csv"
    path.parent.mkdir()
    path.write_bytes((HEADER + ROWS.replace("Crème Brûlée Ltd", "€uro Crème")).encode("cp1252"))
    cp1252 = metrics_for(
        tmp_path, {"files": {"events": {"path": "data/ev.csv", "encoding": "cp1252"}}}
    )
    assert cp1252["tables"]["events.top_brands"][0]["brand"] == "€uro Crème"
    write_log(tmp_path, "ev16.csv", encoding="utf-16-le")
    utf16 = metrics_for(tmp_path, {"files": {"events": "data/ev16.csv"}, "encoding": "utf-16-le"})
    assert utf16["tables"]["events.top_brands"][0]["brand"] == "Crème Brûlée Ltd"


def test_a_latin1_file_read_as_utf8_is_one_line_naming_file_and_encoding(tmp_path):
    """Was: "Error: ev_latin1.yaml: source.url: Invalid Input Error: CSV Error on Line: 2"
    (no source.url in the config, no file named, DuckDB's reason cut off)."""
    write_log(tmp_path)
    config = tmp_path / "ev_latin1.yaml"
    config.write_text("source:\n  files: {events: data/ev.csv}\nreport:\n  output: reports\n")
    result = CliRunner().invoke(
        main, ["build", "--config", str(config), "--month", "2024-03", "--no-pdf"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: ")
    assert "ev_latin1.yaml: source.files.events (data/ev.csv): not valid UTF-8 (" in line
    assert "not utf-8 encoded" in line  # DuckDB's own reason is kept
    assert "set source.encoding: latin-1 or source.files.events: {path: data/ev.csv" in line
    assert "source.url" not in line
    assert not (tmp_path / "reports").exists()


def test_a_bad_byte_past_the_sniffed_sample_names_the_file_of_the_glob(tmp_path):
    """DuckDB finds it only when a query reads that far; the entry and the file are named."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.csv").write_text(HEADER + ROWS)
    with (logs / "b.csv").open("wb") as out:
        out.write(HEADER.encode())
        out.write(b"2024-03-03 10:00:00,view,2,c,b,5.0,u2,s2\n" * 30_000)
        out.write("2024-03-04 10:00:00,view,2,c,Brûlée,5.0,u2,s2\n".encode("latin-1"))
    with pytest.raises(SourceError) as caught:
        metrics_for(tmp_path, {"files": {"events": "logs/*.csv"}})
    message = str(caught.value)
    assert message.startswith("ev_latin1.yaml: source.files.events (logs/b.csv): not valid UTF-8")
    assert "line 30002" in message
    assert "{path: logs/*.csv, encoding: latin-1}" in message
    assert "source.url" not in message


def test_bytes_the_named_encoding_cannot_decode_name_file_encoding_and_line(tmp_path):
    write_log(tmp_path)
    with pytest.raises(SourceError) as caught:
        metrics_for(tmp_path, {"files": {"events": "data/ev.csv"}, "encoding": "ascii"})
    message = str(caught.value)
    assert message.startswith("ev_latin1.yaml: source.files.events (data/ev.csv): not valid ascii")
    assert "line 2:" in message


def test_an_unknown_encoding_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"source.encoding: unknown text encoding 'latin-9x'"):
        config_from_dict({"source": {"encoding": "latin-9x"}})
    with pytest.raises(ConfigError, match=r"source.files.events.encoding: unknown text encoding"):
        config_from_dict({"source": {"files": {"events": {"path": "a.csv", "encoding": "x"}}}})
    with pytest.raises(ConfigError, match=r"source.files.events.encodin: unknown key"):
        config_from_dict({"source": {"files": {"events": {"path": "a.csv", "encodin": "x"}}}})


def test_a_transcoded_copy_follows_the_file_when_it_changes(tmp_path):
    """The UTF-8 copy is made once per file version: a rewritten file is read afresh."""
    path = tmp_path / "data" / "ev.csv"
    path.parent.mkdir()
    source = {"files": {"events": "data/ev.csv"}, "encoding": "cp1252"}
    path.write_bytes((HEADER + ROWS).encode("cp1252"))
    first = metrics_for(tmp_path, source)["tables"]["events.top_brands"][0]["brand"]
    path.write_bytes((HEADER + ROWS.replace("Crème Brûlée Ltd", "Gâteau SA")).encode("cp1252"))
    second = metrics_for(tmp_path, source)["tables"]["events.top_brands"][0]["brand"]
    assert (first, second) == ("Crème Brûlée Ltd", "Gâteau SA")
