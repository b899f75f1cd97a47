"""The time and memory budgets answer "unknown" promptly, with what was explored."""

from __future__ import annotations

import time

import pytest

from unkindness.checkers.linear import check

pytestmark = pytest.mark.timeout(60)


def explosive(n: int = 24) -> list[dict]:
    """n concurrent writes, then a read of a value nobody wrote: proving that
    takes every subset of the writes, far more than any budget below allows."""
    h = []
    for p in range(n):
        h.append({"process": p, "type": "invoke", "f": "write", "value": p})
    h.append({"process": "r", "type": "invoke", "f": "read", "value": None})
    for p in range(n):
        h.append({"process": p, "type": "ok", "f": "write", "value": p})
    h.append({"process": "r", "type": "ok", "f": "read", "value": 999})
    return [dict(e, index=i, time=i) for i, e in enumerate(h)]


def test_tiny_time_limit_gives_unknown_promptly():
    t = time.monotonic()
    r = check(explosive(), "register", time_limit=0.2)
    assert time.monotonic() - t < 3
    assert r["valid"] == "unknown"
    assert "time limit" in r["reason"] and r["explored"] > 0
    assert "unknown" in r["summary"] and "deepest" in r


def test_tiny_memory_limit_gives_unknown_promptly():
    t = time.monotonic()
    r = check(explosive(), "register", memory_limit_mb=0.5)
    assert time.monotonic() - t < 3
    assert r["valid"] == "unknown"
    assert "memory limit" in r["reason"] and r["explored"] > 0


def test_without_a_budget_problem_the_same_search_decides():
    r = check(explosive(8), "register", time_limit=30, memory_limit_mb=200)
    assert r["valid"] is False


def test_progress_is_reported_with_counts():
    seen = []
    check(explosive(), "register", time_limit=0.6, progress=seen.append)
    assert seen and set(seen[-1]) == {"explored", "keys_done", "keys_total"}
    assert seen[-1]["explored"] > 0 and seen[-1]["keys_total"] == 1


@pytest.mark.parametrize("bad", [0, -1, "x"])
def test_bad_budgets_are_refused_clearly(bad):
    with pytest.raises(ValueError, match="time_limit must be a positive number"):
        check(explosive(2), "register", time_limit=bad)


def test_a_partition_too_large_for_the_memory_budget_is_refused_before_searching():
    h = []
    for i in range(3000):
        h += [{"process": 0, "type": "invoke", "f": "write", "value": i},
              {"process": 0, "type": "ok", "f": "write", "value": i}]
    h.append({"process": 1, "type": "invoke", "f": "read", "value": None})
    h.append({"process": 1, "type": "ok", "f": "read", "value": 2999})
    h = [dict(e, index=i, time=i) for i, e in enumerate(h)]
    r = check(h, "register", memory_limit_mb=0.5)
    assert r["valid"] == "unknown" and "real-time masks of" in r["reason"]
    assert check(h, "register", memory_limit_mb=50)["valid"] is True
