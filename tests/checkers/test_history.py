import pytest

from unkindness.checkers.history import HistoryError, pair


def ev(i, p, t, f, v=None):
    return {"index": i, "time": i * 10, "process": p, "type": t, "f": f, "value": v}


def test_pairs_invokes_with_completions_per_process():
    h = [ev(0, 0, "invoke", "write", 1), ev(1, 1, "invoke", "read"),
         ev(2, 1, "ok", "read", 1), ev(3, 0, "info", "write", 1),
         ev(4, "nemesis", "info", "start-partition"), ev(5, 2, "invoke", "read")]
    p = pair(h)
    assert [(o.process, o.type, o.end) for o in p.ops] == [(0, "info", None), (1, "ok", 20), (2, "info", None)]
    assert p.ops[1].value == 1 and p.ops[0].completed_at == 30
    assert len(p.nemesis) == 1 and p.end_time == 50


@pytest.mark.parametrize("bad,msg", [
    ([ev(0, 0, "ok", "read")], "has no invoke"),
    ([ev(0, 0, "invoke", "read"), ev(1, 0, "invoke", "read")], "has not completed"),
    ([ev(0, 0, "invoke", "read"), ev(1, 0, "ok", "write")], "does not match"),
    ([{"index": 0, "process": 0, "type": "done", "f": "read"}], "type must be"),
    ([{"index": 0, "process": None, "type": "invoke", "f": "read"}], "process must be"),
    ([{"index": 0, "process": 1, "type": "invoke", "f": "read", "time": "x"}], "time must be"),
])
def test_rejects_malformed_histories_with_the_event_named(bad, msg):
    with pytest.raises(HistoryError, match=msg):
        pair(bad)
