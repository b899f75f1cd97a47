"""The local runtime: servers as plain processes on loopback addresses, journaled so that nothing
outlives a run, even when the harness is killed."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unkindness.harness.resources import journals, new_run_id
from unkindness.harness.runtimes.base import RuntimeError_
from unkindness.harness.runtimes.local import PORT, LocalRuntime, pick_addresses

HARNESS = str(Path(sys.executable).with_name("harness"))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_addresses_are_loopback_and_a_taken_port_moves_the_run_to_the_next_block():
    run_id = new_run_id()
    first = pick_addresses(run_id, 3)
    assert all(a.startswith("127.") for a in first) and len(set(first)) == 3
    with socket.socket() as busy:
        busy.bind((first[1], PORT))
        busy.listen()
        moved = pick_addresses(run_id, 3)
    assert moved[0].rsplit(".", 1)[0] != first[0].rsplit(".", 1)[0] and first[1] not in moved


def test_a_subnet_outside_loopback_is_refused_with_the_reason():
    with pytest.raises(RuntimeError_, match="not loopback"):
        pick_addresses(new_run_id(), 2, "10.9.0.0/24")
    with pytest.raises(RuntimeError_, match="--subnet 'x'"):
        pick_addresses(new_run_id(), 2, "x")


def test_nodes_run_signal_and_stop_and_teardown_forgets_the_run(tmp_path, state_dir):
    rt = LocalRuntime(new_run_id(), 2, run_dir=tmp_path)
    rt.setup()
    try:
        a, b = rt.nodes
        assert not a.own_network and a.data_dir == str(tmp_path / "nodes" / "n1" / "data")
        for n in rt.nodes:
            n.start([sys.executable, "-c", "import time; print('up', flush=True); time.sleep(600)"])
        log = Path(a.log_file)
        deadline = time.monotonic() + 10
        while "up" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "up" in log.read_text()  # its output goes to the node's log
        assert a.signal(signal.SIGSTOP)
        time.sleep(0.1)
        assert Path(f"/proc/{a.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"
        assert a.stop(timeout=5) == -signal.SIGTERM  # a paused server is continued, then stops
        b.kill()
        assert not b.running() and not b.signal(signal.SIGTERM)
        assert a.exec(["sh", "-c", "echo $0"], check=False).stdout.strip() == "sh"  # on this machine
    finally:
        rt.teardown()
    assert not journals(state_dir)


def test_harness_clean_stops_the_servers_of_a_harness_killed_with_sigkill(tmp_path, state_dir):
    run_id = new_run_id()
    script = f"""
import sys, time
from pathlib import Path
from unkindness.harness.runtimes.local import LocalRuntime
rt = LocalRuntime({run_id!r}, 2, run_dir=Path({str(tmp_path)!r}))
rt.setup()
for n in rt.nodes:
    n.start([sys.executable, "-m", "http.server", "--bind", n.ip, "8000"])
print("ready", " ".join(str(n.proc.pid) for n in rt.nodes), flush=True)
time.sleep(600)
"""
    env = {**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)}
    creator = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    line = creator.stdout.readline().split()
    assert line and line[0] == "ready", "the creator did not set up its runtime"
    pids = [int(p) for p in line[1:]]
    creator.send_signal(signal.SIGKILL)
    creator.wait()
    assert all(alive(p) for p in pids)  # the servers outlive their harness (their own session)

    cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60, env=env)
    assert cp.returncode == 0, cp.stderr
    assert all(f"process {p} (n" in cp.stdout for p in pids), cp.stdout
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in pids)
    again = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60, env=env)
    assert "nothing to remove" in again.stdout
