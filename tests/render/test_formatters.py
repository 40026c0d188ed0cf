"""Durations and their changes read at a scale a person can use."""

from __future__ import annotations

import pytest

from reportgen.render.formatters import fmt_days, fmt_delta

MINUTE = 1 / 1440


@pytest.mark.parametrize(
    ("days", "shown"),
    [
        (None, "n/a"),
        (0, "0 min"),
        (30 / 86400, "30 s"),
        (19 * MINUTE, "19 min"),
        (5.3 / 24, "5.3 h"),
        (2.349, "2.35 days"),
    ],
)
def test_durations_pick_their_unit(days, shown):
    assert fmt_days(days) == shown


def test_a_change_under_a_minute_is_shown_in_seconds_not_as_zero_minutes():
    assert fmt_delta(18.3 * MINUTE, 17.9 * MINUTE, "days") == "+24 s (+2.2%)"
    assert fmt_delta(17.9 * MINUTE, 18.3 * MINUTE, "days") == "-24 s (-2.2%)"


def test_a_change_inside_a_sentences_brackets_takes_a_comma():
    assert fmt_delta(1620, 1281) == "+339 (+26.5%)"
    assert fmt_delta(1620, 1281, inside_brackets=True) == "+339, +26.5%"
    assert fmt_delta(0.25, 0.2, "rate", inside_brackets=True) == "+5.0 pp"
    assert fmt_delta(5, 0, inside_brackets=True) == "+5"
