"""Tag naming, config helpers and the JSON-lines log format."""

from __future__ import annotations


from hypothesis import given, strategies as st

from unkindness.server.cluster.raft import membership as cfg
from unkindness.server.jsonlog import Log, read_records


def test_tags_run_a_to_z_then_aa():
    assert [cfg.tag_name(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == \
        ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_tags_are_distinct_for_distinct_numbers(a, b):
    assert (cfg.tag_name(a) == cfg.tag_name(b)) == (a == b)


def test_membership_helpers_never_reuse_a_tag():
    c = cfg.initial_config("http://a")
    c, b = cfg.with_member(c, "http://b")
    c = cfg.without_member(c, b)
    c, third = cfg.with_member(c, "http://c")
    assert (b, third) == ("B", "C") and c["members"] == {"A": "http://a", "C": "http://c"}
    assert cfg.tag_of(c, "http://c") == "C" and cfg.url_of(c, "A") == "http://a" and cfg.tag_of(c, "http://b") is None
    assert [cfg.majority(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_json_lines_records_and_a_torn_last_line(tmp_path):
    path = tmp_path / "raft.jsonl"
    log = Log.to_file(str(path), "A")
    log.record({"event": "became_leader", "term": 3, "node": "http://a"})
    log.info("plain text", obj=object())  # non-JSON values are stringified, not fatal
    log.close()
    log.record({"event": "after close"})  # dropped, not raised: a stream closed at shutdown
    with open(path, "a") as f:
        f.write('{"event": "commit", "ter')  # what a kill -9 mid-write leaves behind
    records = read_records(str(path))
    assert records[0]["event"] == "became_leader" and records[0]["term"] == 3 and "ts_ms" in records[0]
    assert records[0]["node"] == "http://a"  # a record's own fields win over the log's tag
    assert records[1]["msg"] == "plain text" and records[1]["node"] == "A" and "object" in records[1]["obj"]
    assert len(records) == 2
