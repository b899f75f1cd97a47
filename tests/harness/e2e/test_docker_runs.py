"""`--runtime docker` (issue 17): a container per node from the Dockerfile, the same workloads and
nemeses as on namespaces, and nothing left behind, even after a SIGKILL of the harness."""

import json
import subprocess
import time

import pytest

from support.harness_runs import HARNESS, harness_test, results, start_harness
from support.docker_engine import BASE_IMAGE, ensure_base_image, ensure_engine

DOCKER = ["--runtime", "docker", "--docker-base-image", BASE_IMAGE]
pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture(scope="module", autouse=True)
def engine():
    why = ensure_engine()
    assert why is None, why  # make test installs docker.io: an engine must come up here
    ensure_base_image()


def ours(run_id: str) -> list[str]:
    """Containers and networks of one run, by its label."""
    out = []
    for kind in ("ps -a", "network ls"):
        cp = subprocess.run(["docker", *kind.split(), "-q", "--filter", f"label=unkindness.run={run_id}"],
                            capture_output=True, text=True, timeout=30)
        out += cp.stdout.split()
    return out


def test_a_docker_run_under_partition_and_kill_is_valid_and_leaves_nothing(tmp_path, env):
    cp, run = harness_test(tmp_path, env, *DOCKER, "--workload", "register", "--nemesis", "partition,kill",
                           "--nodes", "3", "--time-limit", "10", "--nemesis-interval", "4", "--recovery-time", "2",
                           "--seed", "2", timeout=800)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    test = json.loads((run / "test.json").read_text())
    assert test["runtime"] == "docker" and test["runtime_options"]["docker_base_image"] == BASE_IMAGE
    assert "--runtime docker" in test["reproduce"] and f"--docker-base-image {BASE_IMAGE}" in test["reproduce"]
    faults = {}  # the last record of each fault
    for line in (run / "faults.jsonl").read_text().splitlines():
        faults[json.loads(line)["id"]] = json.loads(line)
    assert {f["kind"] for f in faults.values()} == {"partition", "kill"}
    assert all(f["healed_at"] for f in faults.values())
    log = (run / "nodes" / "n1" / "server.log").read_text()
    assert '"msg": "ready"' in log and "/var/lib/unkindness/data" in log  # fetched from the container
    assert ours(test["run_id"]) == []


def test_a_defect_is_caught_on_docker_as_on_namespaces(tmp_path, env):
    cp, run = harness_test(tmp_path, env, *DOCKER, "--workload", "set", "--nemesis", "kill", "--defect",
                           "ack-before-fsync", "--nodes", "3", "--time-limit", "10", "--nemesis-interval", "2",
                           "--recovery-time", "2", "--seed", "1", timeout=800)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert "lost" in results(run)["results"]["set"]["summary"]


def test_a_harness_killed_mid_fault_on_docker_leaves_nothing_after_clean(tmp_path, env):
    proc, _ = start_harness(tmp_path, env, *DOCKER, "--workload", "set", "--nemesis", "partition,pause,packet,clock",
                            "--nodes", "3", "--time-limit", "60", "--nemesis-interval", "2", "--seed", "3")
    time.sleep(1.6)  # every fault is active for the second half of each 2 s cycle
    proc.kill()
    proc.wait()
    run_id = json.loads((tmp_path / "results" / "latest" / "test.json").read_text())["run_id"]
    assert ours(run_id), "a SIGKILLed harness leaves its containers behind until clean"
    cp = subprocess.run([HARNESS, "clean"], capture_output=True, text=True, timeout=120, env=env)
    assert cp.returncode == 0, cp.stderr
    assert f"removed container uk{run_id}-n1" in cp.stdout and f"removed network uk{run_id}-net" in cp.stdout
    assert ours(run_id) == []


def test_a_base_image_that_is_not_here_is_refused_with_the_fix(tmp_path, env):
    cp, _ = harness_test(tmp_path, env, "--runtime", "docker", "--docker-base-image", "unkindness-nope:absent",
                         "--workload", "set", "--nodes", "1", "--time-limit", "1", timeout=300)
    assert cp.returncode == 255, cp.stdout + cp.stderr
    assert "make docker-base" in cp.stderr and "Traceback" not in cp.stderr
