"""Each anomaly from a hand-built history: rejected where the model forbids it, accepted where not."""

import json

import pytest

from support.listappend_builders import History, a, r
from unkindness.checkers.cycles import MODELS, check_list_append
from unkindness.checkers.history import HistoryError

pytestmark = pytest.mark.timeout(60)


def check(h, model="strict-serializable"):
    res = check_list_append(h.events, model)
    json.dumps(res)  # evidence must be JSON-ready
    return res


def g0():
    return History().concurrent((0, a("x", 1), a("y", 1)), (1, a("x", 2), a("y", 2))) \
        .txn(2, r("x", [1, 2]), r("y", [2, 1]))


def g1c():
    return History().concurrent((0, a("x", 1), r("y", [1])), (1, a("y", 1), r("x", [1])))


def g_single():
    # T1 reads x after T0's append, yet misses T0's append to y (read skew).
    return History().concurrent((0, a("x", 1), a("y", 1)), (1, r("x", [1]), r("y", []))) \
        .txn(2, r("y", [1]))


def g2_item():
    # Write skew: each reads the key the other appends to, and misses it.
    return History().concurrent((0, r("x", []), a("y", 1)), (1, r("y", []), a("x", 1))) \
        .txn(2, r("x", [1]), r("y", [1]))


def test_g0_write_cycle_is_rejected_even_by_read_uncommitted():
    res = check(g0(), "read-uncommitted")
    assert res["valid"] is False and "G0" in res["anomaly_types"]
    cyc = res["anomalies"]["G0"][0]
    assert {s["kind"] for s in cyc["steps"]} == {"ww"}
    assert {s["key"] for s in cyc["steps"]} == {"x", "y"}
    assert res["strongest_satisfied"] == [] and "read-uncommitted" in res["not"]


def test_g1c_is_rejected_by_read_committed_and_allowed_by_read_uncommitted():
    res = check(g1c(), "read-committed")
    assert res["valid"] is False and res["anomaly_types"] == ["G1c"]
    steps = res["anomalies"]["G1c"][0]["steps"]
    assert [s["kind"] for s in steps] == ["wr", "wr"]
    assert "read" in steps[0]["why"] and "append of 1" in steps[0]["why"]
    assert check(g1c(), "read-uncommitted")["valid"] is True
    assert res["strongest_satisfied"] == ["read-uncommitted"]


def test_g_single_is_rejected_by_snapshot_isolation_allowed_by_read_committed():
    res = check(g_single(), "snapshot-isolation")
    assert res["valid"] is False and res["anomaly_types"] == ["G-single"]
    cyc = res["anomalies"]["G-single"][0]
    assert sorted(s["kind"] for s in cyc["steps"]) == ["rw", "wr"]
    rw = next(s for s in cyc["steps"] if s["kind"] == "rw")
    assert rw["key"] == "y" and rw["value"] == 1 and "did not see" in rw["why"]
    assert set(cyc["txns"]) == {"T1", "T2"} and all("process" in t and "index" in t for t in cyc["txns"].values())
    assert "contradiction" in cyc["explanation"]
    assert check(g_single(), "read-committed")["valid"] is True
    assert check(g_single(), "repeatable-read")["valid"] is False


def test_g2_item_write_skew_is_allowed_by_snapshot_isolation_rejected_by_serializable():
    assert check(g2_item(), "snapshot-isolation")["valid"] is True
    res = check(g2_item(), "serializable")
    assert res["valid"] is False and res["anomaly_types"] == ["G2-item"]
    assert [s["kind"] for s in res["anomalies"]["G2-item"][0]["steps"]] == ["rw", "rw"]
    assert res["strongest_satisfied"] == ["strong-snapshot-isolation"]
    assert "serializable" in res["not"] and "snapshot-isolation" not in res["not"]
    assert res["ruled_out_by"]["G2-item"] == ["repeatable-read", "serializable", "strong-session-serializable",
                                              "strict-serializable"]


def test_g1a_aborted_read():
    h = History().txn(0, a("x", 1), type="fail").txn(1, r("x", [1]))
    res = check(h, "read-committed")
    assert res["valid"] is False and res["anomaly_types"] == ["G1a"]
    item = res["anomalies"]["G1a"][0]
    assert item["writer"]["type"] == "fail" and item["value"] == 1 and "failed" in item["explanation"]
    assert check(h, "read-uncommitted")["valid"] is True


def test_g1b_intermediate_read():
    h = History().txn(0, a("x", 1), a("x", 2)).txn(1, r("x", [1]))
    res = check(h, "read-committed")
    assert res["valid"] is False and "G1b" in res["anomaly_types"]
    item = res["anomalies"]["G1b"][0]
    assert item["value"] == 1 and item["final_value"] == 2


def test_reading_a_final_append_is_not_g1b():
    h = History().txn(0, a("x", 1), a("x", 2)).txn(1, r("x", [1, 2]))
    assert check(h)["valid"] is True


def test_internal_inconsistency():
    h = History().txn(0, a("x", 1), r("x", []))
    res = check(h, "serializable")
    assert res["valid"] is False and res["anomaly_types"] == ["internal"]
    assert "own appends" in res["anomalies"]["internal"][0]["explanation"]
    h2 = History().concurrent((1, a("x", 5)), (0, r("x", [5]), r("x", [])))
    assert check(h2, "serializable")["anomaly_types"] == ["internal"]
    assert check(h, "read-committed")["valid"] is True  # Elle: internal is not a read-committed anomaly


def test_duplicate_appends():
    h = History().txn(0, a("x", 1)).txn(1, a("x", 1)).txn(2, r("x", [1]))
    res = check(h, "read-uncommitted")
    assert res["valid"] is False and "duplicate-appends" in res["anomaly_types"]
    assert len(res["anomalies"]["duplicate-appends"][0]["ops"]) == 2


def test_duplicate_elements_in_a_read():
    h = History().txn(0, a("x", 1)).txn(1, r("x", [1, 1]))
    res = check(h, "read-uncommitted")
    assert res["valid"] is False and "duplicate-elements" in res["anomaly_types"]


def test_incompatible_order():
    h = History().concurrent((0, a("x", 1)), (1, a("x", 2))).txn(2, r("x", [1, 2])).txn(3, r("x", [2, 1]))
    res = check(h, "read-committed")
    assert res["valid"] is False and "incompatible-order" in res["anomaly_types"]
    item = res["anomalies"]["incompatible-order"][0]
    assert item["read"] == [2, 1] and item["longest_read"] == [1, 2]


def test_garbage_read_of_an_element_nobody_appended():
    res = check(History().txn(0, r("x", [7])), "read-committed")
    assert res["valid"] is False and res["anomaly_types"] == ["garbage-read"]


def stale_read(same_process: bool):
    # T0 appends and completes; T1 starts afterwards yet reads x empty (a stale read).
    h = History().txn(0, a("x", 1))
    h.txn(0 if same_process else 1, r("x", []))
    return h.txn(2, r("x", [1]))


def test_realtime_only_cycle_rejected_by_strict_accepted_by_serializable():
    h = stale_read(same_process=False)
    res = check(h)
    assert res["valid"] is False and res["anomaly_types"] == ["G-single-realtime"]
    kinds = sorted(s["kind"] for s in res["anomalies"]["G-single-realtime"][0]["steps"])
    assert kinds == ["realtime", "rw"]
    assert "real-time" in res["anomalies"]["G-single-realtime"][0]["explanation"]
    for model in ("serializable", "strong-session-serializable", "snapshot-isolation"):
        assert check(h, model)["valid"] is True, model
    assert check(h, "strong-snapshot-isolation")["valid"] is False
    assert res["strongest_satisfied"] == ["strong-session-serializable"]


def test_process_only_cycle_rejected_by_strict_and_strong_session_accepted_by_serializable():
    h = stale_read(same_process=True)
    res = check(h)
    assert res["valid"] is False and res["anomaly_types"] == ["G-single-process"]
    assert sorted(s["kind"] for s in res["anomalies"]["G-single-process"][0]["steps"]) == ["process", "rw"]
    assert check(h, "strong-session-serializable")["valid"] is False
    assert check(h, "serializable")["valid"] is True


def test_info_txn_observed_counts_but_orders_nothing_after_it():
    h = History().invoke(0, a("x", 1)).complete(0, a("x", 1), type="info")
    h.txn(1, r("x", []))  # invoked after the info completion: may still precede T0's effect
    h.txn(2, r("x", [1]))
    assert check(h)["valid"] is True
    # The same with an ok T0 is a stale read.
    h2 = History().txn(0, a("x", 1)).txn(1, r("x", [])).txn(2, r("x", [1]))
    assert check(h2)["valid"] is False


def test_info_txn_without_completion_can_be_observed():
    h = History().invoke(0, a("x", 1)).txn(1, r("x", [1]))
    assert check(h)["valid"] is True


def test_valid_serial_and_concurrent_histories():
    h = History().txn(0, a("x", 1), r("y", [])).txn(1, r("x", [1]), a("y", 2)) \
        .concurrent((0, r("x", [1]), a("x", 3)), (1, r("y", [2]), a(7, "s"))) \
        .txn(2, r("x", [1, 3]), r("y", [2]), r(7, ["s"]))
    for model in MODELS:
        res = check(h, model)
        assert res["valid"] is True, (model, res["summary"])
    assert res["strongest_satisfied"] == ["strict-serializable"] and res["not"] == []
    assert res["txns"] == 5 and "consistent" in res["summary"]


def test_invalid_result_names_the_anomaly_in_summary_and_explanation():
    res = check(g2_item(), "strict-serializable")
    assert "G2-item" in res["summary"] and res["explanation"].startswith("strict-serializable forbids G2-item")
    assert "T1 < T2 because" in res["explanation"]


def test_unknown_model_is_a_value_error_listing_the_models():
    with pytest.raises(ValueError, match="known models.*strict-serializable"):
        check_list_append([], "linearizable-ish")


@pytest.mark.parametrize("events,msg", [
    ([{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["put", "x", 1]]},
      {"index": 1, "process": 0, "type": "ok", "f": "txn", "value": [["put", "x", 1]]}], "knows only"),
    ([{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
      {"index": 1, "process": 0, "type": "ok", "f": "txn", "value": [["r", "x", 3]]}], "must be a list"),
    ([{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
      {"index": 1, "process": 0, "type": "ok", "f": "txn", "value": [["r", "y", []]]}], "does not match"),
    ([{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": 5}], "list of"),
    ([{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["append", [1], 1]]}], "keys must be"),
    ("nope", "must be a list"),
])
def test_malformed_histories_get_a_clear_error(events, msg):
    with pytest.raises(HistoryError, match=msg):
        check_list_append(events)


def test_empty_history_is_valid():
    res = check_list_append([])
    assert res["valid"] is True and res["txns"] == 0


def test_unhashable_elements_in_a_read_are_a_clear_error():
    h = History().txn(0, a("x", 1)).txn(1, r("x", [[1]]))
    with pytest.raises(HistoryError, match="elements must be numbers or strings"):
        check_list_append(h.events)


def g_nonadjacent():
    # T1 -rw(x)-> T2 -wr(y)-> T3 -rw(z)-> T4 -wr(w)-> T1: two rw edges, never adjacent.
    return History().concurrent(
        (1, r("x", []), r("w", [1])),
        (2, a("x", 1), a("y", 1)),
        (3, r("y", [1]), r("z", [])),
        (4, a("z", 1), a("w", 1)),
    ).txn(5, r("x", [1]), r("z", [1]))


def test_g_nonadjacent_is_rejected_even_by_snapshot_isolation():
    res = check(g_nonadjacent(), "snapshot-isolation")
    assert res["valid"] is False and res["anomaly_types"] == ["G-nonadjacent"]
    kinds = [s["kind"] for s in res["anomalies"]["G-nonadjacent"][0]["steps"]]
    assert sorted(kinds) == ["rw", "rw", "wr", "wr"]
    assert all(not (kinds[i] == kinds[(i + 1) % 4] == "rw") for i in range(4))
    assert check(g_nonadjacent(), "repeatable-read")["valid"] is False
    assert check(g_nonadjacent(), "read-committed")["valid"] is True


def test_model_aliases_are_canonicalised():
    res = check_list_append(g2_item().events, "PL-3")
    assert res["consistency_model"] == "serializable" and res["valid"] is False
    assert check_list_append(g2_item().events, "strong-serializable")["consistency_model"] == "strict-serializable"


def test_verdict_is_unknown_when_caps_stop_the_search_for_a_forbidden_type():
    # Under SI, write skew (G2-item) is allowed; with no search budget the checker
    # cannot rule out G-single/G-nonadjacent, so it must not say "valid".
    res = check_list_append(g2_item().events, "snapshot-isolation", max_search_work=1)
    assert res["valid"] == "unknown"
    assert "G2-item" in res["anomaly_types"]  # the fallback still reports the cycle
    assert "G-single" in res["search"]["truncated_types"] and "work cap" in res["summary"]
    # Serializable forbids any data cycle, so the same caps still give a definite verdict.
    assert check_list_append(g2_item().events, "serializable", max_search_work=1)["valid"] is False


@pytest.mark.parametrize("kw", [{"max_cycles_per_type": 0}, {"max_search_work": -1}, {"max_cycles_per_type": "3"}])
def test_bad_limits_are_value_errors(kw):
    with pytest.raises(ValueError, match="positive integer"):
        check_list_append([], **kw)


def test_lost_update_needs_no_later_read():
    h = History().concurrent((0, r("x", [5]), a("x", 1)), (1, r("x", [5]), a("x", 2)))
    h.events[:0] = History().txn(9, a("x", 5)).events
    for i, e in enumerate(h.events):
        e["index"] = i
    res = check(h, "snapshot-isolation")
    # Both also missed each other's unread append: a G2-item cycle as well.
    assert res["valid"] is False and res["anomaly_types"] == ["G2-item", "lost-update"]
    item = res["anomalies"]["lost-update"][0]
    assert item["key"] == "x" and item["value"] == 5 and len(item["ops"]) == 2
    assert check(h, "read-committed")["valid"] is True
    assert check(h, "repeatable-read")["valid"] is False


def test_appending_after_reading_different_states_is_not_lost_update():
    h = History().txn(0, r("x", []), a("x", 1)).txn(1, r("x", [1]), a("x", 2))
    assert check(h)["valid"] is True


def test_non_txn_ops_and_nemesis_events_are_skipped_and_counted():
    h = History().txn(0, a("x", 1)).txn(1, r("x", [1]))
    h.events += [{"index": 4, "process": "nemesis", "type": "info", "f": "start-partition", "value": None},
                 {"index": 5, "process": 3, "type": "invoke", "f": "read", "value": None},
                 {"index": 6, "process": 3, "type": "ok", "f": "read", "value": 3}]
    res = check_list_append(h.events)
    assert res["valid"] is True and res["txns"] == 2 and res["skipped_non_txn_ops"] == 1


def test_real_time_edges_lead_into_info_txns():
    # T1 (info) was invoked after T0 completed, yet its append sits before T0's.
    h = History().txn(0, a("x", 1))
    h.invoke(1, a("x", 2)).complete(1, a("x", 2), type="info")
    h.txn(2, r("x", [2, 1]))
    res = check(h)
    assert res["valid"] is False and res["anomaly_types"] == ["G0-realtime"]
    assert check(h, "serializable")["valid"] is True
