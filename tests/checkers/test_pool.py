"""The engineer-pool checker on hand-built histories."""

import pytest

from unkindness.checkers.history import HistoryError
from unkindness.checkers.pool import check_pool

pytestmark = pytest.mark.timeout(60)
KEY = "engineers/available"


class H:
    def __init__(self):
        self.events = []

    def _ev(self, process, typ, f, value):
        self.events.append({"index": len(self.events), "time": len(self.events) * 10, "process": process,
                            "type": typ, "f": f, "value": value, "node": "n1"})

    def write(self, p, f, purpose, index, value=None, engineer=None, call=None, ok=True, new=None, typ="ok"):
        inv = {"key": KEY, "purpose": purpose, "index": index, "engineer": engineer, "call": call}
        if f == "put":
            inv["value"] = value
        self._ev(p, "invoke", f, inv)
        done = {**inv, "successful": ok, "current_value": value, "current_index": new if ok else index + 1}
        self._ev(p, typ, f, done if typ == "ok" else inv)
        return self

    def invoke(self, p, f, purpose, index, value=None, engineer=None, call=None):
        inv = {"key": KEY, "purpose": purpose, "index": index, "engineer": engineer, "call": call, "value": value}
        self._ev(p, "invoke", f, inv)
        return inv

    def complete(self, p, f, inv, new):
        self._ev(p, "ok", f, {**inv, "successful": True, "current_value": inv.get("value"), "current_index": new})
        return self


def pool():
    return H().write(0, "put", "register", 0, ["a", "b"], new=1)


def test_claims_and_releases_in_turn_are_valid():
    h = pool().write(1, "put", "claim", 1, ["b"], "a", "c1", new=2)
    h.write(2, "delete", "claim", 2, None, "b", "c2", new=2)
    h.write(1, "put", "release", 0, ["a"], "a", "c1", new=4)
    h.write(3, "put", "claim", 2, ["x"], "b", "c3", ok=False)  # lost the race: nothing taken
    r = check_pool(h.events, key=KEY, engineers=["a", "b"])
    assert r["valid"] is True and r["claims"] == 2
    assert [x["call"] for x in r["holdings"]["a"]] == ["c1"] and r["holdings"]["b"][0]["to"] is None


def test_two_calls_holding_one_engineer_is_a_double_booking():
    h = pool()
    i1 = h.invoke(1, "put", "claim", 1, ["b"], "a", "c1")
    i2 = h.invoke(2, "put", "claim", 1, ["b"], "a", "c2")  # the same version, read by both
    h.complete(1, "put", i1, 2).complete(2, "put", i2, 2)
    r = check_pool(h.events, key=KEY)
    assert r["valid"] is False and r["double_booking_count"] == 1
    assert {r["double_bookings"][0]["first"]["call"], r["double_bookings"][0]["second"]["call"]} == {"c1", "c2"}
    assert r["forks"] and r["forks"][0]["index"] == 1
    assert "on two calls at once" in r["explanation"]


def test_one_call_after_another_releases_is_fine_but_not_before():
    h = pool().write(1, "put", "claim", 1, ["b"], "a", "c1", new=2)
    h.write(1, "put", "release", 2, ["b", "a"], "a", "c1", new=3)
    h.write(2, "put", "claim", 3, ["b"], "a", "c2", new=4)
    assert check_pool(h.events)["valid"] is True
    h2 = pool().write(1, "put", "claim", 1, ["b"], "a", "c1", new=2)
    h2.write(2, "put", "claim", 2, ["b"], "a", "c2", new=3)  # c1 never released it
    assert check_pool(h2.events)["double_booking_count"] == 1


def test_a_claim_of_an_engineer_the_version_did_not_list():
    h = pool().write(1, "put", "claim", 1, ["b"], "z", "c1", new=2)
    r = check_pool(h.events)
    assert r["valid"] is False and r["phantom_claims"][0]["engineer"] == "z"
    assert r["phantom_claims"][0]["version"] == {"index": 1, "value": ["a", "b"]}


def test_without_a_successful_claim_it_is_unknown_and_bad_values_are_errors():
    assert check_pool(pool().events)["valid"] == "unknown"
    bad = [{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "put", "value": {"key": KEY}},
           {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "put", "value": {"key": KEY}}]
    with pytest.raises(HistoryError, match="purpose"):
        check_pool(bad)
