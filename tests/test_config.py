"""Config loading: defaults, validation messages naming file, key, expectation and value."""

from pathlib import Path

import pytest
import yaml

from reportgen.config import Config, load_config
from reportgen.errors import ConfigError
from reportgen.sections import all_sections
from reportgen.sections.carts.rules import DEFAULT_SEGMENTS

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    return path


def test_default_yaml_documents_exactly_the_model_defaults():
    config = load_config(REPO / "config" / "default.yaml")
    defaults = Config()
    assert config.rules == defaults.rules
    assert config.segments == list(DEFAULT_SEGMENTS)
    assert config.report.timezone == defaults.report.timezone
    assert config.source.encoding == defaults.source.encoding
    assert config.quality == defaults.quality


def test_default_yaml_lists_every_key_of_the_model():
    data = yaml.safe_load((REPO / "config" / "default.yaml").read_text())
    for section in ("source", "report", "quality"):
        model = getattr(Config(), section)
        assert set(data[section]) == set(type(model).model_fields), section
    rule_keys = {key for s in all_sections() if s.rules for key in s.rules.model_fields}
    assert set(data["rules"]) == rule_keys


def test_example_configs_validate():
    for path in (REPO / "config" / "examples").glob("*.yaml"):
        load_config(path)


def test_unknown_key_names_file_and_path(tmp_path):
    path = write(tmp_path, "rules:\n  reengagment_days: 7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: rules.reengagment_days: unknown key"


def test_wrong_type_says_what_was_expected_and_found(tmp_path):
    path = write(tmp_path, "rules:\n  top_n: many\n")
    with pytest.raises(ConfigError, match=r"rules\.top_n: .*integer.*found 'many'"):
        load_config(path)


def test_bad_value_is_explained(tmp_path):
    path = write(tmp_path, "report:\n  timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match=r"report\.timezone: unknown time zone 'Mars/Olympus'"):
        load_config(path)


def test_status_in_two_lists_is_an_error(tmp_path):
    path = write(tmp_path, "rules:\n  open_statuses: [open, ' Abandoned']\n")
    with pytest.raises(
        ConfigError, match="'abandoned' is in both abandoned_statuses and open_statuses"
    ):
        load_config(path)


def test_rule_lists_are_normalised_like_the_data(tmp_path):
    path = write(tmp_path, "rules:\n  converted_statuses: [' Paid ', PAID, Shipped]\n")
    assert load_config(path).rules.converted_statuses == ["paid", "shipped"]


def test_malformed_yaml_gives_the_line(tmp_path):
    path = write(tmp_path, "rules:\n  top_n: [1, 2\n")
    with pytest.raises(ConfigError, match=r"shop\.yaml \(line \d+, column \d+\): malformed YAML"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_segment_and_canonical_table(tmp_path):
    path = write(tmp_path, "segments: [gender]\nsource:\n  tables: {basket: carts}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "segments: unknown segment 'gender'" in message
    assert "source.tables: unknown canonical table 'basket'" in message


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    path = write(tmp_path, "report:\n  output: out/reports\n")
    assert load_config(path).output_dir == (tmp_path / "out" / "reports").resolve()
