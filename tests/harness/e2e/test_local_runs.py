"""`harness test --runtime local`: servers on loopback addresses, process and clock faults, and
network faults refused before anything starts."""

from support.harness_runs import harness_test, leftovers, recheck, results


def test_register_under_kill_and_pause_on_loopback_is_valid_and_leaves_nothing(tmp_path, env):
    cp, run = harness_test(tmp_path, env, "--runtime", "local", "--workload", "register", "--nemesis", "kill,pause",
                           "--nodes", "3", "--time-limit", "8", "--nemesis-interval", "3", "--recovery-time", "2",
                           "--seed", "1")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "setting up 3 nodes (local)" in cp.stderr and "=http://127." in cp.stderr  # progress goes to stderr
    assert "--runtime local" in cp.stdout  # the reproduce command
    r = results(run)
    assert r["results"]["linearizable"]["valid"] is True
    faults = (run / "faults.jsonl").read_text()
    assert '"kill"' in faults and '"pause"' in faults
    assert (run / "nodes" / "n1" / "server.log").stat().st_size > 0
    assert recheck(run, env) == 0
    assert leftovers(tmp_path) == []


def test_partitions_are_refused_on_loopback_before_any_server_starts(tmp_path, env):
    cp, _ = harness_test(tmp_path, env, "--runtime", "local", "--workload", "register", "--nemesis", "partition",
                         "--nodes", "3", "--time-limit", "5", timeout=60)
    assert cp.returncode == 255
    assert "share this machine's network stack" in cp.stderr + cp.stdout and "--runtime netns" in cp.stderr + cp.stdout
    assert "Traceback" not in cp.stderr
    assert leftovers(tmp_path) == []
