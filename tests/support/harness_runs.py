"""Running `harness test` as a user would, from the end-to-end tests: the command, its results
folder, a defect caught within a few seeds, a stored run re-checked, and what a run left behind."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

HARNESS = str(Path(sys.executable).with_name("harness"))


def leftovers(root: Path) -> list[str]:
    """Namespaces, links and server processes still present from the runs under `root`.

    Scoped by the runs' ids (test.json) and by their folder in the servers'
    command lines, so other runs on the machine do not count.
    """

    ids = set()
    for tj in [*Path(root).rglob("test.json"), *Path(root).rglob("cluster.json")]:
        try:
            ids.add(json.loads(tj.read_text()).get("run_id"))
        except ValueError:
            continue
    ids.discard(None)
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names += [l.split(":")[1].strip().split("@")[0] for l in links.splitlines()]
    found = [n for n in names if any(n.startswith(f"uk{i}") for i in ids)]
    procs = subprocess.run(["pgrep", "-f", f"unkindness-server.*{root}"], capture_output=True, text=True).stdout.split()
    return found + [f"pid {p}" for p in procs]


def harness_test(tmp_path, env, *args, timeout=240):
    """`harness test ARGS` into tmp_path/results: (completed process, results/latest)."""
    cp = subprocess.run([HARNESS, "test", "--results-dir", str(tmp_path / "results"), *args],
                        capture_output=True, text=True, timeout=timeout, env=env)
    run_dir = tmp_path / "results" / "latest"
    return cp, run_dir


def results(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def history(run_dir) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]


def caught_within(tmp_path, env, args, seeds=(1, 2, 3)):
    """Runs the configuration with each seed until one ends INVALID; returns that run's (cp, dir)."""
    for seed in seeds:
        cp, run = harness_test(tmp_path, env, *args, "--seed", str(seed))
        if cp.returncode == 1:
            break
    return cp, run


def recheck(target, env) -> int:
    """`harness check` on a stored run (its folder, or one of its history files): the exit code,
    the verdict again from test.json alone."""
    cp = subprocess.run([HARNESS, "check", str(target), "--quiet"], capture_output=True, text=True, timeout=240,
                        env=env)
    return cp.returncode


def start_harness(tmp_path, env, *args):
    """`harness test ARGS` in the background, returned once its main phase has begun."""
    proc = subprocess.Popen([HARNESS, "test", "--results-dir", str(tmp_path / "results"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "main phase" in line:
            return proc, lines
    proc.kill()
    pytest.fail("the run never reached its main phase:\n" + "".join(lines))
