"""Verdicts from Elle's own list-append test cases, transcribed into our format.

Elle's ops there carry no real-time order unless stated, so they are run
concurrently here. "ax1ry" means [append x 1], [r y ...].
"""

import pytest

from support.listappend_builders import History, a, r
from unkindness.checkers.cycles import check_list_append

pytestmark = pytest.mark.timeout(60)


def types(h, model):
    res = check_list_append(h.events, model)
    return res["valid"], res["anomaly_types"]


def test_g1b_reading_an_intermediate_append_is_also_g_single():
    h = History().concurrent((0, a("x", 1), a("x", 2)), (1, r("x", [1])))
    assert types(h, "strict-serializable") == (False, ["G1b", "G-single"])


def test_g1c_write_then_read_across_keys():
    h = History().concurrent((0, a("x", 1), r("y", [1])), (1, a("x", 2), a("y", 1)), (2, r("x", [1, 2]), r("y", [1])))
    assert types(h, "read-committed") == (False, ["G1c"])


def test_g_single_with_an_unread_append():
    # ax1ay1, ax2ry, rx12: the append of y is never read, yet T2's empty read missed it.
    h = History().concurrent((0, a("x", 1), a("y", 1)), (1, a("x", 2), r("y", [])), (2, r("x", [1, 2])))
    assert types(h, "repeatable-read") == (False, ["G-single"])
    assert types(h, "read-committed") == (True, ["G-single"])


def test_g2_pure_anti_dependency_cycle_of_unread_appends():
    h = History().concurrent((0, a("x", 1), r("y", [])), (1, a("y", 1), r("x", [])))
    assert types(h, "read-committed")[0] is True
    assert types(h, "repeatable-read") == (False, ["G2-item"])
    assert types(h, "serializable") == (False, ["G2-item"])


def test_strong_si_violation_needs_realtime():
    h = History().txn(0, a("x", 1)).txn(1, a("x", 2)).txn(2, r("x", [1])).txn(3, r("x", [1, 2]))
    assert types(h, "serializable") == (True, ["G-single-realtime"])
    assert types(h, "strict-serializable") == (False, ["G-single-realtime"])
    assert types(h, "strong-snapshot-isolation")[0] is False


def test_strong_session_si_violation_needs_process_order():
    h = History().txn(0, a("x", 1)).txn(1, a("x", 2)).txn(1, r("x", [1])).txn(2, r("x", [1, 2]))
    assert types(h, "serializable")[0] is True
    valid, found = types(h, "strong-session-snapshot-isolation")
    assert valid is False and found[0] == "G-single-process"


def test_g_nonadjacent_with_process_order():
    # Elle issue 17: rw, wr, rw and a process edge, with the rw edges apart.
    h = History().txn(0, r("x", []), r("z", [1])).txn(1, a("x", 1)).txn(1, r("z", [])).txn(2, a("z", 1))
    assert types(h, "serializable")[0] is True
    valid, found = types(h, "strong-session-snapshot-isolation")
    assert valid is False and "G-nonadjacent-process" in found


def test_contradictory_read_orders():
    h = History().concurrent((0, a("x", 1), r("y", [1])), (1, a("x", 2)), (2, a("x", 3), a("y", 1)),
                             (3, r("x", [1, 3])), (4, r("x", [1, 2, 3])))
    valid, found = types(h, "read-committed")
    assert valid is False and {"G1c", "incompatible-order"} <= set(found)
