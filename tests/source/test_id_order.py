"""The §8 id order: an id column sorts numerically when every id is an integer's text."""

from __future__ import annotations

import pytest

from reportgen.source.values import ids_are_integers, sort_ids


def _integer_text(text: str) -> bool:
    """The rule as words say it: the text is what ``str(int(...))`` writes for it."""
    try:
        return str(int(text)) == text
    except ValueError:
        return False


@pytest.mark.parametrize(
    "text",
    ["0", "7", "-7", "1047", "-0", "007", "+7", " 7", "7 ", "1_000", "7.0", "1e3", "", "٣", "²"],
)
def test_one_id_is_an_integer_exactly_when_it_is_an_integers_text(text):
    assert ids_are_integers([text]) is _integer_text(text)


def test_a_superscript_digit_is_text_not_a_crash():
    # str.isdigit() says yes to "²" and int() refuses it: the id is text, sorted as text.
    rows = [{"product_id": "²", "value": 1.0}, {"product_id": "10", "value": 1.0}]
    assert [r["product_id"] for r in sort_ids(rows, "product_id", "value")] == ["10", "²"]


def test_integer_ids_sort_as_numbers_and_come_back_as_ints():
    rows = [{"id": "10", "n": 1}, {"id": "9", "n": 1}]
    assert ids_are_integers(["10", "9", None])  # nulls do not count
    assert not ids_are_integers([None, None])
    assert [r["id"] for r in sort_ids(rows, "id", "n")] == [9, 10]
