"""Docs kept honest: the named rules page, the README commands, every CLI command's help."""

import re
from pathlib import Path

from reportgen.assumptions import NAMED_RULES

REPO = Path(__file__).resolve().parent.parent


def test_docs_rules_page_lists_exactly_the_named_rules():
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", (REPO / "docs" / "rules.md").read_text(), re.M)
    assert rows == list(NAMED_RULES)


def test_readme_names_the_install_and_test_commands_ci_runs():
    readme = (REPO / "README.md").read_text()
    assert "pip install -e '.[dev]' && reportgen demo" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "\npytest\n" in ci
    assert "\n    pytest\n" in readme
