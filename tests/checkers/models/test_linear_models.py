"""The models on their own and through ``check``: semantics, bad input, words."""

from __future__ import annotations

import json

import pytest

from unkindness.checkers.history import HistoryError
from unkindness.checkers.linear import check
from unkindness.checkers.models import MODELS, ModelError, get_model

pytestmark = pytest.mark.timeout(30)


def hist(*rows):
    """(process, f, invoke value, completion type, completion value) rows, each
    completed before the next starts, except completion type None (never completes)."""
    evs = []
    for p, f, vin, typ, vout in rows:
        evs.append({"process": p, "type": "invoke", "f": f, "value": vin})
        if typ is not None:
            evs.append({"process": p, "type": typ, "f": f, "value": vout})
    return [dict(e, index=i, time=i * 10) for i, e in enumerate(evs)]


def test_registry_names_every_model():
    assert set(MODELS) == {"register", "cas-register", "cmpxchg", "kv", "set", "mutex"}
    for name, cls in MODELS.items():
        assert get_model(name).name == name and isinstance(get_model(name), cls)


def test_unknown_model_and_option_are_refused_clearly():
    with pytest.raises(ModelError, match="unknown model 'regsiter'; known models: cas-register"):
        get_model("regsiter")
    with pytest.raises(ModelError, match="has no option colour .*failed_cas_observes"):
        check([], "cas-register", colour=1)


def test_ops_a_model_does_not_know_are_refused_with_the_event():
    with pytest.raises(HistoryError, match=r"event 0 .*'cas'.*cas-register"):
        check(hist((0, "cas", [1, 2], "ok", [1, 2])), "register")
    with pytest.raises(HistoryError, match=r"cas value must be \[old, new\]"):
        check(hist((0, "cas", 5, "ok", 5)), "cas-register")
    with pytest.raises(HistoryError, match="needs the expected"):
        check(hist((0, "put", {"key": "k", "value": 1}, "ok", {"successful": True})), "cmpxchg")
    with pytest.raises(HistoryError, match="must be an object with a \"key\""):
        check(hist((0, "get", None, "ok", None)), "kv")


# --- cas-register ---------------------------------------------------------------

def test_failed_cas_is_an_observation_by_default_and_can_be_dropped():
    h = hist((0, "write", 1, "ok", 1), (1, "cas", [1, 2], "fail", [1, 2]))
    assert check(h, "cas-register")["valid"] is False
    assert check(h, "cas-register", failed_cas_observes=False)["valid"] is True


def test_info_write_may_or_may_not_have_happened():
    h = hist((0, "write", 1, "ok", 1), (1, "write", 2, "info", 2), (2, "read", None, "ok", 1),
             (3, "read", None, "ok", 2))
    assert check(h, "cas-register")["valid"] is True
    h2 = h + hist((4, "read", None, "ok", 1))[:0]
    h2 = h + [dict(e, index=len(h) + i, time=1000 + i) for i, e in enumerate(hist((4, "read", None, "ok", 1)))]
    assert check(h2, "cas-register")["valid"] is False  # 2 was seen, so the write happened; 1 cannot return


def test_info_write_of_an_unread_value_still_explains_a_failed_cas():
    """The reduction that drops unread info writes must keep this one."""
    h = hist((0, "write", 1, "ok", 1), (1, "write", 9, None, None), (2, "cas", [1, 3], "fail", [1, 3]))
    assert check(h, "cas-register")["valid"] is True
    assert check(hist((0, "write", 1, "ok", 1), (2, "cas", [1, 3], "fail", [1, 3])), "cas-register")["valid"] is False


# --- cmpxchg ----------------------------------------------------------------------

def put(p, v, e, ok, cv, ci, typ="ok"):
    return (p, "put", {"key": "k", "value": v, "index": e}, typ,
            {"key": "k", "value": v, "index": e, "successful": ok, "current_value": cv, "current_index": ci})


def get(p, v, i):
    return (p, "get", {"key": "k"}, "ok", {"key": "k", "value": v, "index": i})


def delete(p, e, ok, cv, ci):
    return (p, "delete", {"key": "k", "index": e}, "ok",
            {"key": "k", "index": e, "successful": ok, "current_value": cv, "current_index": ci})


def cx(*rows):
    return check(hist(*rows), "cmpxchg")


def test_cmpxchg_create_read_and_indexes_that_jump():
    assert cx(get(0, None, None), put(1, "x", 0, True, "x", 5), get(2, "x", 5))["valid"] is True
    assert cx(put(1, "x", 0, True, "x", 5), get(2, "x", 6))["valid"] is False
    assert cx(put(1, "x", 0, True, "x", 5), put(1, "y", 5, True, "y", 9), get(2, "y", 9))["valid"] is True


def test_cmpxchg_refused_write_is_an_observation():
    base = put(1, "x", 0, True, "x", 5)
    assert cx(base, put(2, "z", 0, False, "x", 5))["valid"] is True
    assert cx(base, put(2, "z", 0, False, "y", 5))["valid"] is False
    assert cx(base, put(2, "z", 5, False, "x", 5))["valid"] is False  # index matched: must have succeeded


def test_cmpxchg_index_never_goes_back_even_after_delete():
    base = [put(1, "x", 0, True, "x", 5), delete(2, 5, True, "x", 5)]
    assert cx(*base, put(3, "y", 0, True, "y", 7))["valid"] is True
    assert cx(*base, put(3, "y", 0, True, "y", 3))["valid"] is False
    assert cx(*base, get(4, None, None))["valid"] is True


def test_cmpxchg_unknown_index_after_info_put_is_refined_by_later_observations():
    base = [put(1, "x", 0, True, "x", 5), put(2, "y", 5, None, None, None, typ="info")]
    assert cx(*base, get(3, "y", 8))["valid"] is True  # the info put took effect, at index 8
    assert cx(*base, get(3, "y", 4))["valid"] is False  # an index at or below 5 is impossible
    assert cx(*base, get(3, "x", 5))["valid"] is True  # ... or it never happened
    assert cx(*base, get(3, "y", 8), get(4, "y", 9))["valid"] is False  # once refined, it is 8
    assert cx(*base, get(3, "y", 8), put(4, "z", 8, True, "z", 11))["valid"] is True
    assert cx(*base, put(4, "z", 7, True, "z", 11), get(3, "z", 11))["valid"] is True
    assert cx(*base, put(4, "z", 7, True, "z", 11), get(3, "y", 7))["valid"] is False


def test_cmpxchg_states_are_described_in_words():
    r = cx(put(1, "x", 0, True, "x", 5), put(2, "y", 5, None, None, None, typ="info"), get(3, "y", 4))
    assert "the key was 'x' at index 5 or 'y' at some index above 5" in r["explanation"]
    assert {"value": "y", "index_above": 5} in r["states"]
    json.dumps(r)


# --- kv, set, mutex -----------------------------------------------------------------

def test_kv_keys_are_independent_and_append_concatenates():
    def kv(p, f, k, v, out=None):
        return (p, f, {"key": k, "value": v}, "ok", {"key": k, "value": out if f == "get" else v})
    ok = hist(kv(0, "put", "a", "x"), kv(1, "append", "a", "y"), kv(2, "get", "a", None, "xy"),
              kv(3, "get", "b", None, ""))
    r = check(ok, "kv")
    assert r["valid"] is True and r["keys"] == 2
    assert check(hist(kv(0, "append", "a", "y"), kv(2, "get", "b", None, "y")), "kv")["valid"] is False


def test_set_reads_must_show_every_completed_add():
    assert check(hist((0, "add", 1, "ok", 1), (1, "read", None, "ok", [1])), "set")["valid"] is True
    assert check(hist((0, "add", 1, "ok", 1), (1, "read", None, "ok", [])), "set")["valid"] is False
    assert check(hist((0, "add", 1, "info", 1), (1, "read", None, "ok", [])), "set")["valid"] is True


def test_mutex_cannot_be_held_twice():
    assert check(hist((0, "acquire", None, "ok", None), (0, "release", None, "ok", None),
                      (1, "acquire", None, "ok", None)), "mutex")["valid"] is True
    r = check(hist((0, "acquire", None, "ok", None), (1, "acquire", None, "ok", None)), "mutex")
    assert r["valid"] is False and "the lock was held" in r["explanation"]
