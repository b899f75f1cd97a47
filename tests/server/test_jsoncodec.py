"""The hot-path JSON codec reads and writes every value as the standard library does."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from unkindness.server import jsoncodec

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_any_json_value_comes_back_equal_through_text_and_bytes(v):
    text = jsoncodec.dumps(v)
    assert json.loads(text) == v  # the standard library reads what it writes
    assert jsoncodec.loads(text) == v and jsoncodec.loads(text.encode("utf-8", "surrogatepass")) == v


def test_integers_beyond_64_bits_stay_exact_both_ways():
    # orjson alone refuses to write them and reads them back as floats (1.2345678901234568e+29)
    big = {"n": 123456789012345678901234567890, "neg": -(2**70)}
    text = jsoncodec.dumps(big)
    assert jsoncodec.loads(text) == big and type(jsoncodec.loads(text)["n"]) is int
    assert jsoncodec.loads(b'[123456789012345678901234567890]') == [123456789012345678901234567890]


def test_the_standard_librarys_readings_where_orjson_differs():
    assert jsoncodec.loads(jsoncodec.dumps({1: "a"})) == {"1": "a"}  # int keys become strings, as json.dumps does
    lone = "\ud800"
    assert jsoncodec.loads(jsoncodec.dumps(lone)) == lone  # lone surrogates survive


@pytest.mark.parametrize("bad", ["", "{", "[1,]", "nul", b"\xff"])
def test_what_is_not_json_is_a_value_error(bad):
    with pytest.raises(ValueError):
        jsoncodec.loads(bad)
