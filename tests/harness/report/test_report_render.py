"""report.html content, without a browser: verdict, test, evidence per checker, robustness."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from unkindness.harness.report import ReportError, write_report
from unkindness.harness.report.rundata import faults_from_nemesis, read_run
from support.synthetic_runs import events_from_ops, register_ops, write_folder

pytestmark = pytest.mark.timeout(120)


def html_of(d: Path) -> str:
    return write_report(d).read_text()


def test_invalid_register_shows_verdict_command_and_linearizability_picture(runs):
    html = html_of(runs["register"])
    assert "data-verdict='INVALID'" in html
    assert "harness test --workload register --nemesis partition --nodes 3 --seed 1" in html
    # Order: verdict, then the test, then the checkers, then the charts, then the logs.
    pos = [html.index(s) for s in ("id='verdict'", 'id="test"', 'id="checkers"', 'id="charts"', 'id="logs"')]
    assert pos == sorted(pos)
    assert "data-kind='linearizable'" in html and "data-picture='linearizability'" in html
    assert "cannot be linearized" in html and "Why this is an anomaly." in html
    assert "The longest linearizable prefix" in html
    res = json.loads((runs["register"] / "results.json").read_text())["results"]["linearizable"]
    assert f"history event {res['op']['invoke_index']}" in html


def test_valid_register_has_no_failure_picture(runs):
    html = html_of(runs["register-valid"])
    assert "data-verdict='valid'" in html
    assert "data-picture='linearizability'" not in html and "Why this is an anomaly." not in html


def test_bank_draws_totals_with_bad_reads(runs):
    html = html_of(runs["bank"])
    pic = re.search(r"data-picture='bank'>(<svg.*?</svg>)", html, re.S).group(1)
    bad = json.loads((runs["bank"] / "results.json").read_text())["results"]["bank"]["bad_read_count"]
    assert bad > 0 and pic.count('fill="#d62728"') == bad  # one red dot per bad read
    assert "expected total 100" in pic and ">partition<" in pic


def test_set_lists_each_lost_element_with_its_add(runs):
    html = html_of(runs["set"])
    lost = json.loads((runs["set"] / "results.json").read_text())["results"]["set"]["lost"]
    assert lost
    for item in lost:
        assert f"<code>{item['element']}</code>" in html
    assert "its add operation" in html


def test_cart_shows_per_node_differences(runs):
    html = html_of(runs["cart"])
    assert "carts/1" in html and "A:4-x, B:2-y" in html and "node n3" in html


def test_cart_shows_each_nodes_carts_and_strikes_out_the_lost_item(runs):
    html = html_of(runs["cart"])
    assert "Each node&#x27;s carts after healing" in html or "Each node's carts after healing" in html
    assert "Lost items" in html and "class='lost'" in html  # p1 is short on n3


def test_engineer_pool_draws_who_held_whom_and_the_double_booking(runs):
    html = html_of(runs["engineer-pool"])
    assert "data-picture='pool'" in html and "on two calls at once" in html
    svg = re.search(r"data-picture='pool'>(<svg.*?</svg>)", html, re.S).group(1)
    assert svg.count("held oren") == 2 and "oren on two calls at once: calls/1 and calls/2" in svg
    assert ">partition<" in svg


def test_list_append_draws_the_cycle(runs):
    html = html_of(runs["list-append"])
    assert "data-picture='cycle'" in html and "G2-item" in html
    svg = re.search(r"data-picture='cycle'>(<svg.*?</svg>)", html, re.S).group(1)
    assert svg.count(">rw<") == 2  # both anti-dependency edges labelled


def test_self_contained_no_network(runs):
    for d in runs.values():
        html = html_of(d)
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), d
        assert "<link" not in html and "@import" not in html


def test_node_logs_around_the_fault(runs):
    html = html_of(runs["bank"])
    assert html.count("class='node-log'") == 3
    assert "replication connection lost" in html and "partition applied at" in html
    assert "not json at all" not in html or "partition" in html


def test_missing_everything_says_not_recorded(tmp_path):
    html = html_of(tmp_path)
    assert "not recorded" in html and "No history file" in html and "has not been checked" in html


def test_broken_history_is_a_note_not_a_crash(tmp_path):
    (tmp_path / "history.jsonl").write_text('{"index": 0, "type": "ok", "process": 1, "f": "read"}\n{oops\n')
    (tmp_path / "results.json").write_text("not json")
    html = html_of(tmp_path)
    assert "The history could not be read" in html and "history.jsonl:2" in html
    assert "results.json could not be read" in html


def test_unknown_evidence_shape_shows_json(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(
        {"valid": False, "summary": "s", "results": {"weird": {"valid": False, "summary": "odd", "blob": {"deep": [1, 2]}},
                                                     "broken": "not a dict"}}))
    html = html_of(tmp_path)
    assert "data-kind='generic'" in html and "&quot;deep&quot;" in html
    assert "returned something that is not a result" in html


def test_not_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="not a results folder"):
        write_report(tmp_path / "nope")


def test_faults_derived_from_nemesis_events_when_journal_absent(tmp_path):
    ops, fault = register_ops(200, stale_read=False)
    write_folder(tmp_path, "register", events_from_ops(ops), fault, with_faults_file=False)
    rd = read_run(tmp_path)
    assert len(rd.faults) == 1 and rd.faults[0].kind == "partition"
    assert rd.faults[0].start == fault[0] and rd.faults[0].end == fault[1]
    unhealed = faults_from_nemesis([{"process": "nemesis", "type": "info", "f": "kill", "time": 5, "value": ["n1"]}], 10)
    assert unhealed[0].kind == "kill" and unhealed[0].end is None


def test_corpus_history_report(runs):
    if "corpus" not in runs:
        pytest.skip("the linearizability corpus is not present at /work/shared/corpora")
    html = html_of(runs["corpus"])
    assert "data-verdict='INVALID'" in html and "data-picture='linearizability'" in html
    assert "nemesis</th><td><span class='muted'>not recorded" in html


def test_a_cart_in_conflict_is_shown_even_among_many_carts():
    """The per-node cart table shows 60 carts: those in conflict come first, whatever their names."""
    from unkindness.harness.report.evidence import render_checker

    contents = {n: {f"carts/{i:03d}": {"products/1": 1} for i in range(100)} for n in ("n1", "n2")}
    result = {"valid": False, "cart_contents": contents, "conflicted_carts": {"carts/099": 2}, "problems": []}
    html = render_checker("cart", result, [], 0)
    assert "carts/099</code> (conflict)" in html


def test_a_server_log_line_is_placed_by_its_ts_ms():
    """The server's Log writes ``ts_ms``; a line the report cannot place in time never shows near a fault."""
    from unkindness.harness.report.logs import parse

    ts, text = parse('{"ts_ms": 1700000000123, "level": "info", "node": "A", "msg": "raft became_leader", "term": 3}')
    assert ts == 1700000000.123
    assert text.startswith("info raft became_leader") and '"term":3' in text and "ts_ms" not in text
    assert parse('{"ts": 1700000000.5, "msg": "x"}')[0] == 1700000000.5
