"""cart, list-append and engineer-pool end to end on 5 netns nodes: valid on a correct server,
each replication or cluster defect caught within 3 seeds, seed 000's failover modes, and every
results folder re-checked by `harness check` to the same verdict."""

from __future__ import annotations

import pytest

from support.harness_runs import caught_within, harness_test, history, leftovers, recheck, results

FIVE = ["--nodes", "5", "--time-limit", "12", "--nemesis-interval", "4", "--recovery-time", "3"]
CART = ["--workload", "cart", *FIVE]
LIST_APPEND = ["--workload", "list-append", *FIVE]
POOL = ["--workload", "engineer-pool", *FIVE]


def _valid(tmp_path, env, args):
    cp, run = harness_test(tmp_path, env, *args)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert recheck(run, env) == 0
    assert recheck(run / "history.edn", env) == 0  # Jepsen's format gives the same verdict
    assert leftovers(tmp_path) == []
    return run


def test_cart_on_a_correct_server_converges_and_keeps_every_item(tmp_path, env):
    run = _valid(tmp_path, env, [*CART, "--nemesis", "partition,kill", "--seed", "1"])
    r = results(run)["results"]
    assert r["convergence"]["valid"] is True and r["cart"]["valid"] is True
    fs = {e["f"] for e in history(run) if e["type"] == "ok"}
    assert {"add-item", "remove-item", "checkout", "final-read"} <= fs
    assert "ShoppingCart" in (run / "test.json").read_text()  # the solver went into the database record


@pytest.mark.parametrize("defect,checker", [
    pytest.param("ignore-change-vectors", "cart", marks=pytest.mark.slow),
    ("lose-tombstones", "convergence"),
])
def test_cart_catches_replication_defects(tmp_path, env, defect, checker):
    cp, run = caught_within(tmp_path, env, [*CART, "--nemesis", "partition", "--defect", defect])
    assert cp.returncode == 1, cp.stdout + cp.stderr
    r = results(run)["results"]
    assert r["convergence"]["valid"] is False and r[checker]["valid"] is False
    assert recheck(run, env) == 1 and recheck(run / "history.edn", env) == 1
    assert leftovers(tmp_path) == []


# Seed 000: the primary (n1) is killed for short spells; seeds 10, 11 and 14 kill it in the first two.
# Whether versions written on both sides meet depends on timing, so like a defect it gets three seeds.
FAILOVER = ["--workload", "cart", "--nemesis", "kill", "--nodes", "5", "--time-limit", "15",
            "--nemesis-interval", "3", "--recovery-time", "3", "--client-mode", "preferred"]
FAILOVER_SEEDS = (10, 11, 14)


def test_failover_writes_allowed_without_a_resolver_leave_conflicts_in_the_report(tmp_path, env):
    cp, run = caught_within(tmp_path, env, [*FAILOVER, "--failover-writes", "allow", "--resolver", "none"],
                            FAILOVER_SEEDS)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    r = results(run)
    assert r["results"]["convergence"]["conflicted_count"] > 0
    failover = r["results"]["cart"]["failover"]
    assert failover["failover_writes"] > 0 and failover["primary"] == "n1"
    assert "Seed 000 is this story" in r["note"] and "Seed 000 is this story" in cp.stdout
    html = (run / "report.html").read_text()
    assert "Failover (seed 000)" in html and "orphaned carts" in html and "(conflict)" in html
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_failover_writes_with_latest_wins_lose_acknowledged_items_and_refuse_loses_none(tmp_path, env):
    cp, run = caught_within(tmp_path, env, [*FAILOVER, "--failover-writes", "allow", "--resolver", "latest"],
                            FAILOVER_SEEDS)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    r = results(run)
    cart = r["results"]["cart"]
    assert cart["problem_count"] > 0 and cart["problems"][0]["op"]["f"] == "add-item"
    assert r["results"]["convergence"]["valid"] is True  # resolved, the same everywhere, items gone
    assert "latest-write-wins" in r["note"]
    assert "Lost items" in (run / "report.html").read_text()
    cp, run = harness_test(tmp_path, env, *FAILOVER, "--seed", "10", "--failover-writes", "refuse",
                           "--resolver", "latest")
    assert cp.returncode == 0, cp.stdout + cp.stderr  # read-only while the primary is away: nothing lost
    writes = [e for e in history(run) if e["f"] in ("add-item", "remove-item", "checkout") and e["type"] == "ok"
              and e["value"].get("removed") is not False]  # a removal that found nothing only read
    assert writes and {e["node"] for e in writes} == {"n1"}
    assert leftovers(tmp_path) == []


def test_list_append_single_node_is_valid_and_catches_split_transactions(tmp_path, env):
    run = _valid(tmp_path, env, [*LIST_APPEND, "--nemesis", "partition,kill", "--seed", "1"])
    r = results(run)["results"]
    assert r["origin-prefix"]["valid"] is True and r["origin-prefix"]["reads_checked"] > 100
    assert r["list-append"]["consistency_model"] == "read-committed"
    cp, run = caught_within(tmp_path, env, [*LIST_APPEND, "--nemesis", "partition", "--defect", "split-transactions"])
    assert cp.returncode == 1, cp.stdout + cp.stderr
    prefix = results(run)["results"]["origin-prefix"]
    assert prefix["valid"] is False and prefix["violations"][0]["kind"] in ("fractured", "out-of-order")
    assert recheck(run, env) == 1 and recheck(run / "history.edn", env) == 1
    assert leftovers(tmp_path) == []


def test_list_append_single_node_refuses_clients_that_are_not_pinned(tmp_path, env):
    cp, _ = harness_test(tmp_path, env, "--workload", "list-append", "--client-mode", "round-robin", timeout=30)
    assert cp.returncode == 254 and "needs --client-mode pinned" in cp.stderr


def test_engineer_pool_is_valid_under_partition_and_kill(tmp_path, env):
    run = _valid(tmp_path, env, [*POOL, "--nemesis", "partition,kill", "--seed", "1"])
    r = results(run)["results"]
    assert r["pool"]["claims"] > 20 and r["linearizable"]["ignored_fs"] == ["get", "hold"]
    assert "data-picture='pool'" in (run / "report.html").read_text()


# As for register: a minority node takes the no-quorum path only once it has lost its leader.
# More engineers keep the pool non-empty on the minority's side: with 3, an isolated
# node often sees an empty pool for the whole partition and writes once or never (seed 3 wrote twice
# here and not at all in CI), so whether the defect shows was down to timing.
LONG_MINORITY = ["--time-limit", "18", "--nemesis-interval", "16", "--partition-kinds", "halves,isolated",
                 "--engineers", "8"]


def test_engineer_pool_catches_cmpxchg_without_quorum(tmp_path, env):
    cp, run = caught_within(tmp_path, env, ["--workload", "engineer-pool", "--nemesis", "partition", "--nodes", "5",
                                            "--recovery-time", "3", *LONG_MINORITY,
                                            "--defect", "cmpxchg-without-quorum"])
    assert cp.returncode == 1, cp.stdout + cp.stderr
    r = results(run)["results"]
    assert r["linearizable"]["valid"] is False or r["pool"]["valid"] is False
    assert recheck(run, env) == 1 and recheck(run / "history.edn", env) == 1
    assert leftovers(tmp_path) == []
