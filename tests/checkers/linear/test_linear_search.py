"""The search's shortcuts, measured by what it explores rather than by time."""

from __future__ import annotations

from unkindness.checkers.linear import check


def kv_event(i: int, process: int, typ: str, f: str, value: str | None, t: int) -> dict:
    return {"index": i, "time": t, "process": process, "type": typ, "f": f,
            "value": {"key": "k", "value": value}}


def concurrent_appends_then_get(n: int, order: list[int]) -> list[dict]:
    """n appends all overlapping, then a get that saw them in `order`."""
    h, i = [], 0
    for p in range(n):
        h.append(kv_event(i, p, "invoke", "append", f"<{p}>", i))
        i += 1
    for p in range(n):
        h.append(kv_event(i, p, "ok", "append", f"<{p}>", i))
        i += 1
    seen = "".join(f"<{p}>" for p in order)
    h.append(kv_event(i, n, "invoke", "get", None, i))
    h.append(kv_event(i + 1, n, "ok", "get", seen, i + 1))
    return h


def test_concurrent_appends_are_not_tried_in_every_order():
    # Eight appends have 40,320 orders; the get's value pins one, and the reach
    # pruning drops every order that stops being a prefix of it.
    r = check(concurrent_appends_then_get(8, [5, 2, 7, 0, 1, 6, 3, 4]), "kv")
    assert r["valid"] is True
    assert r["explored"] < 200, r["explored"]


def test_a_get_no_order_can_explain_is_still_refused_quickly():
    h = concurrent_appends_then_get(8, [5, 2, 7, 0, 1, 6, 3, 4])
    h[-1]["value"]["value"] += "<9>"  # an append that never happened
    r = check(h, "kv")
    assert r["valid"] is False
    assert r["explored"] < 200, r["explored"]
    assert "get of key 'k'" in r["op_text"]


def test_a_put_between_keeps_other_orders_possible():
    # With a put that may come before the get, a string that is no prefix of
    # what the get saw can still be overwritten, so it must not be pruned.
    h = concurrent_appends_then_get(3, [0])
    for e in h[:6]:
        if e["process"] == 0:
            e["f"] = "put"  # process 0 puts "<0>" concurrently with the appends
    # The get saw "<0>": the put came last. Valid only if that order is kept.
    assert check(h, "kv")["valid"] is True
