"""The incoming-item decision table (seed 002), as a pure function."""

from __future__ import annotations

import pytest

from unkindness.server.replication.conflicts import (
    ActionKind, LocalState, Version, conflict_error_body, content_key, decide, decide_revision)


def doc(cv: str, value: object = 1, lm: str = "2024-01-01T00:00:00.0000000Z") -> Version:
    return Version("users/1", cv, "Users", lm, {"v": value})


def tomb(cv: str, lm: str = "2024-01-01T00:00:00.0000000Z") -> Version:
    return Version("users/1", cv, "Users", lm, None)


MISSING = LocalState()


# --- replicated delete -------------------------------------------------------
def test_delete_of_missing_id_keeps_the_tombstone() -> None:
    a = decide(MISSING, tomb("A:2"))
    assert a.kind is ActionKind.STORE and a.version == tomb("A:2")


def test_delete_of_unmodified_document_deletes_it() -> None:
    assert decide(LocalState(document=doc("A:1")), tomb("A:2")).kind is ActionKind.STORE


def test_delete_of_locally_modified_document_is_a_conflict() -> None:
    a = decide(LocalState(document=doc("A:1, B:3")), tomb("A:2"))
    assert a.kind is ActionKind.CONFLICT
    assert a.versions == (doc("A:1, B:3"), tomb("A:2"))


def test_old_delete_is_ignored() -> None:
    assert decide(LocalState(document=doc("A:5")), tomb("A:2")).kind is ActionKind.IGNORE


def test_delete_of_deleted_id_merges_histories_without_conflict() -> None:
    a = decide(LocalState(tombstone=tomb("A:2", "2024-01-01T00:00:01.0000000Z")), tomb("B:4"))
    assert a.kind is ActionKind.MERGE_TOMBSTONES
    assert a.version is not None and a.version.change_vector == "A:2, B:4" and a.version.deleted
    assert a.version.last_modified == "2024-01-01T00:00:01.0000000Z"
    assert decide(LocalState(tombstone=tomb("A:2")), tomb("A:3")).kind is ActionKind.STORE
    assert decide(LocalState(tombstone=tomb("A:2")), tomb("A:2")).kind is ActionKind.IGNORE


def test_delete_of_conflicted_id_joins_the_conflict() -> None:
    local = LocalState(conflicts=(doc("A:2", 1), doc("B:2", 2)))
    a = decide(local, tomb("C:1"))
    assert a.kind is ActionKind.CONFLICT and a.versions[-1] == tomb("C:1") and len(a.versions) == 3


# --- replicated put ----------------------------------------------------------
def test_put_of_missing_id_stores_it() -> None:
    assert decide(MISSING, doc("A:1")).kind is ActionKind.STORE


def test_put_newer_replaces_older_ignored_concurrent_conflicts() -> None:
    local = LocalState(document=doc("A:7, B:5", "old"))
    assert decide(local, doc("A:8, B:5", "new")).kind is ActionKind.STORE
    assert decide(local, doc("A:6, B:5", "older")).kind is ActionKind.IGNORE
    assert decide(local, doc("A:7, B:5", "old")).kind is ActionKind.IGNORE
    c = decide(local, doc("A:6, B:6", "other"))
    assert c.kind is ActionKind.CONFLICT and len(c.versions) == 2


def test_equal_vectors_with_different_content_pick_the_same_side_everywhere() -> None:
    x, y = doc("A:1, B:1", "x"), doc("A:1, B:1", "y")
    on_one = decide(LocalState(document=x), y)
    on_other = decide(LocalState(document=y), x)
    assert {on_one.kind, on_other.kind} == {ActionKind.STORE, ActionKind.IGNORE}
    kept = on_one.version if on_one.kind is ActionKind.STORE else x
    assert kept == (on_other.version if on_other.kind is ActionKind.STORE else y)


def test_put_over_a_tombstone() -> None:
    local = LocalState(tombstone=tomb("A:3"))
    assert decide(local, doc("A:4")).kind is ActionKind.STORE
    assert decide(local, doc("A:2")).kind is ActionKind.IGNORE
    c = decide(local, doc("B:1"))
    assert c.kind is ActionKind.CONFLICT and c.versions[0].deleted


def test_put_on_conflicted_id() -> None:
    local = LocalState(conflicts=(doc("A:2, B:1", 1), doc("A:1, B:2", 2)))
    assert decide(local, doc("A:3, B:3", 3)).kind is ActionKind.STORE  # dominates both: conflict ends
    assert decide(local, doc("A:1, B:1", 0)).kind is ActionKind.IGNORE  # seen by the conflict already
    assert decide(local, doc("A:2, B:1", 1)).kind is ActionKind.IGNORE  # already one of them
    grown = decide(local, doc("A:3, B:1, C:1", 9))  # supersedes the first, concurrent with the second
    assert grown.kind is ActionKind.CONFLICT
    assert [v.change_vector for v in grown.versions] == ["A:1, B:2", "A:3, B:1, C:1"]


def test_ignore_change_vectors_defect_overwrites_silently() -> None:
    local = LocalState(document=doc("A:7, B:5", "mine"))
    a = decide(local, doc("A:6, B:6", "theirs"), ignore_change_vectors=True)
    assert a.kind is ActionKind.STORE and a.version.body == {"v": "theirs"}
    assert a.version.change_vector == "A:7, B:6"  # merged: the two sides stop exchanging
    assert decide(local, doc("A:1", "ancient"), ignore_change_vectors=True).kind is ActionKind.IGNORE
    assert decide(local, doc("A:7, B:5", "x"), ignore_change_vectors=True).kind is ActionKind.IGNORE
    # the same concurrent pair on the other node: each keeps the other's version, silently
    theirs = LocalState(document=doc("A:6, B:6", "theirs"))
    b = decide(theirs, doc("A:7, B:5", "mine"), ignore_change_vectors=True)
    assert b.version.body == {"v": "mine"} and b.version.change_vector == a.version.change_vector


# --- revisions ----------------------------------------------------------------
def test_revision_newer_than_document_becomes_the_document() -> None:
    assert decide_revision(MISSING, doc("A:2")).kind is ActionKind.STORE
    assert decide_revision(LocalState(document=doc("A:1")), doc("A:2")).kind is ActionKind.STORE
    assert decide_revision(LocalState(document=doc("A:3")), doc("A:2")).kind is ActionKind.IGNORE
    assert decide_revision(LocalState(document=doc("B:3")), doc("A:2")).kind is ActionKind.IGNORE


# --- content and the 409 body --------------------------------------------------
def test_content_ignores_server_metadata_only() -> None:
    a = {"v": 1, "@metadata": {"@change-vector": "A:1", "@collection": "Users", "Raven-Python-Type": "x"}}
    b = {"v": 1, "@metadata": {"@change-vector": "B:9", "Raven-Python-Type": "x"}}
    c = {"v": 1, "@metadata": {"Raven-Python-Type": "y"}}
    assert content_key(a) == content_key(b) != content_key(c)
    assert content_key(None) is None


def test_conflict_error_body_names_the_client_exception() -> None:
    body = conflict_error_body("db", "users/1", [doc("A:1"), tomb("B:1")])
    assert "DocumentConflictException" in body["Type"]
    assert "users/1" in body["Message"] and "(deleted)" in body["Message"]
    assert len(body["Conflicts"]) == 2


@pytest.mark.parametrize("state,kind", [
    (LocalState(), "missing"), (LocalState(document=doc("A:1")), "present"),
    (LocalState(tombstone=tomb("A:1")), "deleted"), (LocalState(conflicts=(doc("A:1"), doc("B:1"))), "conflicted")])
def test_local_state_kinds(state: LocalState, kind: str) -> None:
    assert state.kind == kind


# --- properties over random states ------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from unkindness.server.db import change_vector as cvlib  # noqa: E402

_cvs = st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(1, 4), min_size=1).map(
    lambda d: ", ".join(f"{k}:{v}" for k, v in sorted(d.items())))
_versions = st.builds(lambda cv, val, dead: tomb(cv) if dead else doc(cv, val), _cvs, st.integers(0, 2), st.booleans())
_states = st.one_of(
    st.just(LocalState()),
    _versions.map(lambda v: LocalState(tombstone=v) if v.deleted else LocalState(document=v)),
    st.lists(_versions, min_size=2, max_size=3, unique_by=lambda v: v.change_vector).filter(
        lambda vs: all(cvlib.compare(x.change_vector, y.change_vector) is cvlib.Order.CONCURRENT
                       for x in vs for y in vs if x is not y)  # stored conflicts are mutually concurrent
    ).map(lambda vs: LocalState(conflicts=tuple(vs))),
)


@settings(max_examples=250, deadline=None)
@given(_states, _versions)
def test_decisions_agree_with_change_vector_order(local: LocalState, incoming: Version) -> None:
    a = decide(local, incoming)
    current = list(local.conflicts) or [v for v in (local.document, local.tombstone) if v is not None]
    orders = [cvlib.compare(incoming.change_vector, c.change_vector) for c in current]
    if a.kind is ActionKind.STORE:  # replaces only what it has seen (or the same history, see the tie-break)
        assert all(o in (cvlib.Order.NEWER, cvlib.Order.EQUAL) for o in orders)
    elif a.kind is ActionKind.IGNORE:  # only what is already covered here
        assert any(o in (cvlib.Order.OLDER, cvlib.Order.EQUAL) for o in orders)
    elif a.kind is ActionKind.MERGE_TOMBSTONES:
        assert incoming.deleted and local.kind == "deleted" and orders == [cvlib.Order.CONCURRENT]
        assert cvlib.dominates(a.version.change_vector, incoming.change_vector)
        assert cvlib.dominates(a.version.change_vector, local.tombstone.change_vector)
    else:  # a conflict keeps every version not seen by another, the newcomer included
        assert incoming in a.versions and len(a.versions) >= 2
        for x in a.versions:
            for y in a.versions:
                if x is not y:  # and stays mutually concurrent
                    assert cvlib.compare(x.change_vector, y.change_vector) is cvlib.Order.CONCURRENT
