"""Period parsing, previous periods and trend buckets (METRICS.md §2, §8)."""

from datetime import date, datetime

import pytest

from reportgen.errors import PeriodError
from reportgen.periods import custom_period, latest_complete, month_period, week_period


def test_month_is_half_open_and_previous_is_the_calendar_month_before():
    period = month_period("2026-03")
    assert (period.start, period.end) == (date(2026, 3, 1), date(2026, 4, 1))
    assert period.previous().label == "2026-02"
    assert month_period("2026-01").previous().label == "2025-12"


def test_iso_week_starts_on_monday_and_spans_the_year_boundary():
    period = week_period("2026-W01")
    assert period.start == date(2025, 12, 29)
    assert period.previous().label == "2025-W52"
    assert period.as_json()["start"] == "2025-12-29T00:00:00"


def test_custom_window_previous_has_the_same_length():
    period = custom_period("2026-01-01", "2026-04-01")
    assert period.label == "2026-01-01..2026-04-01"
    previous = period.previous()
    assert (previous.start, previous.end) == (date(2025, 10, 3), date(2026, 1, 1))


def test_next_is_the_calendar_month_iso_week_or_window_after():
    assert month_period("2026-12").next().label == "2027-01"
    assert month_period("2026-01").next().end == date(2026, 3, 1)
    assert week_period("2026-W53").next().label == "2027-W01"
    assert week_period("2025-W52").next().label == "2026-W01"
    following = custom_period("2026-01-01", "2026-04-01").next()
    assert (following.start, following.end) == (date(2026, 4, 1), date(2026, 6, 30))
    assert following.previous().label == "2026-01-01..2026-04-01"


@pytest.mark.parametrize("label", ["2026-01", "2026-12", "2024-02"])
def test_next_then_previous_is_the_same_month(label):
    assert month_period(label).next().previous() == month_period(label)


@pytest.mark.parametrize("bad", ["2026-13", "2026-00", "26-01", "2026-1", "October"])
def test_bad_month_strings_are_rejected(bad):
    with pytest.raises(PeriodError, match="expected YYYY-MM"):
        month_period(bad)


@pytest.mark.parametrize("bad", ["2026-W54", "2026-43", "2021-W53"])
def test_bad_week_strings_are_rejected(bad):
    with pytest.raises(PeriodError, match="ISO week"):
        week_period(bad)


def test_custom_window_must_move_forward():
    with pytest.raises(PeriodError, match="after"):
        custom_period("2026-02-01", "2026-01-01")


def test_month_buckets_are_iso_weeks_labelled_by_monday():
    starts = month_period("2026-09").buckets()
    assert starts[0] == date(2026, 8, 31)
    assert starts[-1] == date(2026, 9, 28)
    assert len(starts) == 5


def test_week_buckets_are_its_seven_days():
    assert len(week_period("2026-W43").buckets()) == 7


def test_custom_buckets_by_length():
    assert custom_period("2026-01-01", "2026-01-15").bucket_unit == "day"
    assert custom_period("2026-01-01", "2026-04-01").bucket_unit == "week"
    assert custom_period("2026-01-01", "2026-04-04").bucket_unit == "month"


def test_latest_complete_period_ends_before_the_newest_row():
    assert latest_complete("month", datetime(2025, 8, 23, 23, 59)).label == "2025-07"
    assert latest_complete("month", datetime(2025, 8, 1, 0, 0)).label == "2025-07"
    assert latest_complete("week", datetime(2026, 10, 28, 12, 0)).label == "2026-W43"


def test_a_month_to_date_compares_with_the_same_elapsed_days_of_the_one_before():
    from reportgen.periods import to_date_period

    period = to_date_period("month", date(2026, 12, 15))
    assert (period.start, period.end, period.full_end) == (
        date(2026, 12, 1),
        date(2026, 12, 15),
        date(2027, 1, 1),
    )
    assert period.as_json()["to_date"] is True
    previous = period.previous()
    assert (previous.label, previous.start, previous.end) == (
        "2026-11",
        date(2026, 11, 1),
        date(2026, 11, 15),
    )
    # 30 elapsed days of March against February: cut at February's end.
    assert to_date_period("month", date(2026, 3, 31)).previous().end == date(2026, 3, 1)


def test_a_week_to_date_lists_only_its_elapsed_days_and_not_on_its_first_day():
    from reportgen.errors import PeriodError
    from reportgen.periods import to_date_period

    period = to_date_period("week", date(2026, 12, 3))  # a Thursday
    assert period.label == "2026-W49"
    assert period.buckets() == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    assert period.previous().end == date(2026, 11, 26)
    with pytest.raises(PeriodError, match="first day of the week"):
        to_date_period("week", date(2026, 11, 30))


def test_year_ago_is_the_same_month_the_same_week_number_or_the_window_a_year_back():
    assert month_period("2026-11").year_ago().label == "2025-11"
    assert week_period("2026-W48").year_ago().label == "2025-W48"
    # 2026 has 53 ISO weeks, 2025 only 52: week 53 stands beside week 52.
    assert week_period("2026-W53").year_ago().label == "2025-W52"
    window = custom_period("2024-02-29", "2024-03-10").year_ago()
    assert (window.start, window.end) == (date(2023, 2, 28), date(2023, 3, 10))
