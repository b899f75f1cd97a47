import json

from unkindness.checkers.bank import check_bank
from unkindness.checkers.combine import combine
from unkindness.checkers.stats import check_stats


def test_all_valid_is_valid():
    r = combine({"bank": {"valid": True}, "stats": {"valid": True}})
    assert r == {"valid": True, "results": {"bank": {"valid": True}, "stats": {"valid": True}},
                 "summary": "All 2 checkers passed (bank, stats).", "failed": [], "unknown": [], "malformed": []}


def test_false_beats_unknown_beats_true_and_the_summary_names_them():
    r = combine({"a": {"valid": True}, "b": {"valid": "unknown"}, "c": {"valid": False}, "d": {"valid": False}})
    assert r["valid"] is False
    assert r["failed"] == ["c", "d"] and r["unknown"] == ["b"]
    assert r["summary"] == "Failed: c, d. Unknown: b."
    r2 = combine({"a": {"valid": True}, "b": {"valid": "unknown"}})
    assert r2["valid"] == "unknown" and r2["summary"] == "No anomaly found, but undecided: b."


def test_malformed_results_count_as_unknown_never_as_a_pass():
    r = combine({"a": {"valid": True}, "b": {"valid": 1}, "c": "oops", "d": {}})
    assert r["valid"] == "unknown"
    assert r["malformed"] == ["b", "c", "d"] and r["unknown"] == ["b", "c", "d"]
    assert "Malformed result (no valid verdict) from: b, c, d." in r["summary"]
    assert combine({"a": {"valid": 0}})["valid"] == "unknown"


def test_nothing_checked_is_unknown():
    assert combine({})["valid"] == "unknown"
    bad = combine(["not", "a", "dict"])
    assert bad["valid"] == "unknown" and "Expected a mapping" in bad["summary"]


def test_combines_real_checker_results_into_json():
    h = [{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "read"},
         {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "read", "value": {"a": 1, "b": 2}}]
    r = combine({"bank": check_bank(h, total=4), "stats": check_stats(h)})
    assert r["valid"] is False and r["failed"] == ["bank"]
    json.dumps(r)  # evidence is JSON-serialisable end to end
