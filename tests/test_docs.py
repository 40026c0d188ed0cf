"""Docs kept honest: the named rules page, the README commands, every CLI command's help."""

import re
from pathlib import Path

import pytest

from reportgen.report.assumptions import NAMED_RULES
from reportgen.sections import all_sections

REPO = Path(__file__).resolve().parent.parent


def _named_rules_table(path: Path) -> list[tuple[str, str]]:
    return re.findall(r"^\| `([^`]+)` \| (.+) \|$", path.read_text(), re.M)


def test_docs_rules_page_lists_exactly_the_named_rules():
    assert _named_rules_table(REPO / "docs" / "rules.md") == list(NAMED_RULES)


@pytest.mark.parametrize("section", all_sections(), ids=lambda s: s.name)
def test_each_section_readme_lists_exactly_its_named_rules(section):
    readme = REPO / "reportgen" / "sections" / section.name / "README.md"
    assert _named_rules_table(readme) == list(section.named_rules)


def test_readme_names_the_install_and_test_commands_ci_runs():
    readme = (REPO / "README.md").read_text()
    assert "pip install -e '.[dev]' && reportgen demo" in readme
    ci = (REPO / ".ci" / "run").read_text()
    command = "ruff check . && ruff format --check . && pytest"
    assert f"\n    {command}\n" in readme
    assert f"\n{command}\n" in ci


def test_the_wheel_ships_templates_css_and_fonts(tmp_path):
    """An installed wheel must render outside the repository."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("reportgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packaged = REPO / "reportgen"
    shipped = [
        *packaged.glob("render/templates/*.*"),
        *packaged.glob("render/assets/fonts/*"),
        *packaged.glob("sections/*/templates/*.html"),
    ]
    assert len(shipped) > 10
    for path in shipped:
        assert path.relative_to(REPO).as_posix() in names
    assert "reportgen/sections/carts/templates/_carts.html" in names
    assert not [name for name in names if "/tests/" in name]  # section tests stay home
