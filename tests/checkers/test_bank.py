import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from unkindness.checkers.bank import MAX_POINTS, check_bank
from unkindness.checkers.history import HistoryError

ACCTS = ["a", "b", "c"]

pytestmark = pytest.mark.timeout(120)


class H:
    """Builds a history op by op; each op takes 10 ns, completions 5 ns after invokes."""

    def __init__(self):
        self.events = []
        self.t = 0

    def op(self, p, f, value, result=None, typ="ok", node="A"):
        self.events.append({"index": len(self.events), "time": self.t, "process": p, "type": "invoke",
                            "f": f, "value": value, "node": node})
        self.events.append({"index": len(self.events), "time": self.t + 5, "process": p, "type": typ,
                            "f": f, "value": value if result is None else result, "node": node})
        self.t += 10
        return self

    def read(self, balances, **kw):
        return self.op(0, "read", None, balances, **kw)

    def transfer(self, frm, to, amount, **kw):
        return self.op(1, "transfer", {"from": frm, "to": to, "amount": amount}, **kw)


def test_accepts_reads_that_always_sum_to_the_total():
    h = H().read({"a": 10, "b": 10, "c": 10}).transfer("a", "b", 3).read({"a": 7, "b": 13, "c": 10})
    r = check_bank(h.events, accounts=ACCTS, total=30)
    assert r["valid"] is True
    assert r["read_count"] == 2 and r["bad_read_count"] == 0 and r["first_bad_read"] is None
    assert r["totals"] == [[5, 30, True], [25, 30, True]]
    assert r["inferred"] is None and r["accounts"] == ACCTS and r["total"] == 30
    assert r["summary"] == "All 2 reads saw the 3 accounts summing to 30 with no negative balance."


def test_rejects_wrong_total_with_delta_and_first_bad_read():
    h = H().read({"a": 10, "b": 10, "c": 10}).read({"a": 10, "b": 13, "c": 10}, node="B") \
        .read({"a": 10, "b": 10, "c": 9})
    r = check_bank(h.events, accounts=ACCTS, total=30)
    assert r["valid"] is False
    assert r["bad_reads_by_kind"] == {"wrong-total": 2, "negative": 0, "missing-accounts": 0,
                                      "unexpected-accounts": 0}
    assert r["first_bad_read"] == {
        "op": {"process": 0, "type": "ok", "f": "read", "value": {"a": 10, "b": 13, "c": 10},
               "invoke_index": 2, "complete_index": 3, "start": 10, "end": 15, "node": "B"},
        "kinds": ["wrong-total"], "total": 33, "delta": 3, "negative": {}, "missing": [], "unexpected": [],
    }
    assert r["delta_range"] == [-1, 3]
    assert r["totals"] == [[5, 30, True], [15, 33, False], [25, 29, False]]
    assert r["summary"] == "2 of 3 reads were wrong (2 wrong-total)."
    assert "summed to 33 instead of 30 (off by +3)" in r["explanation"]


def test_rejects_negative_balance_even_when_total_is_right_unless_allowed():
    h = H().read({"a": 35, "b": -5, "c": 0})
    r = check_bank(h.events, accounts=ACCTS, total=30)
    assert r["valid"] is False
    assert r["bad_reads_by_kind"]["negative"] == 1 and r["bad_reads_by_kind"]["wrong-total"] == 0
    assert r["first_bad_read"]["kinds"] == ["negative"] and r["first_bad_read"]["negative"] == {"b": -5}
    assert check_bank(h.events, accounts=ACCTS, total=30, allow_negative=True)["valid"] is True


def test_rejects_missing_and_unexpected_accounts():
    missing = check_bank(H().read({"a": 20, "b": 10}).events, accounts=ACCTS, total=30)
    assert missing["valid"] is False
    assert missing["first_bad_read"]["kinds"] == ["missing-accounts"]
    assert missing["first_bad_read"]["missing"] == ["c"]
    null_balance = check_bank(H().read({"a": 20, "b": 10, "c": None}).events, accounts=ACCTS, total=30)
    assert null_balance["first_bad_read"]["missing"] == ["c"]
    extra = check_bank(H().read({"a": 10, "b": 10, "c": 5, "d": 5}).events, accounts=ACCTS, total=30)
    assert extra["valid"] is False
    assert extra["first_bad_read"]["kinds"] == ["unexpected-accounts"]
    assert extra["first_bad_read"]["unexpected"] == ["d"]
    assert extra["bad_reads_by_kind"] == {"wrong-total": 0, "negative": 0, "missing-accounts": 0,
                                          "unexpected-accounts": 1}


def test_integer_accounts_match_string_keys_from_json():
    h = H().read({"0": 5, "1": 5}).read({0: 4, 1: 6})
    assert check_bank(h.events, accounts=[0, 1], total=10)["valid"] is True


def test_infers_accounts_and_total_from_the_first_ok_read_and_says_so():
    h = H().read({"a": 1}, typ="fail").read({"a": 10, "b": 20}).read({"a": 15, "b": 15}).read({"a": 15, "b": 16})
    r = check_bank(h.events)
    assert r["accounts"] == ["a", "b"] and r["total"] == 30
    assert r["inferred"]["accounts"] is True and r["inferred"]["total"] is True
    assert r["inferred"]["from_read"]["complete_index"] == 3
    assert r["valid"] is False and r["bad_read_count"] == 1
    assert "taken from the first ok read" in r["summary"]


def test_failed_and_indeterminate_reads_observe_nothing():
    h = H().read({"a": 99}, typ="fail").read({"a": 99}, typ="info").transfer("a", "b", 5, typ="info")
    h.events.append({"index": len(h.events), "time": h.t, "process": 7, "type": "invoke", "f": "read"})
    h.read({"a": 10, "b": 10, "c": 10})
    r = check_bank(h.events, accounts=ACCTS, total=30)
    assert r["valid"] is True and r["read_count"] == 1


def test_no_ok_read_is_unknown():
    r = check_bank(H().transfer("a", "b", 1).read({"a": 1}, typ="fail").events, accounts=ACCTS, total=30)
    assert r["valid"] == "unknown" and r["read_count"] == 0


@pytest.mark.parametrize("value,msg", [
    ([10, 20], "must be an object of account -> balance"),
    (None, "must be an object"),
    ({"a": "ten", "b": 20}, "balance of account 'a' must be a number"),
    ({"a": [1], "b": 20}, "balance of account 'a' must be a number"),
])
def test_malformed_read_values_raise_history_error_naming_the_event(value, msg):
    h = H().read({"a": 10, "b": 20}).read(value)
    with pytest.raises(HistoryError, match=msg) as e:
        check_bank(h.events)
    assert "event 3" in str(e.value)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(HistoryError, match="total must be a number"):
        check_bank([], total="30")
    with pytest.raises(HistoryError, match="accounts must be a list"):
        check_bank([], accounts="abc")


def test_totals_are_downsampled_but_every_bad_read_is_kept():
    h = H()
    for i in range(5000):
        h.read({"a": 10, "b": 20} if i % 1000 != 999 else {"a": 10, "b": 21})
    r = check_bank(h.events, accounts=["a", "b"], total=30)
    assert r["totals_downsampled"] is True and len(r["totals"]) <= MAX_POINTS
    assert [p for p in r["totals"] if not p[2]] == [[10 * i + 5, 31, False] for i in range(999, 5000, 1000)]
    times = [p[0] for p in r["totals"]]
    assert times == sorted(times) and times[0] == 5
    assert r["bad_read_count"] == 5 and len(r["bad_reads"]) == 5


@st.composite
def bank_runs(draw):
    """Transfers applied serially to a true state by random concurrent processes; reads see the truth."""
    seed = draw(st.integers(0, 2**32))
    rnd = random.Random(seed)
    accounts = [f"acct{i}" for i in range(draw(st.integers(1, 6)))]
    state = {a: rnd.randrange(0, 50) for a in accounts}
    total = sum(state.values())
    h, t, busy = [], 0, {}
    for _ in range(draw(st.integers(1, 60))):
        p = rnd.randrange(5)
        t += rnd.randrange(1, 4)
        if p in busy:  # complete: the op takes effect atomically now
            f, v = busy.pop(p)
            if f == "transfer":
                fr, to, amt = v["from"], v["to"], v["amount"]
                ok = state[fr] >= amt
                if ok:
                    state[fr] -= amt
                    state[to] += amt
                h.append({"index": len(h), "time": t, "process": p, "type": "ok" if ok else "fail",
                          "f": f, "value": v})
            else:
                typ = rnd.choice(["ok", "ok", "ok", "info", "fail"])
                h.append({"index": len(h), "time": t, "process": p, "type": typ, "f": "read",
                          "value": dict(state) if typ == "ok" else None, "node": rnd.choice("ABC")})
        else:
            if rnd.random() < 0.5:
                v = {"from": rnd.choice(accounts), "to": rnd.choice(accounts), "amount": rnd.randrange(1, 10)}
                busy[p] = ("transfer", v)
            else:
                v = None
                busy[p] = ("read", None)
            h.append({"index": len(h), "time": t, "process": p, "type": "invoke",
                      "f": busy[p][0], "value": v})
    t += 1
    h += [{"index": len(h), "time": t, "process": 99, "type": "invoke", "f": "read"},
          {"index": len(h) + 1, "time": t + 1, "process": 99, "type": "ok", "f": "read", "value": dict(state)}]
    return h, accounts, total, rnd


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bank_runs())
def test_property_true_reads_pass_and_one_perturbed_read_fails(run):
    h, accounts, total, rnd = run
    r = check_bank(h, accounts=accounts, total=total)
    assert r["valid"] is True, r["summary"]
    assert r["bad_read_count"] == 0
    reads = [i for i, e in enumerate(h) if e["f"] == "read" and e["type"] == "ok"]
    victim = rnd.choice(reads)
    bad = [dict(e) for e in h]
    value = dict(bad[victim]["value"])
    kind = rnd.choice(["add", "drop", "negative"])
    acct = rnd.choice(accounts)
    if kind == "add":
        value[acct] += rnd.choice([-3, -1, 1, 2])
    elif kind == "drop":
        del value[acct]
    else:
        value[acct] = -1 - value[acct]
    bad[victim]["value"] = value
    r2 = check_bank(bad, accounts=accounts, total=total)
    assert r2["valid"] is False
    assert r2["bad_read_count"] == 1
    assert r2["first_bad_read"]["op"]["complete_index"] == victim
    assert r2["first_bad_read"]["delta"] == sum(v for v in value.values()) - total


def test_many_bad_reads_are_spread_over_the_run_in_the_drawing():
    h = H()
    for i in range(6000):
        h.read({"a": 10, "b": 20} if i % 2 else {"a": 10, "b": 25})
    r = check_bank(h.events, accounts=["a", "b"], total=30)
    bad_points = [p for p in r["totals"] if not p[2]]
    assert len(r["totals"]) <= MAX_POINTS and 900 <= len(bad_points) <= 1000
    assert bad_points[0] == [5, 35, False]  # the first bad read is always drawn
    assert bad_points[-1][0] > 10 * 5000  # and the last ones too, not just the start
    assert r["bad_read_count"] == 3000 and len(r["bad_reads"]) == 20


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["read", "transfer"]), st.sampled_from(["ok", "info", "fail"]),
                          json_values), max_size=8),
       st.one_of(st.none(), st.lists(st.text(max_size=2), max_size=3)), st.one_of(st.none(), st.integers(0, 9)))
def test_junk_values_give_a_verdict_or_a_history_error_never_a_crash(ops, accounts, total):
    h = []
    for i, (f, typ, v) in enumerate(ops):
        h.append({"index": 2 * i, "time": 2 * i, "process": 0, "type": "invoke", "f": f, "value": None})
        h.append({"index": 2 * i + 1, "time": 2 * i + 1, "process": 0, "type": typ, "f": f, "value": v})
    try:
        r = check_bank(h, accounts=accounts, total=total)
    except HistoryError:
        return
    assert r["valid"] in (True, False, "unknown")
