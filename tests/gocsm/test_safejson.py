"""gocsm.safejson: input that would crash or mislead Python's json becomes one InvalidJSON."""

from __future__ import annotations

import json
import time

import pytest

from gocsm.safejson import MAX_DEPTH, InvalidJSON, loads, nesting_depth


def test_ordinary_json_parses_as_json_does():
    text = '{"a": [1, 2.5, {"b": null, "c": true}], "d": "x]}[{\\"y", "e": "\\u00e9\\ud83d\\ude00"}'
    assert loads(text) == json.loads(text)
    assert loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_nesting_beyond_the_limit_is_refused_before_parsing(depth):
    with pytest.raises(InvalidJSON, match="nested too deeply"):
        loads("[" * depth + "]" * depth)
    with pytest.raises(InvalidJSON, match="nested too deeply"):
        loads('{"a":' * depth + "1" + "}" * depth)


def test_nesting_up_to_the_limit_parses():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_brackets_inside_strings_do_not_count():
    text = '["' + "[" * 10_000 + '", "\\"' + "{" * 10_000 + '"]'
    assert nesting_depth(text) == 1
    assert len(loads(text)) == 2


def test_an_unclosed_string_of_brackets_is_not_json_rather_than_deep():
    with pytest.raises(InvalidJSON, match="not JSON"):
        loads('["' + "[" * 10_000)


def test_the_depth_scan_is_linear():
    body = "[" * 100_000 + "]" * 100_000
    started = time.perf_counter()
    with pytest.raises(InvalidJSON):
        loads(body)
    # Generous: a quadratic scan would take minutes here, a linear one milliseconds.
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a": "\xff"}', "not UTF-8"),
        ("{'a': 1}", "not JSON"),
        ("", "not JSON"),
        ('{"a": NaN}', "NaN is not JSON"),
        ('{"a": -Infinity}', "-Infinity is not JSON"),
        ("[" + "9" * 10_000 + "]", "not JSON"),
        ('{"a": "\\ud800"}', "unpaired surrogate"),
        ('{"\\udfff": 1}', "unpaired surrogate"),
        (12, "not text"),
    ],
)
def test_each_kind_of_bad_input_is_one_invalid_json(data, reason):
    with pytest.raises(InvalidJSON) as info:
        loads(data)
    assert str(info.value) == reason
    assert isinstance(info.value, ValueError)  # callers that catch ValueError keep working


def test_a_paired_surrogate_escape_is_fine():
    assert loads('"\\ud83d\\ude00"') == "\U0001f600"


def test_the_hooks_own_exception_passes_through():
    class Duplicate(Exception):
        pass

    def refuse_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise Duplicate
        return dict(pairs)

    with pytest.raises(Duplicate):
        loads('{"a": 1, "a": 2}', object_pairs_hook=refuse_duplicates)


def test_unpaired_surrogates_pass_only_for_a_caller_that_cleans_its_strings():
    assert loads('{"name": "\\ud83dPat"}', allow_unpaired_surrogates=True) == {"name": "\ud83dPat"}
