"""gocsm.displaytext: display text is cleaned and cut, never refused."""

import pytest

from gocsm.displaytext import clean


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Dana Whitfield", "Dana Whitfield"),
        ("  Dana\tWhit\r\nfield  ", "Dana Whit field"),
        ("Da\x00na\x07\x1b\x7f\x9b", "Dana"),
        ("\u202eDana\u2066", "Dana"),
        ("Dana \U0001f600", "Dana \U0001f600"),
        ("\ud83dDana", "Dana"),
        ("Zoë 名前", "Zoë 名前"),
        (None, ""),
        (42, ""),
        (["Dana"], ""),
    ],
)
def test_clean(value, expected):
    assert clean(value, 200) == expected


def test_cut_to_the_limit_without_trailing_space():
    assert clean("ab " + "c" * 10, 3) == "ab"
    assert len(clean("x" * 3000, 200)) == 200
