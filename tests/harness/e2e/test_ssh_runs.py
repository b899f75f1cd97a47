"""`--runtime ssh` (issue 17) against `harness lab` hosts: namespaces each running a real sshd,
logged into with paramiko. The same workloads and nemeses as on namespaces, a defect caught, first-run
errors that name the node and the fix, and nothing left behind, even after a SIGKILL of the harness."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from support.harness_runs import HARNESS, caught_within, harness_test, results, start_harness

pytestmark = [pytest.mark.timeout(900)]
REMOTE = Path("/var/lib/unkindness/runs")


@pytest.fixture(params=["root"])
def lab(request, tmp_path, env):
    """Three SSH hosts on this machine, logged into as root (or, with the "sudo" param, as a user of
    the lab's own through passwordless sudo); removed, and checked gone, after the test."""
    extra = ["--sudo-login"] if request.param == "sudo" else []
    cp = subprocess.run([HARNESS, "lab", "up", "--nodes", "3", "--dir", str(tmp_path / "lab"), *extra],
                        capture_output=True, text=True, timeout=60, env=env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lab_id = next(line.split()[1] for line in cp.stdout.splitlines() if line.startswith("lab "))
    yield tmp_path / "lab"
    subprocess.run([HARNESS, "lab", "down"], capture_output=True, text=True, timeout=60, env=env)
    assert not (tmp_path / "lab").exists()
    assert f"uk{lab_id}" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert subprocess.run(["id", f"uk{lab_id}"], capture_output=True).returncode != 0  # no lab user left
    assert not Path(f"/etc/sudoers.d/uk{lab_id}").exists()


def ssh_args(lab: Path) -> list[str]:
    return ["--runtime", "ssh", "--nodes-file", str(lab / "nodes.txt"), "--nodes", "3"]


def left_on_hosts(lab: Path, run_id: str) -> list[str]:
    """The run's folders, servers and iptables chains still on the lab's hosts."""
    found = [str(p) for p in REMOTE.glob(f"{run_id}-*")]
    for ns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split():
        if not ns.startswith("uk") or "-n" not in ns:
            continue
        rules = subprocess.run(["ip", "netns", "exec", ns, "iptables", "-S"], capture_output=True, text=True).stdout
        if "UNKINDNESS" in rules and ns.split("-")[0][2:] in (lab / ".unkindness-lab").read_text():
            found.append(f"iptables chain in {ns}")
    procs = subprocess.run(["pgrep", "-f", f"unkindness-server.*{run_id}-n"], capture_output=True, text=True)
    return found + [f"pid {p}" for p in procs.stdout.split()]


def test_an_ssh_run_under_partition_and_kill_is_valid_and_leaves_nothing(tmp_path, env, lab):
    cp, run = harness_test(tmp_path, env, *ssh_args(lab), "--workload", "register", "--nemesis", "partition,kill",
                           "--time-limit", "10", "--nemesis-interval", "4", "--recovery-time", "2", "--seed", "2",
                           timeout=800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    test = json.loads((run / "test.json").read_text())
    assert test["runtime"] == "ssh" and "--runtime ssh" in test["reproduce"]
    assert f"--nodes-file {lab / 'nodes.txt'}" in test["reproduce"]
    kinds = {json.loads(line)["kind"] for line in (run / "faults.jsonl").read_text().splitlines()}
    assert kinds == {"partition", "kill"}
    log = (run / "nodes" / "n1" / "server.log").read_text()
    assert '"msg": "ready"' in log and f"/var/lib/unkindness/runs/{test['run_id']}-n1/data" in log  # fetched
    assert left_on_hosts(lab, test["run_id"]) == []


@pytest.mark.parametrize("lab", ["sudo"], indirect=True)
def test_a_login_that_is_not_root_runs_every_command_through_sudo(tmp_path, env, lab):
    login = (lab / "nodes.txt").read_text().split("\n")[1].split("@")[0]
    assert login.startswith("uk")  # a user of the lab's own; sshd refuses root in this lab
    cp, run = harness_test(tmp_path, env, *ssh_args(lab), "--workload", "register", "--nemesis",
                           "partition,kill,clock", "--time-limit", "8", "--nemesis-interval", "3",
                           "--recovery-time", "2", "--seed", "4", timeout=800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    kinds = {json.loads(line)["kind"] for line in (run / "faults.jsonl").read_text().splitlines()}
    assert kinds == {"partition", "kill", "clock"}  # iptables, signals and the offset file, all as root
    test = json.loads((run / "test.json").read_text())
    assert left_on_hosts(lab, test["run_id"]) == []


def test_a_raft_defect_is_caught_over_ssh_as_on_namespaces(tmp_path, env, lab):
    cp, run = caught_within(tmp_path, env, [*ssh_args(lab), "--workload", "register", "--nemesis", "kill",
                                            "--kill-targets", "all,majority", "--nemesis-interval", "3",
                                            "--time-limit", "12", "--recovery-time", "2",
                                            "--defect", "raft-ack-before-fsync"])
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert results(run)["results"]["linearizable"]["valid"] is False


def test_a_harness_killed_mid_fault_over_ssh_leaves_nothing_after_clean(tmp_path, env, lab):
    proc, _ = start_harness(tmp_path, env, *ssh_args(lab), "--workload", "set", "--nemesis",
                            "partition,pause,packet,clock", "--time-limit", "60", "--nemesis-interval", "2",
                            "--seed", "3")
    time.sleep(1.6)  # every fault is active for the second half of each 2 s cycle
    proc.kill()
    proc.wait()
    run_id = json.loads((tmp_path / "results" / "latest" / "test.json").read_text())["run_id"]
    assert left_on_hosts(lab, run_id), "a SIGKILLed harness leaves its servers behind until clean"
    cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=120, env=env)
    assert cp.returncode == 0, cp.stderr
    assert f"removed folder /var/lib/unkindness/runs/{run_id}-n1 on n1" in cp.stdout
    assert "removed server pid" in cp.stdout and "removed lab folder" in cp.stdout  # the lab goes too
    assert left_on_hosts(lab, run_id) == [] and not lab.exists()


def first_run_error(tmp_path, env, nodes_file: Path, *extra: str) -> str:
    cp, _ = harness_test(tmp_path, env, "--runtime", "ssh", "--nodes-file", str(nodes_file), "--nodes", "1",
                         "--workload", "register", "--time-limit", "1", *extra, timeout=300)
    assert cp.returncode == 255, cp.stdout + cp.stderr
    assert "Traceback" not in cp.stderr
    return cp.stderr


def test_first_run_errors_name_the_node_what_failed_and_the_fix(tmp_path, env, lab):
    ip = (lab / "nodes.txt").read_text().split("root@")[1].split()[0]
    wrong_key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
    cases = {
        f"root@{ip} key={wrong_key} known_hosts={lab / 'known_hosts'}":
            f"n1 (root@{ip}:22): authentication failed for user root with key {wrong_key}; check --ssh-user / --ssh-key",
        f"root@{ip} key={lab / 'id_ed25519'} known_hosts={tmp_path / 'empty_known_hosts'}":
            "its host key is not known",
        f"root@{ip}:2222 key={lab / 'id_ed25519'} known_hosts={lab / 'known_hosts'}":
            "cannot connect (Connection refused); is sshd running on port 2222?",
        "root@no-such-host.invalid": "n1 (root@no-such-host.invalid:22): host name not found: no-such-host.invalid",
    }
    for line, message in cases.items():
        f = tmp_path / "nodes.txt"
        f.write_text(line + "\n")
        assert message in first_run_error(tmp_path, env, f), line
    (tmp_path / "nodes.txt").write_text(f"root@{ip}\n")  # the flags give what the line does not
    err = first_run_error(tmp_path, env, tmp_path / "nodes.txt", "--ssh-key", str(lab / "id_ed25519"),
                          "--ssh-known-hosts", str(tmp_path / "empty_known_hosts"))
    assert f"ssh-keyscan {ip} >> {tmp_path / 'empty_known_hosts'}" in err and "--ssh-accept-new-host-keys" in err
    # accepting new keys: the run goes on, and the key is remembered
    cp, _ = harness_test(tmp_path, env, "--runtime", "ssh", "--nodes-file", str(tmp_path / "nodes.txt"),
                         "--nodes", "1", "--ssh-key", str(lab / "id_ed25519"), "--ssh-known-hosts",
                         str(tmp_path / "new_known_hosts"), "--ssh-accept-new-host-keys", "--workload", "register",
                         "--time-limit", "2", "--recovery-time", "1", timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert ip in (tmp_path / "new_known_hosts").read_text()
