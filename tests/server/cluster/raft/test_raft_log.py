"""The durable Raft log: what sync() writes survives a reopen, what it did not write is gone."""

from __future__ import annotations

import pytest

from unkindness.server.cluster.raft.log import RaftLog


def entries(lo: int, hi: int, term: int) -> list[dict]:
    return [{"index": i, "term": term, "kind": "cmd", "data": {"i": i}} for i in range(lo, hi + 1)]


def test_synced_state_survives_reopen_and_unsynced_is_lost(tmp_path):
    log = RaftLog(str(tmp_path))
    assert log.is_empty
    log.set_cluster_id("c1")
    log.set_hard_state(3, "http://b")
    log.append(entries(1, 5, 3))
    log.sync()
    log.append(entries(6, 7, 3))  # never synced
    log.set_hard_state(4, None)
    log._db.close()
    again = RaftLog(str(tmp_path))
    assert (again.term, again.voted_for, again.cluster_id) == (3, "http://b", "c1")
    assert again.last_index() == 5 and again.entry(5)["data"] == {"i": 5}
    assert not again.is_empty


def test_truncate_compact_and_reset_persist(tmp_path):
    log = RaftLog(str(tmp_path))
    log.set_cluster_id("c1")
    log.append(entries(1, 10, 1))
    log.truncate_from(8)
    log.append(entries(8, 9, 2))
    log.compact(5, 1, {"members": {"A": "u"}, "next_tag": 1}, {"state": 1})
    log.sync()
    again = RaftLog(str(tmp_path))
    assert again.snapshot_index == 5 and again.snapshot_data == {"state": 1}
    assert [e["index"] for e in again.entries] == [6, 7, 8, 9]
    assert again.term_at(9) == 2 and again.term_at(7) == 1 and again.term_at(3) is None
    assert again.slice(7, 8) == [again.entry(7), again.entry(8)]
    again.compact(20, 5, {"members": {}, "next_tag": 1}, None)  # a snapshot beyond our log replaces it all
    again.sync()
    third = RaftLog(str(tmp_path))
    assert third.entries == [] and third.last_index() == 20 and third.last_term() == 5
    third.reset("c2")
    third.sync()
    fourth = RaftLog(str(tmp_path))
    assert fourth.cluster_id == "c2" and fourth.last_index() == 0 and fourth.term == 0


def test_out_of_order_append_is_refused():
    log = RaftLog()
    log.append(entries(1, 2, 1))
    with pytest.raises(ValueError, match="out of order"):
        log.append(entries(4, 4, 1))


def test_wal_and_full_sync_are_configured(tmp_path):
    log = RaftLog(str(tmp_path))
    assert log._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_commit_index_goes_to_disk_with_the_next_sync_and_never_causes_one(tmp_path):
    log = RaftLog(str(tmp_path))
    log.set_cluster_id("c1")
    log.append(entries(1, 5, 1))
    log.note_commit(3)
    log.sync()
    log.note_commit(5)  # noted, nothing else staged: no fsync is due, but the next sync writes it
    assert not log.dirty
    assert RaftLog(str(tmp_path)).commit == 3
    log.sync()
    assert RaftLog(str(tmp_path)).commit == 5
    log.append(entries(6, 6, 1))
    log.note_commit(6)
    log.note_commit(2)  # never backwards
    log.sync()
    again = RaftLog(str(tmp_path))
    assert again.commit == 6
    again.reset("c2")
    again.sync()
    assert RaftLog(str(tmp_path)).commit == 0
