import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from unkindness.checkers.history import HistoryError
from unkindness.checkers.sets import check_set

pytestmark = pytest.mark.timeout(120)


class H:
    """Builds a set history; each op takes ``step`` ns (completion half-way)."""

    def __init__(self, step=10):
        self.events = []
        self.t = 0
        self.step = step

    def op(self, p, f, value, result=None, typ="ok", node=None):
        self.events.append({"index": len(self.events), "time": self.t, "process": p, "type": "invoke",
                            "f": f, "value": value, "node": node})
        self.events.append({"index": len(self.events), "time": self.t + self.step // 2, "process": p,
                            "type": typ, "f": f, "value": value if result is None else result, "node": node})
        self.t += self.step
        return self

    def add(self, e, typ="ok", p=0):
        return self.op(p, "add", e, typ=typ)

    def read(self, elems, typ="ok", node="A"):
        return self.op(9, "read", None, list(elems), typ=typ, node=node)

    def final(self, node, elems, typ="ok"):
        return self.op(10, "final-read", None, list(elems), typ=typ, node=node)


def add_op(e, i, t, typ="ok"):
    return {"process": 0, "type": typ, "f": "add", "value": e, "invoke_index": i, "complete_index": i + 1,
            "start": t, "end": t + 5 if typ != "info" else None}


def test_accepts_when_every_acknowledged_add_is_on_every_node():
    h = H().add(1).add(2).read([1, 2]).final("A", [1, 2]).final("B", [2, 1])
    r = check_set(h.events)
    assert r["valid"] is True
    assert r["counts"] == {"ok": 2, "lost": 0, "unexpected": 0, "recovered": 0, "stale": 0,
                           "not_added": 0, "failed": 0, "attempted": 2, "acknowledged": 2}
    assert r["final_read_sizes"] == {"A": 2, "B": 2} and r["nodes_without_final_read"] == []
    assert r["lost"] == [] and r["unexpected"] == [] and r["stale"] == []
    assert r["latency"]["stable_ms"] == {"0.0": 0.0, "0.5": 0.0, "0.95": 0.0, "0.99": 0.0, "1.0": 0.0}
    assert r["summary"].startswith("All 2 acknowledged adds are in the final reads")


def test_rejects_an_acknowledged_element_missing_from_every_final_read():
    h = H().add(1).add(2).final("A", [1]).final("B", [1])
    r = check_set(h.events)
    assert r["valid"] is False
    assert r["counts"]["lost"] == 1 and r["counts"]["ok"] == 1
    assert r["lost"] == [{"element": 2, "op": add_op(2, 2, 10), "known_at": 15,
                          "last_seen_at": None, "lost_latency_ms": None}]
    assert "1 lost" in r["summary"] and "acknowledged" in r["explanation"]


def test_lost_after_being_seen_records_the_lost_latency():
    ms = 1_000_000
    h = H(step=10 * ms).add(7).read([7]).read([7]).final("A", [])
    r = check_set(h.events)
    assert r["valid"] is False
    # known at the ack (5 ms); the last read that saw it was invoked at 20 ms.
    assert r["lost"][0]["known_at"] == 5 * ms and r["lost"][0]["last_seen_at"] == 20 * ms
    assert r["lost"][0]["lost_latency_ms"] == 15.0
    assert r["latency"]["lost_ms"] == {"0.0": 15.0, "0.5": 15.0, "0.95": 15.0, "0.99": 15.0, "1.0": 15.0}


def test_an_info_add_that_was_seen_then_vanished_is_lost():
    h = H().add(3, typ="info").read([3]).final("A", [])
    r = check_set(h.events)
    assert r["valid"] is False and r["counts"]["lost"] == 1
    assert r["lost"][0]["op"]["type"] == "info" and r["lost"][0]["known_at"] == 15


def test_rejects_an_element_nobody_added():
    h = H().add(1).final("A", [1, 99])
    r = check_set(h.events)
    assert r["valid"] is False and r["counts"]["unexpected"] == 1
    assert r["unexpected"] == [{
        "element": 99, "first_seen_at": 15, "add_failed": False, "op": None,
        "read": {"process": 10, "type": "ok", "f": "final-read", "value": [1, 99], "invoke_index": 2,
                 "complete_index": 3, "start": 10, "end": 15, "node": "A"},
    }]


def test_rejects_an_element_whose_add_failed_but_appears():
    h = H().add(5, typ="fail").final("A", [5])
    r = check_set(h.events)
    assert r["valid"] is False and r["counts"]["unexpected"] == 1
    assert r["unexpected"][0]["add_failed"] is True
    assert r["unexpected"][0]["op"] == add_op(5, 0, 0, typ="fail")


def test_info_and_fail_adds_that_never_appear_are_allowed():
    h = H().add(1).add(2, typ="info").add(3, typ="fail").final("A", [1])
    r = check_set(h.events)
    assert r["valid"] is True
    assert (r["counts"]["not_added"], r["counts"]["failed"], r["counts"]["ok"]) == (1, 1, 1)


def test_an_info_add_present_everywhere_is_recovered():
    h = H().add(4, typ="info").final("A", [4]).final("B", [4])
    r = check_set(h.events)
    assert r["valid"] is True and r["counts"]["recovered"] == 1 and r["recovered"] == [4]


def test_an_add_never_completed_counts_as_info():
    h = H()
    h.events.append({"index": 0, "time": 0, "process": 3, "type": "invoke", "f": "add", "value": 8})
    h.t = 10
    h.final("A", [8])
    r = check_set(h.events)
    assert r["valid"] is True and r["counts"]["recovered"] == 1


def test_present_on_one_node_missing_on_another_is_stale_not_lost():
    h = H().add(1).add(2).final("A", [1, 2]).final("B", [1])
    r = check_set(h.events)
    assert r["valid"] is True
    assert r["counts"]["stale"] == 1 and r["counts"]["ok"] == 1
    assert r["stale"] == [{"element": 2, "missing_on": ["B"], "missed_by": {
        "process": 10, "type": "ok", "f": "final-read", "value": [1], "invoke_index": 6,
        "complete_index": 7, "start": 30, "end": 35, "node": "B"}}]
    assert r["stale_explanation"].startswith("1 element(s) are stale")


def test_an_element_that_vanished_from_a_later_read_and_came_back_is_stale():
    ms = 1_000_000
    h = H(step=10 * ms).add(1).read([1]).read([]).read([1]).final("A", [1])
    r = check_set(h.events)
    assert r["valid"] is True and r["counts"]["stale"] == 1
    assert r["stale"][0]["missing_on"] == []
    assert r["stale"][0]["missed_by"]["invoke_index"] == 4  # the empty read, invoked at 20 ms
    # stable from the last miss (invoked at 20 ms) minus known (ack at 5 ms).
    assert r["latency"]["stable_ms"]["1.0"] == 15.0


def test_a_read_that_began_before_the_ack_may_miss_the_element():
    h = H()
    h.events += [
        {"index": 0, "time": 0, "process": 9, "type": "invoke", "f": "read", "value": None},
        {"index": 1, "time": 1, "process": 0, "type": "invoke", "f": "add", "value": 1},
        {"index": 2, "time": 2, "process": 0, "type": "ok", "f": "add", "value": 1},
        {"index": 3, "time": 3, "process": 9, "type": "ok", "f": "read", "value": []},
        {"index": 4, "time": 4, "process": 10, "type": "invoke", "f": "final-read", "node": "A"},
        {"index": 5, "time": 5, "process": 10, "type": "ok", "f": "final-read", "value": [1], "node": "A"},
    ]
    r = check_set(h.events)
    assert r["valid"] is True and r["counts"]["ok"] == 1 and r["counts"]["stale"] == 0


def test_the_last_final_read_of_a_node_is_its_final_state():
    h = H().add(1).final("A", [1]).final("A", [])
    r = check_set(h.events)
    assert r["valid"] is False and r["counts"]["lost"] == 1
    assert r["final_read_sizes"] == {"A": 0}
    assert r["lost"][0]["last_seen_at"] == 10


def test_missing_final_reads_are_named_and_the_rest_judged():
    h = H().add(1).final("A", [1]).final("B", [], typ="fail")
    r = check_set(h.events, nodes=["A", "B", "C"])
    assert r["valid"] is True
    assert r["nodes_without_final_read"] == ["B", "C"]
    assert "No final read from B, C" in r["summary"]


def test_no_final_read_at_all_is_unknown():
    h = H().add(1).read([1]).final("A", [1], typ="info")
    r = check_set(h.events)
    assert r["valid"] == "unknown"
    assert r["nodes_without_final_read"] == ["A"]
    assert check_set(H().final("A", []).events)["valid"] == "unknown"  # nothing attempted


@pytest.mark.parametrize("build,msg", [
    (lambda h: h.op(9, "read", None, {"a": 1}), "a set read's value must be a list"),
    (lambda h: h.op(9, "final-read", None, "abc", node="A"), "a set read's value must be a list"),
    (lambda h: h.final("A", [[1, 2]]), "set elements must be numbers or strings"),
    (lambda h: h.add([1]), "a set element must be a number or string"),
    (lambda h: h.final(None, [1]), "a final-read must name the node"),
])
def test_malformed_values_raise_history_error(build, msg):
    h = H().add(1)
    build(h)
    with pytest.raises(HistoryError, match=msg):
        check_set(h.events)


@st.composite
def set_runs(draw):
    """Concurrent adds applied to a true set when they complete; reads and final reads see the truth."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    lag = draw(st.booleans())  # reads during the run may see an older state (stale, but allowed)
    snapshots = [[]]
    truth, h, t, busy, nxt = set(), [], 0, {}, 0
    acked, maybe = [], 0
    for _ in range(draw(st.integers(1, 80))):
        p = rnd.randrange(5)
        t += rnd.randrange(1, 4)
        if p in busy:
            f, v = busy.pop(p)
            if f == "add":
                typ = rnd.choice(["ok", "ok", "ok", "info", "fail"])
                if typ == "ok" or (typ == "info" and rnd.random() < 0.5):
                    truth.add(v)
                if typ == "ok":
                    acked.append(v)
                maybe += typ != "fail"
                h.append({"index": len(h), "time": t, "process": p, "type": typ, "f": f, "value": v})
                snapshots.append(sorted(truth))
            else:
                seen = rnd.choice(snapshots) if lag else sorted(truth)
                h.append({"index": len(h), "time": t, "process": p, "type": "ok", "f": f, "value": seen})
        else:
            if rnd.random() < 0.7:
                busy[p] = ("add", nxt)
                nxt += 1
            else:
                busy[p] = ("read", None)
            h.append({"index": len(h), "time": t, "process": p, "type": "invoke", "f": busy[p][0],
                      "value": busy[p][1]})
    maybe += sum(1 for f, _ in busy.values() if f == "add")  # never completed: info
    for node in "ABC":
        t += 2
        h.append({"index": len(h), "time": t, "process": 100, "type": "invoke", "f": "final-read", "node": node})
        h.append({"index": len(h), "time": t + 1, "process": 100, "type": "ok", "f": "final-read",
                  "node": node, "value": sorted(truth)})
    return h, acked, maybe, rnd, lag


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(set_runs())
def test_property_true_reads_pass_and_a_dropped_or_invented_element_fails(run):
    h, acked, attempted, rnd, lag = run
    r = check_set(h)
    expected = True if attempted else "unknown"
    assert r["valid"] == expected and type(r["valid"]) is type(expected), r["summary"]
    if attempted:
        assert r["counts"]["lost"] == r["counts"]["unexpected"] == 0
        assert lag or r["counts"]["stale"] == 0
    # Invent an element nobody added in one node's final read.
    bad = [dict(e) for e in h]
    bad[-1]["value"] = bad[-1]["value"] + [10**6]
    r2 = check_set(bad)
    assert r2["valid"] is False and [u["element"] for u in r2["unexpected"]] == [10**6]
    if acked:  # drop one acknowledged element from every final read
        victim = rnd.choice(acked)
        bad = [dict(e) for e in h]
        for e in bad:
            if e["f"] == "final-read" and e["type"] == "ok":
                e["value"] = [x for x in e["value"] if x != victim]
        r3 = check_set(bad)
        assert r3["valid"] is False
        assert [x["element"] for x in r3["lost"]] == [victim]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["add", "read", "final-read"]), st.sampled_from(["ok", "info", "fail"]),
                          json_values, json_values, st.sampled_from([None, "A", "B"])), max_size=8))
def test_junk_values_give_a_verdict_or_a_history_error_never_a_crash(ops):
    h = []
    for i, (f, typ, v_in, v_out, node) in enumerate(ops):
        h.append({"index": 2 * i, "time": 2 * i, "process": 0, "type": "invoke", "f": f, "value": v_in, "node": node})
        h.append({"index": 2 * i + 1, "time": 2 * i + 1, "process": 0, "type": typ, "f": f, "value": v_out,
                  "node": node})
    try:
        r = check_set(h)
    except HistoryError:
        return
    assert r["valid"] in (True, False, "unknown")


def test_errors_about_huge_values_stay_short():
    h = H().add(1).op(9, "read", None, [[i] for i in range(100000)])
    with pytest.raises(HistoryError) as e:
        check_set(h.events)
    assert len(str(e.value)) < 400 and "characters)" in str(e.value)
