"""The nemesis catalog end to end on 5 netns nodes: the Raft defects caught with the targets Jepsen
offers, the new faults VALID on a correct server and shown in the report, and nothing left behind
after a SIGKILL of the harness in the middle of a fault."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from support.harness_runs import HARNESS, caught_within, harness_test, leftovers, recheck, results, start_harness
from unkindness.checkers.history import pair
from unkindness.nemeses.journal import read_faults

REGISTER = ["--workload", "register", "--nodes", "5", "--time-limit", "16", "--recovery-time", "3"]
KILL_MANY = ["--nemesis", "kill", "--kill-targets", "all,majority", "--nemesis-interval", "4"]
LEADER_ISOLATED = ["--nemesis", "partition", "--partition-kinds", "leader-isolated", "--nemesis-interval", "8"]


@pytest.mark.parametrize("faults,defect", [
    (KILL_MANY, "raft-ack-before-fsync"),
    pytest.param(LEADER_ISOLATED, "split-brain-leader", marks=pytest.mark.slow),
])
def test_raft_defects_are_caught_and_the_same_faults_leave_a_correct_server_valid(tmp_path, env, faults, defect):
    cp, run = caught_within(tmp_path, env, [*REGISTER, *faults, "--defect", defect])
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert results(run)["results"]["linearizable"]["valid"] is False
    cp, run = harness_test(tmp_path, env, *REGISTER, *faults, "--seed", "1")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    faults_seen = [json.loads(line) for line in (run / "faults.jsonl").read_text().splitlines()]
    if defect == "split-brain-leader":  # wired to the real leader, asked at the time of the fault
        assert any(f.get("leader") for f in faults_seen)
    else:
        assert any(len(f.get("nodes") or []) >= 3 for f in faults_seen)  # a majority or all of them
    assert leftovers(tmp_path) == []


NEW_FAULTS = ["--nemesis", "pause,clock,packet", "--nemesis-interval", "4"]


@pytest.mark.parametrize("workload", [
    ["--workload", "register"],
    pytest.param(["--workload", "bank", "--txn-mode", "cluster-wide"], marks=pytest.mark.slow),
])
def test_pause_clock_and_packet_faults_leave_a_correct_server_valid_and_show_in_the_report(tmp_path, env, workload):
    cp, run = harness_test(tmp_path, env, *workload, *NEW_FAULTS, "--nodes", "5", "--time-limit", "16",
                           "--recovery-time", "3", "--seed", "2")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    kinds = {json.loads(line)["kind"] for line in (run / "faults.jsonl").read_text().splitlines()}
    assert kinds == {"pause", "clock", "packet"}
    html = (run / "report.html").read_text()
    assert "data-picture='clock'" in html and "Clock offsets" in html
    for kind in ("pause", "clock", "packet"):
        assert f"<td>{kind}</td>" in html  # each interval listed, and shaded on the timeline by its kind
    assert recheck(run, env) == 0
    assert leftovers(tmp_path) == []


def _stopped(root) -> list[str]:
    out = subprocess.run(["ps", "-eo", "stat=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split()[0].startswith("T") and str(root) in line]


def test_a_harness_killed_mid_fault_leaves_nothing_after_clean(tmp_path, env):
    proc, _ = start_harness(tmp_path, env, "--workload", "set", "--nemesis", "partition,pause,clock,packet,kill",
                            "--nodes", "3", "--time-limit", "60", "--nemesis-interval", "2", "--seed", "3")
    time.sleep(1.6)  # every fault is active for the second half of each 2 s cycle
    proc.kill()
    proc.wait()
    assert leftovers(tmp_path)
    cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60, env=env)
    assert cp.returncode == 0, cp.stderr
    time.sleep(0.3)
    assert leftovers(tmp_path) == [] and _stopped(tmp_path) == []


def test_test_all_runs_the_matrix_summarises_it_and_exits_with_the_worst_verdict(tmp_path, env):
    cp = subprocess.run([HARNESS, "test-all", "--workloads", "set,bank", "--nemeses", "partition", "--nodes", "5",
                         "--time-limit", "8", "--nemesis-interval", "4", "--recovery-time", "2", "--seed", "3",
                         "--results-dir", str(tmp_path / "results")], capture_output=True, text=True, timeout=300,
                        env=env)
    assert cp.returncode == 1, cp.stdout + cp.stderr  # single-node bank loses money under partitions
    assert "[1/2] set / partition: VALID" in cp.stderr and "[2/2] bank / partition: INVALID" in cp.stderr
    assert "| set | partition | VALID |" in cp.stdout and "| bank | partition | INVALID |" in cp.stdout
    folder = tmp_path / "results" / "test-all" / "latest"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["verdict"] == "INVALID" and [r["verdict"] for r in summary["runs"]] == ["VALID", "INVALID"]
    assert "| bank | partition | INVALID |" in (folder / "summary.md").read_text()
    junit = (folder / "junit.xml").read_text()
    assert junit.count("<testsuite ") == 2 and "<failure" in junit
    assert "id='matrix'" in (tmp_path / "results" / "index.html").read_text()
    assert leftovers(tmp_path) == []


def test_test_all_stops_cleanly_on_ctrl_c_healing_the_run_in_flight(tmp_path, env):
    import signal

    proc = subprocess.Popen([HARNESS, "test-all", "--workloads", "set,register", "--nemeses", "partition",
                             "--nodes", "3", "--time-limit", "60", "--nemesis-interval", "1",
                             "--results-dir", str(tmp_path / "results")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if "main phase" in line or time.monotonic() > deadline:
            break
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    summary = json.loads((tmp_path / "results" / "test-all" / "latest" / "summary.json").read_text())
    assert [r["verdict"] for r in summary["runs"]] == ["INTERRUPTED"]  # the second run never started
    faults = read_faults(tmp_path / "results" / "latest" / "faults.jsonl")  # the last record of each fault
    assert faults and all(f["healed_at"] is not None for f in faults)
    assert leftovers(tmp_path) == []


def test_membership_removes_a_node_through_raft_and_brings_it_back_valid(tmp_path, env):
    cp, run = harness_test(tmp_path, env, "--workload", "set", "--nemesis", "membership", "--nodes", "5",
                           "--time-limit", "16", "--nemesis-interval", "8", "--recovery-time", "4", "--seed", "1")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    faults = read_faults(run / "faults.jsonl")
    assert faults and all(f["kind"] == "membership" and f["healed_at"] for f in faults)
    removed = faults[0]["nodes"][0]
    lines = [json.loads(l) for l in (run / "history.jsonl").read_text().splitlines()]
    out_of_group = ("does not exist there", "is not relevant on node")  # no record left, or 410 from the record
    assert any(e["type"] == "fail" and e["node"] == removed and any(m in (e["error"] or "") for m in out_of_group)
               for e in lines)  # while out of its database group it serves nothing
    # ... and its pinned workers do not spin on it: each such failure is followed by a pause
    # before the worker's next op, not held inside the failed op.
    ops = sorted(pair(lines).ops, key=lambda o: (o.process, o.start))
    gone = [(a, b) for a, b in zip(ops, ops[1:]) if a.process == b.process and a.type == "fail"
            and any(m in (a.error or "") for m in out_of_group)]
    assert gone and all(b.start - a.end >= 0.095e9 for a, b in gone), [(b.start - a.end) / 1e9 for a, b in gone]
    assert sorted(a.end - a.start for a, _ in gone)[len(gone) // 2] < 0.05e9
    finals = [e for e in lines if e["f"] == "final-read" and e["type"] == "ok"]
    assert {e["node"] for e in finals} == {f"n{i}" for i in range(1, 6)}  # back, caught up, read
    assert leftovers(tmp_path) == []
