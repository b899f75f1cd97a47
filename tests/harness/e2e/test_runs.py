"""`harness test` end to end: real servers in real namespaces, real kills and iptables partitions."""

import json
import signal
import subprocess
import time

import pytest

from support.harness_runs import HARNESS, harness_test, history, leftovers, results, start_harness

FAST = ["--nodes", "5", "--time-limit", "8", "--nemesis-interval", "4", "--recovery-time", "2"]


def test_set_under_kill_on_a_correct_server_is_valid_and_leaves_nothing(tmp_path, env):
    cp, run = harness_test(tmp_path, env, "--workload", "set", "--nemesis", "kill", "--seed", "1", *FAST)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "VALID" in cp.stdout and "reproduce: harness test --workload set --nemesis kill" in cp.stdout
    r = results(run)
    assert r["results"]["set"]["valid"] is True
    faults = [json.loads(l) for l in (run / "faults.jsonl").read_text().splitlines()]
    assert faults and all(f["kind"] == "kill" for f in faults)
    assert all(any(g["id"] == f["id"] and g["healed_at"] for g in faults) for f in faults)
    test = json.loads((run / "test.json").read_text())
    assert test["seed"] == 1 and test["reproduce"].startswith("harness test --workload set")
    assert (run / "nodes" / "n1" / "server.log").stat().st_size > 0
    report = (run / "report.html").read_text()
    assert "VALID" in report and "set / kill" in report
    assert "<testcase" in (run / "junit.xml").read_text()
    assert (run / "history.edn").read_text().startswith("{:index 0, :time ")  # for Jepsen's own tools
    assert run.resolve().name in (tmp_path / "results" / "index.html").read_text()
    history = [json.loads(l) for l in (run / "history.jsonl").read_text().splitlines()]
    assert {e["f"] for e in history if e["process"] == "nemesis"} == {"start-kill", "stop-kill"}
    assert sum(1 for e in history if e["f"] == "final-read" and e["type"] == "ok") == 5
    assert leftovers(tmp_path) == []


def test_bank_single_node_under_partition_loses_money_as_the_ap_layer_documents(tmp_path, env):
    cp, run = harness_test(tmp_path, env, "--workload", "bank", "--nemesis", "partition", "--seed", "3", *FAST)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    bank = results(run)["results"]["bank"]
    assert bank["valid"] is False
    assert "instead of 100" in bank["explanation"]
    assert "Expected for this configuration" in cp.stdout and "AP layer" in cp.stdout
    assert "Read this first." in (run / "report.html").read_text()
    faults = [json.loads(l) for l in (run / "faults.jsonl").read_text().splitlines()]
    assert faults and all(f["kind"] == "partition" and f["grudge"] for f in faults)
    assert leftovers(tmp_path) == []


def test_ack_before_fsync_is_caught_by_set_under_kill(tmp_path, env):
    """The defect acknowledges writes before they commit; kill -9 loses some of them."""
    for seed in (1, 2, 3):
        cp, run = harness_test(tmp_path, env, "--workload", "set", "--nemesis", "kill", "--seed", str(seed),
                               "--defect", "ack-before-fsync", "--nodes", "3", "--time-limit", "10",
                               "--nemesis-interval", "2", "--recovery-time", "2")
        if cp.returncode == 1:
            break
    assert cp.returncode == 1, cp.stdout + cp.stderr
    s = results(run)["results"]["set"]
    assert s["valid"] is False and "lost" in s["summary"]
    assert leftovers(tmp_path) == []


def test_sigterm_mid_run_heals_every_fault_and_tears_down(tmp_path, env):
    proc, _ = start_harness(tmp_path, env, "--workload", "set", "--nemesis", "partition", "--nodes", "3",
                     "--time-limit", "60", "--nemesis-interval", "1", "--seed", "4")
    time.sleep(2.5)  # a partition is active for half of every second
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "interrupted (SIGTERM): healing and tearing down" in out
    faults = {}
    for line in (tmp_path / "results" / "latest" / "faults.jsonl").read_text().splitlines():
        rec = json.loads(line)
        faults[rec["id"]] = rec
    assert faults and all(f["healed_at"] is not None for f in faults.values())
    assert leftovers(tmp_path) == []


def test_harness_killed_with_sigkill_then_clean_leaves_nothing(tmp_path, env):
    proc, _ = start_harness(tmp_path, env, "--workload", "bank", "--nemesis", "partition", "--nodes", "3",
                     "--time-limit", "60", "--nemesis-interval", "1", "--seed", "5")
    time.sleep(2)
    proc.kill()
    proc.wait()
    assert leftovers(tmp_path), "a SIGKILLed harness leaves its cluster behind until clean"
    cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60, env=env)
    assert cp.returncode == 0, cp.stderr
    assert "removed namespace" in cp.stdout and "removed process" in cp.stdout
    time.sleep(0.3)
    assert leftovers(tmp_path) == []


def test_up_prints_urls_of_a_working_cluster_and_down_removes_it(tmp_path, env):
    import requests

    cp = subprocess.run([HARNESS, "up", "--nodes", "2", "--results-dir", str(tmp_path / "results")],
                        capture_output=True, text=True, timeout=60, env=env)
    assert cp.returncode == 0, cp.stderr
    urls = [line.split()[-1] for line in cp.stdout.splitlines() if line.strip().startswith("n")]
    assert len(urls) == 2
    try:
        for url in urls:
            topo = requests.get(f"{url}/topology", params={"name": "jepsen"}, timeout=5).json()
            assert len(topo["Nodes"]) == 2
    finally:
        run_id = json.loads(next((tmp_path / "results" / "up").glob("*/cluster.json")).read_text())["run_id"]
        down = subprocess.run([HARNESS, "down", run_id], capture_output=True, text=True, timeout=60, env=env)
    assert down.returncode == 0 and f"cluster {run_id} is down" in down.stdout, down.stdout + down.stderr
    assert leftovers(tmp_path) == []
    again = subprocess.run([HARNESS, "down"], capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 254 and "no cluster started by harness up" in again.stderr


def test_leave_db_running_keeps_the_cluster_until_down(tmp_path, env):
    cp, run = harness_test(tmp_path, env, "--workload", "set", "--nodes", "2", "--time-limit", "1",
                           "--recovery-time", "0", "--leave-db-running")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "leaving the cluster running" in cp.stderr and "harness down" in cp.stderr
    assert leftovers(tmp_path)
    down = subprocess.run([HARNESS, "down"], capture_output=True, text=True, timeout=60, env=env)
    assert down.returncode == 0, down.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("args,message", [
    (["--workload", "nope"], "Invalid value for '--workload'"),
    (["--workload", "set", "--nemesis", "flood"], "unknown nemesis 'flood'"),
    (["--workload", "set", "--nodes", "0"], "Invalid value for '--nodes'"),
    (["--workload", "set", "--concurrency", "2x"], "expected a number like 10"),
    (["--workload", "set", "--defect", "nope"], "unknown defect 'nope'"),
    (["--workload", "set", "--nemesis", "partition", "--partition-kinds", "zigzag"], "'zigzag' is not one of"),
    (["--workload", "set", "--kill-targets", "one"], "--kill-targets is an option of nemesis kill"),
    (["--workload", "set", "--nemesis", "kill", "--kill-targets", "n9"], "this cluster has n1, n2, n3, n4, n5"),
    (["--workload", "set", "--nemesis", "flood,kill"], "unknown nemesis 'flood'"),
    (["--workload", "set", "--nodes", "3", "--replication-factor", "4"], "is more than --nodes"),
])
def test_bad_arguments_exit_254_with_one_line(tmp_path, env, args, message):
    cp, _ = harness_test(tmp_path, env, *args, timeout=30)
    assert cp.returncode == 254, cp.stdout + cp.stderr
    assert message in cp.stderr and "Traceback" not in cp.stderr
    assert leftovers(tmp_path) == []


def test_preferred_clients_fail_over_from_a_killed_primary_unless_writes_are_refused(tmp_path, env):
    base = ["--workload", "set", "--nemesis", "kill", "--client-mode", "preferred", "--nodes", "3",
            "--time-limit", "6", "--nemesis-interval", "3", "--recovery-time", "1", "--seed", "6"]
    cp, run = harness_test(tmp_path, env, *base, "--failover-writes", "allow")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "--client-mode preferred --failover-writes allow" in json.loads((run / "test.json").read_text())["reproduce"]
    history = [json.loads(l) for l in (run / "history.jsonl").read_text().splitlines()]
    killed = {n for e in history if e["f"] == "start-kill" and e["type"] == "info" for n in e["value"]["nodes"]}
    adds = [e for e in history if e["f"] == "add" and e["type"] in ("ok", "fail")]
    served = {e["node"] for e in adds if e["type"] == "ok"}
    assert killed and len(served) > 1, served  # the primary (n1) and whoever took over
    assert not [e for e in adds if e["type"] == "fail" and "refused" in (e["error"] or "")]
    assert leftovers(tmp_path) == []

    # refuse: writes go to the primary only, and fail while it is down; nothing acknowledged is lost
    cp, run = harness_test(tmp_path, env, *base, "--failover-writes", "refuse")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    history = [json.loads(l) for l in (run / "history.jsonl").read_text().splitlines()]
    adds = [e for e in history if e["f"] == "add" and e["type"] in ("ok", "fail")]
    assert {e["node"] for e in adds if e["type"] == "ok"} == {"n1"}
    if "n1" in {n for e in history if e["f"] == "start-kill" and e["type"] == "info" for n in e["value"]["nodes"]}:
        assert any("read-only while it is unreachable" in (e["error"] or "") for e in adds if e["type"] == "fail")
    assert leftovers(tmp_path) == []


REGISTER = ["--workload", "register", "--nemesis", "partition", "--nodes", "5", "--time-limit", "12",
            "--nemesis-interval", "4", "--recovery-time", "2"]


def test_register_under_partition_on_a_correct_server_is_linearizable(tmp_path, env):
    cp, run = harness_test(tmp_path, env, *REGISTER, "--seed", "3")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lin = results(run)["results"]["linearizable"]
    assert lin["valid"] is True and lin["model"] == "cmpxchg"
    assert leftovers(tmp_path) == []


def test_bank_cluster_wide_under_partition_keeps_the_total(tmp_path, env):
    cp, run = harness_test(tmp_path, env, "--workload", "bank", "--txn-mode", "cluster-wide", "--nemesis",
                           "partition", "--seed", "1", *FAST)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    bank = results(run)["results"]["bank"]
    assert bank["valid"] is True and bank["read_count"] > 0
    assert leftovers(tmp_path) == []


# A node only takes the no-quorum path once it has lost its leader, and its
# workers may be stuck up to a request timeout (5 s) in calls made before: the
# partition must outlast that, and leave a minority.
LONG_MINORITY_PARTITIONS = ["--time-limit", "18", "--nemesis-interval", "16", "--partition-kinds", "halves,isolated"]


# cmpxchg-without-quorum is also caught by the engineer pool in the default run.
@pytest.mark.parametrize("defect", [pytest.param("cmpxchg-without-quorum", marks=pytest.mark.slow),
                                    "stale-linearizable-reads"])
def test_cluster_defects_are_caught_by_register(tmp_path, env, defect):
    for seed in (1, 2, 3):
        cp, run = harness_test(tmp_path, env, *REGISTER, *LONG_MINORITY_PARTITIONS, "--seed", str(seed),
                               "--defect", defect)
        if cp.returncode == 1:
            break
    assert cp.returncode == 1, cp.stdout + cp.stderr
    lin = results(run)["results"]["linearizable"]
    assert lin["valid"] is False and lin["op"] and lin["explanation"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("workload", [
    ["--workload", "set"],
    pytest.param(["--workload", "bank", "--txn-mode", "cluster-wide"], marks=pytest.mark.slow),
])
def test_a_database_on_three_of_five_nodes_stays_valid_under_partition_and_kill(tmp_path, env, workload):
    """Replication factor 3 of 5 (issue 13): the harness sends clients to the database's group, the
    other two nodes answer 410 and still take part in Raft, partitions and kills."""
    cp, run = harness_test(tmp_path, env, *workload, "--nemesis", "partition,kill", "--replication-factor", "3",
                           "--seed", "4", *FAST)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "database on n1, n2, n3 only" in cp.stdout + cp.stderr
    ops = [e for e in history(run) if e["process"] != "nemesis" and e["type"] == "ok"]
    assert ops and {e["node"] for e in ops} <= {"n1", "n2", "n3"}  # every answer came from the group
    if workload[1] == "set":
        assert {e["node"] for e in ops if e["f"] == "final-read"} == {"n1", "n2", "n3"}
    assert json.loads((run / "test.json").read_text())["replication_factor"] == 3
    assert leftovers(tmp_path) == []
