"""The failing window on hand-built histories: the exact op, prefix, states."""

from __future__ import annotations

import json

from unkindness.checkers.linear import check


def ops(*spec):
    """(process, f, value-in, value-out, start, end) rows into events; end None = info."""
    evs = []
    for p, f, vin, vout, start, end in spec:
        evs.append({"process": p, "type": "invoke", "f": f, "value": vin, "time": start})
        if end is not None:
            evs.append({"process": p, "type": "ok", "f": f, "value": vout, "time": end})
    evs.sort(key=lambda e: e["time"])
    return [dict(e, index=i) for i, e in enumerate(evs)]


def test_stale_read_names_the_op_the_prefix_and_the_states():
    h = ops((0, "write", 1, 1, 0, 10), (1, "write", 2, 2, 20, 30),
            (3, "read", None, 2, 25, 45), (2, "read", None, 1, 40, 50))
    r = check(h, "register")
    assert r["valid"] is False
    assert (r["op"]["process"], r["op"]["f"], r["op"]["value"]) == (2, "read", 1)
    assert [(e["op"]["process"], e["op"]["f"], e["state"]) for e in r["prefix"]] == [
        (0, "write", 1), (1, "write", 2), (3, "read", 2)]
    assert r["states"] == [2]
    assert [(c["process"], c["f"]) for c in r["concurrent"]] == [(3, "read")]
    assert "Process 2's read returned 1" in r["explanation"]
    assert "the register held 2" in r["explanation"]
    assert "longest linearizable prefix has 3" in r["explanation"]
    json.dumps(r)


def test_valid_history_has_no_failure_evidence():
    h = ops((0, "write", 1, 1, 0, 10), (1, "read", None, 1, 5, 15))
    r = check(h, "register")
    assert r["valid"] is True and "op" not in r and r["summary"].startswith("linearizable")


def test_kv_evidence_names_the_key_and_real_states():
    h = ops((0, "put", {"key": "k", "value": "a"}, {"key": "k", "value": "a"}, 0, 10),
            (1, "append", {"key": "k", "value": "b"}, {"key": "k", "value": "b"}, 20, 30),
            (2, "get", {"key": "k", "value": None}, {"key": "k", "value": "a"}, 40, 50),
            (3, "get", {"key": "other", "value": None}, {"key": "other", "value": ""}, 40, 50))
    r = check(h, "kv")
    assert r["valid"] is False and r["key"] == "k" and r["keys"] == 2
    assert [e["state"] for e in r["prefix"]] == ["a", "ab"]
    assert "key 'k'" in r["explanation"] and "the key held 'ab'" in r["explanation"]


def test_unobserved_values_are_shown_as_written_in_the_prefix():
    """Reductions collapse never-read values; the evidence still shows the real ones."""
    h = ops((0, "write", 7, 7, 0, 10), (1, "read", None, 3, 20, 30))
    r = check(h, "cas-register")
    assert r["valid"] is False
    assert r["prefix"] == [{"op": r["prefix"][0]["op"], "text": "write of 7", "state": 7}]
