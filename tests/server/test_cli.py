"""The ``unkindness-server`` command line: bad arguments, --help, start-up
time, clean SIGTERM, JSON logs."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests

from unkindness.server.defects import DEFECTS

pytestmark = pytest.mark.timeout(60)
SERVER = [sys.executable, "-m", "unkindness.server.cli"]


@pytest.mark.parametrize("args, fragment", [
    ([], "required"),
    (["--url", "localhost:80", "--data-dir", "{d}"], "must look like http://HOST:PORT"),
    (["--url", "http://127.0.0.1:1", "--data-dir", "{d}", "--defect", "nope"], "valid defects: ack-before-fsync"),
    (["--url", "http://127.0.0.1:1", "--data-dir", "{d}", "--tag", "a-b"], "--tag"),
    (["--url", "http://127.0.0.1:1", "--data-dir", "{d}", "--peer", "B=http://127.0.0.1:2"],
     "unrecognized arguments: --peer"),
    (["--url", "http://127.0.0.1:1", "--data-dir", "/proc/forbidden"], "not a writable directory"),
    (["--url", "http://127.0.0.1:1", "--data-dir", "{d}", "--clock-offset-ms", "soon"], "invalid int"),
])
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, args, fragment) -> None:
    args = [a.replace("{d}", str(tmp_path)) for a in args]
    r = subprocess.run(SERVER + args, capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert fragment in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_help_documents_every_defect() -> None:
    r = subprocess.run(SERVER + ["--help"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0
    for name in DEFECTS:
        assert name in r.stdout
    assert "stderr" in r.stdout  # says where the logs go


def test_starts_fast_stops_cleanly_and_logs_json(tmp_path) -> None:
    from support.server_procs import free_port
    port = free_port("127.0.0.9")
    url = f"http://127.0.0.9:{port}"
    log = open(tmp_path / "log", "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen(SERVER + ["--url", url, "--data-dir", str(tmp_path / "d"), "--tag", "B"],
                            stderr=log, stdout=log)
    try:
        while True:
            try:
                requests.get(url + "/build/version", timeout=0.2)
                break
            except requests.RequestException:
                assert time.monotonic() - t0 < 30
                time.sleep(0.01)
        # start-up time itself is measured in benchmarks/server_throughput.py, not asserted here
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
    lines = [json.loads(line) for line in (tmp_path / "log").read_text().splitlines()]
    assert [e["msg"] for e in lines][0] == "ready" and lines[-1]["msg"] == "stopped"
    assert all(e["node"] == "B" for e in lines)


def test_port_in_use_is_a_clean_error(tmp_path, start_cluster) -> None:
    node = start_cluster(1).nodes[0]
    r = subprocess.run(SERVER + ["--url", node.url, "--data-dir", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "cannot listen" in r.stderr and "Traceback" not in r.stderr


def test_every_node_of_a_replicating_cluster_stops_promptly_on_sigterm(start_cluster) -> None:
    """All nodes told to stop at once, as `harness down` does: peers close the replication and Raft
    connections while each node stops. (A sender woken by its closing connection as it was cancelled
    once swallowed the cancel and reconnected forever, so the node never exited.)"""
    cluster = start_cluster(3)
    cluster.create_database("db")
    with cluster.store("db") as store, store.open_session() as session:
        session.store({"Name": "x"}, "users/1")
        session.save_changes()
    time.sleep(1.0)  # every replication connection up and idle
    started = time.monotonic()
    for node in cluster.nodes:
        node.proc.terminate()
    for node in cluster.nodes:
        assert node.proc.wait(timeout=10) == 0, node.logs()[-1500:]
    assert time.monotonic() - started < 5.0
