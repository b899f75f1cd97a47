"""Change vectors: parse/format, compare, merge, with hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unkindness.server.db import change_vector as cvm
from unkindness.server.db.change_vector import ChangeVector, ChangeVectorError, Order, covers, dominates


def test_parse_and_format_round_trip_with_dbids() -> None:
    cv = cvm.parse("B:5-dbB, A:7-dbA")
    assert str(cv) == "A:7-dbA, B:5-dbB"
    assert cvm.parse(str(cv)) == cv
    assert cv.etag_of("A", "dbA") == 7


def test_chapter_notation_without_dbid() -> None:
    assert str(cvm.parse("A:3, B:1")) == "A:3, B:1"


def test_empty_and_none_are_the_empty_vector() -> None:
    assert cvm.parse(None) == cvm.EMPTY
    assert cvm.parse("  ") == cvm.EMPTY
    assert cvm.compare(None, "") is Order.EQUAL


@pytest.mark.parametrize("bad", ["A", "A:x-db", ":3-db", "A:3-d b", "A:3-db, A:4-db", 12])
def test_bad_text_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ChangeVectorError):
        cvm.parse(bad)  # type: ignore[arg-type]


def test_chapter_examples() -> None:
    assert cvm.compare("A:1", "B:2") is Order.CONCURRENT
    assert cvm.compare("A:3, B:1", "A:1") is Order.NEWER
    assert cvm.compare("A:3, B:1", "B:2") is Order.CONCURRENT
    for earlier in ["A:1", "B:2", "A:3, B:1"]:
        assert cvm.compare("A:3, B:3, C:5", earlier) is Order.NEWER
        assert cvm.compare(earlier, "A:3, B:3, C:5") is Order.OLDER
    # users/1 at A:7, B:5 modified concurrently on A and on B
    assert cvm.compare("A:8, B:5", "A:7, B:6") is Order.CONCURRENT


def test_same_tag_different_dbid_are_different_sources() -> None:
    assert cvm.compare("A:5-old", "A:1-new") is Order.CONCURRENT


def test_merge_is_entrywise_max() -> None:
    assert str(cvm.merge("A:8, B:5", "A:7, B:6, C:1")) == "A:8, B:6, C:1"


def test_local_write_dominates_database_vector() -> None:
    cv = cvm.for_local_write("A:8-a, B:6-b", "A", 9, "a")
    assert str(cv) == "A:9-a, B:6-b"
    assert cvm.compare(cv, "A:8-a, B:6-b") is Order.NEWER
    with pytest.raises(ChangeVectorError):
        cvm.for_local_write("", "A", 0, "a")


_keys = st.sampled_from([("A", "a"), ("B", "b"), ("C", "c"), ("A", "a2")])
vectors = st.dictionaries(_keys, st.integers(min_value=0, max_value=6), max_size=4).map(ChangeVector.of)


@settings(max_examples=300, deadline=None)
@given(vectors, vectors, vectors)
def test_merge_is_a_join(a: ChangeVector, b: ChangeVector, c: ChangeVector) -> None:
    assert cvm.merge(a, b) == cvm.merge(b, a)
    assert cvm.merge(cvm.merge(a, b), c) == cvm.merge(a, cvm.merge(b, c))
    assert cvm.merge(a, a) == a
    m = cvm.merge(a, b)
    assert cvm.dominates(m, a) and cvm.dominates(m, b)


@settings(max_examples=300, deadline=None)
@given(vectors, vectors)
def test_compare_is_consistent_with_merge(a: ChangeVector, b: ChangeVector) -> None:
    order = cvm.compare(a, b)
    m = cvm.merge(a, b)
    assert (order is Order.EQUAL) == (a == b)
    assert (order in (Order.NEWER, Order.EQUAL)) == (m == a)
    assert (order in (Order.OLDER, Order.EQUAL)) == (m == b)
    assert (order is Order.CONCURRENT) == (m != a and m != b)
    mirror = {Order.NEWER: Order.OLDER, Order.OLDER: Order.NEWER}
    assert cvm.compare(b, a) is mirror.get(order, order)


@settings(max_examples=200, deadline=None)
@given(vectors)
def test_format_parse_round_trip(a: ChangeVector) -> None:
    assert cvm.parse(cvm.format_cv(a)) == a


@given(st.dictionaries(st.sampled_from([("A", "x"), ("B", "y"), ("C", "z"), ("A", "")]), st.integers(0, 5)),
       st.dictionaries(st.sampled_from([("A", "x"), ("B", "y"), ("C", "z"), ("A", "")]), st.integers(0, 5)))
def test_covers_agrees_with_dominates(have: dict, other: dict) -> None:
    """The sender's fast check is the same relation as dominates, on canonical text."""
    h, o = ChangeVector.of(have), ChangeVector.of(other)
    assert covers(h, str(o)) == dominates(h, o)
