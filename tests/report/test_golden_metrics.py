"""metrics.json stays byte for byte what it was on the golden datasets (tests/report/golden/)."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
from cases import HERE, SHARED_DATA, cases, metrics_text

EXPECTED = sorted(path.stem for path in HERE.glob("*.json"))


@pytest.fixture(scope="module")
def golden_cases(tmp_path_factory):
    return cases(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", EXPECTED)
def test_metrics_json_is_unchanged(golden_cases, name):
    if name not in golden_cases:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {SHARED_DATA} beside the clone")
        pytest.skip(f"{SHARED_DATA} is not beside the clone")
    config, period = golden_cases[name]
    got = metrics_text(config, period)
    want = (HERE / f"{name}.json").read_text()
    if got != want:
        lines = difflib.unified_diff(want.splitlines(True), got.splitlines(True), "stored", "now")
        diff = "".join(list(lines)[:80])
        hint = "python tests/report/golden/cases.py rewrites it"
        pytest.fail(f"{name}: metrics.json changed ({hint})\n{diff}")
