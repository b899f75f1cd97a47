"""The kv model's C pipeline (kv_native) against the Python one: same verdicts, counts and evidence."""

from __future__ import annotations

import copy
import importlib
import json
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.linear_oracle import SPECS, perturbed, simulate
from unkindness.checkers.history import HistoryError
from unkindness.checkers.linear import check

check_module = importlib.import_module("unkindness.checkers.linear.check")  # the package exports its function

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora" / "linearizability"
KV_FILES = sorted(CORPUS.glob("porcupine-kv/*/*.jsonl"))
TIMING = {"elapsed_s", "cpu_s", "memo_peak_mb_estimate"}

native = check_module.kv_native

pytestmark = pytest.mark.timeout(120)


def comparable(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in TIMING}


def both(history: list[dict], **kw) -> tuple[dict, dict]:
    return check(history, "kv", native=True, **kw), check(history, "kv", native=False, **kw)


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_extension_is_built():
    """setup.py builds it optionally; an install with a compiler (every CI machine) must have it."""
    assert native is not None, "checkers/linear/kv_native.c was not compiled: pip install -e . prints why"


@pytest.mark.skipif(not KV_FILES, reason=f"corpus not present at {CORPUS.resolve()}")
@pytest.mark.parametrize("path", KV_FILES, ids=[p.name for p in KV_FILES])
@pytest.mark.parametrize("semantics", ["porcupine", "jepsen"])
def test_corpus_results_are_identical(path, semantics):
    history = load(path)
    assert native.check(history, "", semantics == "jepsen", 1 << 20, 0.0) is not None  # it did not decline
    fast, slow = both(history, init="", semantics=semantics)
    assert comparable(fast) == comparable(slow)
    assert fast["explored"] > 0


def kv_history(draw, max_ops: int) -> list[dict]:
    """A simulated kv history, its indeterminate writes mostly turned into acknowledged ones (the
    C pipeline declines indeterminate writes), some reads perturbed so that some are invalid."""
    spec = SPECS["kv"]()
    history = draw(simulate(spec, max_ops=max_ops, max_procs=8))
    if draw(st.integers(0, 3)):
        open_writes = {}
        for e in history:
            if e["type"] == "invoke":
                open_writes[e["process"]] = e
            else:
                open_writes.pop(e["process"], None)
                if e["type"] == "info" and e["f"] != "get":
                    e["type"] = "ok"
        for e in open_writes.values():  # crashed clients: their writes acknowledged at the end
            history.append({**e, "index": len(history), "time": len(history) * 10, "type": "ok"})
    if draw(st.integers(0, 2)):
        history = draw(perturbed(spec, history))
    return history


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), semantics=st.sampled_from(["porcupine", "jepsen"]))
def test_random_histories_give_identical_results(data, semantics):
    history = data.draw(st.composite(lambda draw: kv_history(draw, 40))())
    fast, slow = both(copy.deepcopy(history), init="", semantics=semantics)
    assert comparable(fast) == comparable(slow)


@pytest.mark.parametrize("change,why", [
    (lambda h: h[1].update(type="info"), "an indeterminate write is an optional op"),
    (lambda h: h.pop(1), "a write never completed is an optional op"),
    (lambda h: h[0]["value"].update(value=7), "a value that is not a string"),
    (lambda h: h[0]["value"].update(key=1), "a key that is not a string"),
    (lambda h: [e.update(process="p1") for e in h[:2]], "a process named by a string"),
    (lambda h: h[1].update(time=1.5), "a time that is not an int"),
    (lambda h: h[1].update(f="put"), "a completion that does not match its invoke"),
    (lambda h: h[0].pop("time"), "an event without a time"),
    (lambda h: h[2].pop("index"), "an event without an index (numbered by its position)"),
    (lambda h: h.insert(1, dict(h[0])), "a second invoke while the first is open"),
    (lambda h: h.append({"process": "nemesis", "type": "start", "f": "kill", "value": None, "time": 9}),
     "an event type that does not exist"),
])
def test_what_it_does_not_handle_is_left_to_the_python_pipeline(change, why):
    history = [
        {"index": 0, "time": 0, "process": 1, "type": "invoke", "f": "append", "value": {"key": "k", "value": "x"}},
        {"index": 1, "time": 1, "process": 1, "type": "ok", "f": "append", "value": {"key": "k", "value": "x"}},
        {"index": 2, "time": 2, "process": 2, "type": "invoke", "f": "get", "value": {"key": "k", "value": None}},
        {"index": 3, "time": 3, "process": 2, "type": "ok", "f": "get", "value": {"key": "k", "value": "x"}},
    ]
    assert native.check(history, "", False, 1 << 20, 0.0)["valid"] is True
    change(history)
    assert native.check(history, "", False, 1 << 20, 0.0) is None, why
    try:
        fast = check(history, "kv")
    except HistoryError as e:
        with pytest.raises(HistoryError, match=re.escape(str(e))):
            check(history, "kv", native=False)
    else:
        assert comparable(fast) == comparable(check(history, "kv", native=False))


def test_a_search_past_its_cap_is_left_to_the_python_search(monkeypatch):
    path = CORPUS / "porcupine-kv/valid/c50-ok.jsonl"
    if not path.exists():
        pytest.skip("corpus not present")
    history = load(path)
    assert native.check(history, "", False, 100, 0.0) is None  # c50-ok explores 2,232 configurations
    monkeypatch.setattr(check_module, "NATIVE_MAX_EXPLORED", 100)
    fast, slow = both(history, init="")
    assert comparable(fast) == comparable(slow)
    assert fast["valid"] is True and fast["explored"] == 2232


def test_a_check_past_its_time_limit_is_left_to_the_python_search():
    path = CORPUS / "porcupine-kv/valid/c50-ok.jsonl"
    if not path.exists():
        pytest.skip("corpus not present")
    history = load(path)
    assert native.check(history, "", False, 1 << 20, time.monotonic() - 1) is None  # the deadline has passed
    assert native.check(history, "", False, 1 << 20, time.monotonic() + 60)["valid"] is True
    r = check(history, "kv", time_limit=1e-4)  # over before the first key: the Python search says unknown
    assert r["valid"] == "unknown" and "time limit" in r["reason"]


def test_an_invalid_history_carries_the_failing_keys_evidence():
    history = [
        {"index": 0, "time": 0, "process": 1, "type": "invoke", "f": "put", "value": {"key": "a", "value": "1"}},
        {"index": 1, "time": 1, "process": 1, "type": "ok", "f": "put", "value": {"key": "a", "value": "1"}},
        {"index": 2, "time": 2, "process": 2, "type": "invoke", "f": "put", "value": {"key": "b", "value": "2"}},
        {"index": 3, "time": 3, "process": 2, "type": "ok", "f": "put", "value": {"key": "b", "value": "2"}},
        {"index": 4, "time": 4, "process": 1, "type": "invoke", "f": "get", "value": {"key": "b", "value": None}},
        {"index": 5, "time": 5, "process": 1, "type": "ok", "f": "get", "value": {"key": "b", "value": "3"}},
    ]
    out = native.check(history, "", False, 1 << 20, 0.0)
    assert out["valid"] is False and out["failing_events"] == [2, 3, 4, 5]
    assert out["best_j"] == 1 and out["best_path"] == [] and out["best_states"] == ["2"]  # the put placed, not the get
    fast, slow = both(history)
    assert comparable(fast) == comparable(slow)
    assert fast["key"] == "b" and fast["op"]["complete_index"] == 5 and "returned '3'" in fast["explanation"]
