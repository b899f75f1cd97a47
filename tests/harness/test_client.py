"""The harness's HTTP client against a real server process: what counts as
applied, not applied, or unknown, and that it ignores proxy settings."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests

from unkindness.harness.client import Definite, Indeterminate, NodeAddress, NodeClient, put_command

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "unkindness.server.cli", "--url", url, "--data-dir",
                             str(tmp_path / "data"), "--log-file", str(tmp_path / "node.log")])
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url + "/cluster/topology", timeout=1)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.05)
    requests.put(url + "/admin/databases?name=db", json={"DatabaseName": "db"}, timeout=10).raise_for_status()
    yield url, proc
    proc.kill()
    proc.wait()


def test_writes_reads_and_what_a_failure_means(server, monkeypatch) -> None:
    url, proc = server
    # a proxy in the environment must not be used for the private test network
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    c = NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0)
    c.batch([put_command("things/1", {"v": 1}, "Things", "")])
    assert c.answered_by == "n1"
    docs = c.load(["things/1", "things/2"])
    assert docs["things/1"]["v"] == 1 and docs["things/2"] is None
    assert set(c.all_documents()) == {"things/1"}
    # "" = must not exist: the second insert is a definite failure (409, not applied)
    with pytest.raises(Definite) as e:
        c.batch([put_command("things/1", {"v": 2}, "Things", "")])
    assert "Concurrency" in str(e.value)
    assert c.load(["things/1"])["things/1"]["v"] == 1
    # a missing database is not a missing document
    with pytest.raises(Definite) as e:
        NodeClient(NodeAddress("n1", url, "A"), "nope").load(["things/1"])
    assert "does not exist" in str(e.value)
    # a bad request is definite too
    with pytest.raises(Definite):
        c.request("POST", "/databases/db/bulk_docs", body={"Commands": "nope"})
    # a paused server: a write may or may not have happened, a read simply failed
    proc.send_signal(19)  # SIGSTOP
    try:
        with pytest.raises(Indeterminate):
            c.batch([put_command("things/3", {"v": 3}, "Things", "")])
        with pytest.raises(Definite):
            c.load(["things/1"])
    finally:
        proc.send_signal(18)  # SIGCONT
    proc.kill()
    proc.wait()
    with pytest.raises(Definite) as e:  # nobody listening: certainly not applied
        c.batch([put_command("things/4", {"v": 4}, "Things", "")])
    assert "refused" in str(e.value)
