"""Figures in digits or words, read as one canonical form (assistant.core.numbers)."""

from __future__ import annotations

import pytest

from assistant.core.numbers import numbers


@pytest.mark.parametrize(
    "text, expected",
    [
        ("one of forty roll out groups", {"1", "40"}),
        ("five million dollars", {"5000000"}),
        ("1.5 million students", {"1500000"}),
        ("58% of leaders and seventy percent of teachers", {"58%", "70%"}),
        ("twenty-two schools, 95 schools, 3,000 students", {"22", "95", "3000"}),
        ("two hundred and fifty", {"250"}),
        ("a five-year grant", {"5"}),
        ("a third of respondents", {"1/3"}),
        ("hundreds of schools", set()),
    ],
)
def test_numbers_in_digits_and_words(text, expected):
    assert numbers(text) == expected


def test_a_bare_one_is_left_out_on_request():
    assert numbers("one of the districts", skip_one=True) == set()
    assert numbers("one million", skip_one=True) == {"1000000"}


def test_a_span_of_time_or_money_is_not_a_count_of_things():
    """ "Pilots running for three years" asks for no list of three: only counts of things
    count ("the seven tensions", "five roll out groups")."""
    from assistant.core.numbers import counts

    assert counts("Our pilots have run for three years; is that too long?") == []
    assert counts("It took two times longer and cost five dollars") == []
    assert counts("the seven tensions") == [7]
    assert counts("over the following three years, five roll out groups") == [5]
