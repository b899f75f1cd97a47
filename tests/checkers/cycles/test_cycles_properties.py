"""Properties: serially executed histories are accepted; corrupting one read is rejected."""

import random

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from unkindness.checkers.cycles import check_list_append
from unkindness.checkers.cycles.simulate import simulate_list_append

pytestmark = pytest.mark.timeout(120)

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

histories = st.builds(
    lambda seed, n, procs, keys, p_info, p_fail, final: simulate_list_append(
        random.Random(seed), n, processes=procs, keys=keys, p_info=p_info, p_fail=p_fail, final_reads=final),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    procs=st.integers(1, 6),
    keys=st.integers(1, 4),
    p_info=st.sampled_from([0.0, 0.1, 0.3]),
    p_fail=st.sampled_from([0.0, 0.1, 0.3]),
    final=st.just(True),
)
# Without final reads many appends are never read: the inference about them must stay sound.
any_histories = histories | st.builds(
    lambda seed, n, procs, keys, p_info: simulate_list_append(
        random.Random(seed), n, processes=procs, keys=keys, p_info=p_info, p_fail=0.1, final_reads=False),
    seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), procs=st.integers(1, 6), keys=st.integers(1, 4),
    p_info=st.sampled_from([0.0, 0.2]),
)


@SETTINGS
@given(any_histories)
def test_serial_executions_are_strict_serializable(h):
    res = check_list_append(h)
    assert res["valid"] is True, res.get("explanation")
    assert res["anomaly_types"] == [] and res["strongest_satisfied"] == ["strict-serializable"]


def _ok_reads(h, min_len, skip_final=True):
    """(event position, mop position) of ok reads at least min_len long."""
    last = len(h) - 1
    return [(i, j) for i, e in enumerate(h) if e["type"] == "ok" and not (skip_final and i == last)
            for j, (f, _, v) in enumerate(e["value"]) if f == "r" and len(v) >= min_len]


@SETTINGS
@given(histories, st.randoms(use_true_random=False), st.booleans())
def test_reordering_or_dropping_inside_a_read_is_rejected(h, rnd, swap):
    spots = _ok_reads(h, 2 if swap else 3)
    assume(spots)
    i, j = rnd.choice(spots)
    read = h[i]["value"][j][2]
    if swap:
        x, y = sorted(rnd.sample(range(len(read)), 2))
        read[x], read[y] = read[y], read[x]
    else:
        del read[rnd.randrange(1, len(read) - 1)]
    res = check_list_append(h)
    assert res["valid"] is False
    assert res["anomaly_types"], res


def _invoke_positions(h):
    pos, open_ = {}, {}
    for i, e in enumerate(h):
        if e["type"] == "invoke":
            open_[e["process"]] = i
        else:
            pos[i] = open_.pop(e["process"])
    return pos


@SETTINGS
@given(histories, st.randoms(use_true_random=False))
def test_a_stale_read_of_a_completed_append_is_rejected(h, rnd):
    """Dropping the last element of a read, when its appender finished before the reader began."""
    inv = _invoke_positions(h)
    done_at = {}  # (key, element) -> completion position of its ok appender
    for i, e in enumerate(h):
        if e["type"] == "ok":
            for f, k, v in e["value"]:
                if f == "append":
                    done_at[(k, v)] = i
    spots = []
    for i, j in _ok_reads(h, 1):
        f, k, read = h[i]["value"][j]
        own_before = any(m[0] == "append" and m[1] == k for m in h[i]["value"][:j])
        end = done_at.get((k, read[-1]))
        if not own_before and end is not None and end < inv[i]:
            spots.append((i, j))
    assume(spots)
    i, j = rnd.choice(spots)
    h[i]["value"][j][2].pop()
    res = check_list_append(h)
    assert res["valid"] is False, "stale read not caught"
