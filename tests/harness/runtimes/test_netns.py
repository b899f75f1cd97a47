import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from unkindness.harness.resources import Journal, journals, new_run_id
from unkindness.harness.runtimes.netns import NetnsRuntime, list_links, list_netns

HARNESS = str(Path(sys.executable).with_name("harness"))

pytestmark = pytest.mark.usefixtures("netns_required")  # every test here runs real namespaces


def http_server(node, tmp_path):
    pid = node.start([sys.executable, "-m", "http.server", "--bind", node.ip, "8000"],
                     tmp_path / f"{node.name}.log")
    return pid


def reachable(url, timeout=0.5):
    try:
        urllib.request.urlopen(url, timeout=timeout).read()
        return True
    except OSError:
        return False


def wait_reachable(url, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reachable(url):
            return True
        time.sleep(0.05)
    return False


def fetch_from(node, url):
    code = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=0.5).read()"
    return node.exec([sys.executable, "-c", code], check=False, timeout=10).returncode == 0


def ours(run_id):
    return [n for n in list_netns() + list_links() if f"uk{run_id}" in n]


def test_nodes_talk_through_the_bridge_and_iptables_inside_a_namespace_cuts_one_path(tmp_path, state_dir):
    rt = NetnsRuntime(new_run_id(), 3)
    try:
        rt.setup()
        assert len(ours(rt.run_id)) == 3 + 3 + 1  # namespaces, host veths, bridge
        for node in rt.nodes:
            http_server(node, tmp_path)
        n1, n2, n3 = rt.nodes
        for node in rt.nodes:
            assert wait_reachable(f"http://{node.ip}:8000/"), node
        assert fetch_from(n1, f"http://{n2.ip}:8000/")
        n2.exec(["iptables", "-A", "INPUT", "-s", n1.ip, "-j", "DROP"])
        assert not fetch_from(n1, f"http://{n2.ip}:8000/")
        assert fetch_from(n3, f"http://{n2.ip}:8000/")
        assert reachable(f"http://{n2.ip}:8000/")  # the harness's own path is untouched
        assert n2.signal(signal.SIGSTOP) and not reachable(f"http://{n2.ip}:8000/", 0.3)
        n2.signal(signal.SIGCONT)
        n3.kill()
        assert not n3.running()
    finally:
        removed = rt.teardown()
    assert ours(rt.run_id) == []
    assert any("namespace" in r for r in removed)
    assert not journals(state_dir)


def test_harness_clean_removes_everything_after_the_creator_is_killed_with_sigkill(tmp_path, state_dir):
    run_id = new_run_id()
    script = f"""
import sys, time
from pathlib import Path
from unkindness.harness.runtimes.netns import NetnsRuntime
rt = NetnsRuntime({run_id!r}, 2)
rt.setup()
for n in rt.nodes:
    n.start([sys.executable, "-m", "http.server", "--bind", n.ip, "8000"], Path({str(tmp_path)!r}) / (n.name + ".log"))
    n.exec(["iptables", "-A", "INPUT", "-p", "tcp", "--dport", "9", "-j", "DROP"])
print("ready", " ".join(str(n.proc.pid) for n in rt.nodes), flush=True)
time.sleep(600)
"""
    creator = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)})
    line = creator.stdout.readline().split()
    assert line and line[0] == "ready", "the creator did not set up its runtime"
    server_pids = [int(p) for p in line[1:]]
    creator.send_signal(signal.SIGKILL)
    creator.wait()
    assert len(ours(run_id)) == 5 and all(Path(f"/proc/{p}").exists() for p in server_pids)

    cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60,
                        env={**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)})
    assert cp.returncode == 0, cp.stderr
    assert f"namespace uk{run_id}-n1" in cp.stdout and f"link uk{run_id}-br" in cp.stdout
    time.sleep(0.2)
    assert ours(run_id) == []
    for pid in server_pids:
        assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    again = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)})
    assert "nothing to remove" in again.stdout


def test_clean_finds_our_names_even_without_a_journal(state_dir):
    run_id = new_run_id()
    rt = NetnsRuntime(run_id, 1, journal=Journal(run_id, state_dir / "elsewhere"))
    rt.setup()
    try:
        cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)})
        assert f"namespace uk{run_id}-n1 (and its iptables rules) (no journal)" in cp.stdout
        assert ours(run_id) == []
    finally:
        rt.teardown()


def test_clean_leaves_alone_a_run_journaled_elsewhere_while_its_harness_lives(state_dir, tmp_path):
    """Another state directory's run (another user, a CI job beside this one) is not an orphan
    while the process that started its servers is alive; once that harness is gone, it is."""
    run_id = new_run_id()
    rt = NetnsRuntime(run_id, 1, journal=Journal(run_id, state_dir / "elsewhere"))
    rt.setup()
    try:
        rt.nodes[0].start(["sleep", "600"], tmp_path / "sleep.log")  # its parent: this live test process
        cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)})
        assert cp.returncode == 0 and f"uk{run_id}" not in cp.stdout and len(ours(run_id)) == 3
    finally:
        rt.teardown()


def test_clean_leaves_a_live_run_alone_unless_forced(state_dir):
    run_id = new_run_id()
    script = f"""
import time
from unkindness.harness.runtimes.netns import NetnsRuntime
rt = NetnsRuntime({run_id!r}, 1)
rt.setup()
print("ready", flush=True)
time.sleep(600)
"""
    env = {**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)}
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert owner.stdout.readline().strip() == "ready"
        cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=60, env=env)
        assert f"skipped run {run_id} is still running (harness pid {owner.pid})" in cp.stdout
        assert len(ours(run_id)) == 3
        cp = subprocess.run([HARNESS, "clean", "--force"], capture_output=True, text=True, timeout=60, env=env)
        assert f"removed namespace uk{run_id}-n1" in cp.stdout and ours(run_id) == []
    finally:
        owner.kill()
        owner.wait()
