import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from unkindness.checkers.history import HistoryError, pair
from unkindness.checkers.history import make_op, scan_ops
from unkindness.checkers.stats import check_stats

pytestmark = pytest.mark.timeout(120)


def ev(i, p, t, f, v=None, **kw):
    return {"index": i, "time": i * 10, "process": p, "type": t, "f": f, "value": v, **kw}


def test_counts_per_f_and_type_and_accepts_when_every_f_succeeded():
    h = [ev(0, 0, "invoke", "add", 1), ev(1, 0, "ok", "add", 1),
         ev(2, 1, "invoke", "add", 2), ev(3, 1, "fail", "add", 2),
         ev(4, "nemesis", "info", "start-partition"),
         ev(5, 2, "invoke", "read"), ev(6, 2, "ok", "read", [1]),
         ev(7, 3, "invoke", "add", 3)]  # never completes: info
    r = check_stats(h)
    assert r["valid"] is True
    assert r["by_f"] == {
        "add": {"count": 3, "ok": 1, "fail": 1, "info": 1, "ok_fraction": 0.333333},
        "read": {"count": 1, "ok": 1, "fail": 0, "info": 0, "ok_fraction": 1.0},
    }
    assert (r["count"], r["ok_count"], r["fail_count"], r["info_count"]) == (4, 2, 1, 1)
    assert r["ok_fraction"] == 0.5 and r["never_ok"] == [] and r["nemesis_events"] == 1


def test_rejects_when_some_f_never_succeeded_and_names_it():
    h = [ev(0, 0, "invoke", "add", 1), ev(1, 0, "ok", "add", 1),
         ev(2, 1, "invoke", "read"), ev(3, 1, "fail", "read"),
         ev(4, 1, "invoke", "read"), ev(5, 1, "info", "read")]
    r = check_stats(h)
    assert r["valid"] is False
    assert r["never_ok"] == ["read"]
    assert "'read'" in r["summary"] and "explanation" in r


def test_empty_history_is_unknown():
    assert check_stats([])["valid"] == "unknown"
    assert check_stats([ev(0, "nemesis", "info", "kill")])["valid"] == "unknown"


@pytest.mark.parametrize("bad,msg", [
    ([ev(0, 0, "ok", "read")], "has no invoke"),
    ([ev(0, 0, "invoke", "read"), ev(1, 0, "invoke", "read")], "has not completed"),
    ([ev(0, 0, "invoke", "read"), ev(1, 0, "ok", "write")], "does not match"),
    ([{"index": 0, "process": 0, "type": "done", "f": "read"}], "type must be"),
    ([{"index": 0, "process": None, "type": "invoke", "f": "read"}], "process must be"),
    ([{"index": 0, "process": [1], "type": "invoke", "f": "read"}], "process must be"),
    ([{"index": 0, "type": "invoke", "f": "read"}], "process must be"),
    ([{"index": 0, "process": 1, "type": "invoke", "f": "read", "time": "x"}], "time must be"),
    ([{"index": 0, "process": 1, "type": "invoke", "f": "read", "time": True}], "time must be"),
    (["not an event"], "expected an object"),
])
def test_scan_rejects_malformed_histories_like_pair(bad, msg):
    with pytest.raises(HistoryError, match=msg):
        pair(bad)
    with pytest.raises(HistoryError, match=msg):
        list(scan_ops(bad))
    with pytest.raises(HistoryError, match=msg):
        check_stats(bad)


@st.composite
def histories(draw):
    """Random well-formed histories: interleaved ops of a few processes, some never completed."""
    rnd = random.Random(draw(st.integers(0, 2**32)))
    n = draw(st.integers(0, 40))
    h, busy, t = [], {}, 0
    for _ in range(n):
        p = rnd.randrange(4)
        t += rnd.randrange(1, 5)
        if p in busy:
            f = busy.pop(p)
            typ = rnd.choice(["ok", "ok", "fail", "info"])
            e = {"index": len(h), "time": t, "process": p, "type": typ, "f": f, "value": rnd.randrange(9)}
            if rnd.random() < 0.3:
                e["node"] = rnd.choice("ABC")
            if rnd.random() < 0.2:
                e["error"] = "timeout"
            h.append(e)
        else:
            f = rnd.choice(["read", "write", "add"])
            busy[p] = f
            h.append({"index": len(h), "time": t, "process": p, "type": "invoke", "f": f,
                      "value": rnd.randrange(9), "node": rnd.choice([None, "A"])})
        if rnd.random() < 0.1:
            h.append({"index": len(h), "time": t, "process": "nemesis", "type": "info", "f": "kill"})
    return h


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_scan_and_make_op_agree_with_pair(h):
    expected = sorted((o.to_dict() for o in pair(h).ops), key=lambda d: d["invoke_index"])
    got = sorted((make_op(raw).to_dict() for raw in scan_ops(h)), key=lambda d: d["invoke_index"])
    assert got == expected
    only_reads = [make_op(raw).to_dict() for raw in scan_ops(h, ("read",))]
    assert sorted(only_reads, key=lambda d: d["invoke_index"]) == [d for d in expected if d["f"] == "read"]
