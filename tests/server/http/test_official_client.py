"""The official ``ravendb`` client (DocumentStore and sessions) against real
server processes: CRUD, multi-document transactions, optimistic concurrency,
topology with 1 and 3 nodes."""

from __future__ import annotations

import pytest
import requests
from ravendb import CreateDatabaseOperation, DocumentStore, GetDatabaseRecordOperation
from ravendb.exceptions.exceptions import DatabaseDoesNotExistException
from ravendb.exceptions.raven_exceptions import ConcurrencyException, RavenException
from ravendb.serverwide.database_record import DatabaseRecord

pytestmark = pytest.mark.timeout(60)


class Account:
    def __init__(self, owner: str = "", balance: int = 0) -> None:
        self.owner = owner
        self.balance = balance


def test_crud_with_sessions(start_cluster) -> None:
    cluster = start_cluster(1)
    cluster.create_database("bank")
    with cluster.store("bank") as store:
        with store.open_session() as s:
            s.store(Account("ann", 10), "accounts/1")
            s.store(Account("bob", 20), "accounts/2")
            s.store(Account("cy", 30))  # HiLo id
            s.save_changes()
        with store.open_session() as s:
            a1 = s.load("accounts/1", Account)
            assert (a1.owner, a1.balance) == ("ann", 10)
            many = s.load(["accounts/1", "accounts/2", "accounts/404"], Account)
            assert many["accounts/2"].balance == 20 and many["accounts/404"] is None
            assert s.load("accounts/404", Account) is None
            cv = s.advanced.get_change_vector_for(a1)
            assert cv.startswith("A:") and s.advanced.get_metadata_for(a1)["@collection"] == "Accounts"
            assert s.advanced.exists("accounts/2") and not s.advanced.exists("accounts/404")
            a1.balance = 11
            s.delete("accounts/2")
            s.save_changes()
        with store.open_session() as s:
            assert s.load("accounts/1", Account).balance == 11
            assert s.load("accounts/2", Account) is None
        r = requests.get(f"{cluster.urls[0]}/databases/bank/docs", timeout=5).json()
        owners = sorted(d["owner"] for d in r["Results"])
        assert owners == ["ann", "cy"]


def test_batch_is_all_or_nothing_on_a_concurrency_conflict(start_cluster) -> None:
    cluster = start_cluster(1)
    cluster.create_database("db")
    with cluster.store("db") as store:
        with store.open_session() as s:
            s.store(Account("a", 1), "accounts/a")
            s.save_changes()
        with store.open_session() as s:
            s.advanced.use_optimistic_concurrency = True
            a = s.load("accounts/a", Account)
            with store.open_session() as other:  # a concurrent writer gets there first
                b = other.load("accounts/a", Account)
                b.balance = 99
                other.save_changes()
            a.balance = 2
            s.store(Account("new", 5), "accounts/new")  # part of the same transaction
            with pytest.raises(ConcurrencyException, match="accounts/a"):
                s.save_changes()
        with store.open_session() as s:
            assert s.load("accounts/a", Account).balance == 99
            assert s.load("accounts/new", Account) is None  # the whole batch was rejected


def test_empty_change_vector_means_must_not_exist(start_cluster) -> None:
    cluster = start_cluster(1)
    cluster.create_database("db")
    with cluster.store("db") as store:
        with store.open_session() as s:
            s.advanced.use_optimistic_concurrency = True
            s.store(Account("first", 1), "accounts/x")
            s.save_changes()  # new document, sent with ChangeVector ""
        with store.open_session() as s:
            s.advanced.use_optimistic_concurrency = True
            s.store(Account("second", 2), "accounts/x")
            with pytest.raises(ConcurrencyException, match="expecting new document"):
                s.save_changes()
        with store.open_session() as s:
            s.store(Account("third", 3), "accounts/x", change_vector="A:1-notreal")
            with pytest.raises(ConcurrencyException):
                s.save_changes()
        with store.open_session() as s:
            assert s.load("accounts/x", Account).owner == "first"


def test_multi_document_transaction_and_repeated_writes(start_cluster) -> None:
    cluster = start_cluster(1)
    cluster.create_database("db")
    with cluster.store("db") as store:
        with store.open_session() as s:
            for i in range(10):
                s.store(Account(f"o{i}", 100), f"accounts/{i}")
            s.save_changes()
        for round_ in range(5):  # transfers: two documents per transaction
            with store.open_session() as s:
                pair = s.load(["accounts/0", "accounts/1"], Account)
                a, b = pair["accounts/0"], pair["accounts/1"]
                a.balance -= 10
                b.balance += 10
                s.save_changes()
        with store.open_session() as s:
            docs = s.load([f"accounts/{i}" for i in range(10)], Account)
            assert sum(d.balance for d in docs.values()) == 1000
            assert docs["accounts/0"].balance == 50 and docs["accounts/1"].balance == 150


def test_unknown_database_raises_database_does_not_exist(start_cluster) -> None:
    cluster = start_cluster(1)
    with cluster.store("nope") as store:
        with store.open_session() as s:
            with pytest.raises(DatabaseDoesNotExistException):
                s.load("x/1")


def test_create_database_operation_and_record(start_cluster) -> None:
    cluster = start_cluster(1)
    with cluster.store("made") as store:
        result = store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("made"), 1))
        assert result.name == "made"
        record = store.maintenance.server.send(GetDatabaseRecordOperation("made"))
        assert record.database_name == "made" and record.topology["Members"] == ["A"]
        assert store.maintenance.server.send(GetDatabaseRecordOperation("other")) is None
        with pytest.raises(ConcurrencyException, match="already exists"):
            store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("made"), 1))
        with store.open_session() as s:
            s.store(Account("z", 1), "accounts/z")
            s.save_changes()


def test_three_nodes_topology_and_round_robin(start_cluster) -> None:
    cluster = start_cluster(3)
    with cluster.store("tri") as store:
        result = store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("tri"), 3))
        assert sorted(result.nodes_added_to) == sorted(cluster.urls)
    for url in cluster.urls:  # every node reports the same members, in the same order
        topo = requests.get(f"{url}/topology", params={"name": "tri"}, timeout=5).json()
        assert [n["ClusterTag"] for n in topo["Nodes"]] == topo_order(cluster, url)
        ct = requests.get(f"{url}/cluster/topology", timeout=5).json()
        assert ct["Topology"]["Members"] == {n.tag: n.url for n in cluster.nodes}
    with cluster.store("tri") as store:
        executor_nodes = None
        for i in range(6):  # the client spreads writes over all three nodes
            with store.open_session() as s:
                s.store(Account(f"o{i}", i), f"accounts/{i}")
                s.save_changes()
        executor_nodes = store.get_request_executor().topology_nodes
        assert sorted(n.cluster_tag for n in executor_nodes) == ["A", "B", "C"]
    per_node = []
    for url in cluster.urls:
        docs = requests.get(f"{url}/databases/tri/docs", timeout=5).json()["Results"]
        per_node.append({d["@metadata"]["@id"] for d in docs})
    assert set().union(*per_node) == {f"accounts/{i}" for i in range(6)}
    assert sum(1 for ids in per_node if ids) >= 2  # round-robin really hit several nodes


def topo_order(cluster, url: str) -> list[str]:
    # the database was created through node A (nodes[0]): A first, then the others
    return ["A", "B", "C"]


def test_replication_factor_two_of_three(start_cluster) -> None:
    cluster = start_cluster(3)
    result = cluster.create_database("pair", replication_factor=2, via=1)
    assert len(result["NodesAddedTo"]) == 2
    members = requests.get(f"{cluster.urls[0]}/topology", params={"name": "pair"}, timeout=5)
    # node A is not a member (B created it: B first, then A): ask B
    topo = requests.get(f"{cluster.urls[1]}/topology", params={"name": "pair"}, timeout=5).json()
    assert [n["ClusterTag"] for n in topo["Nodes"]] == ["B", "A"]
    assert members.status_code == 200
    # C holds no copy: it answers the group's topology from the record, and 410 for the database itself
    r = requests.get(f"{cluster.urls[2]}/topology", params={"name": "pair"}, timeout=5)
    assert r.status_code == 200 and [n["ClusterTag"] for n in r.json()["Nodes"]] == ["B", "A"]
    gone = requests.get(f"{cluster.urls[2]}/databases/pair/docs", params={"id": "x"}, timeout=5)
    assert gone.status_code == 410 and gone.json()["Type"].endswith("DatabaseNotRelevantException")
    r = requests.get(f"{cluster.urls[2]}/topology", params={"name": "nope"}, timeout=5)
    assert r.status_code == 404 and r.headers["Database-Missing"] == "nope"
    as_client = requests.get(f"{cluster.urls[2]}/topology", params={"name": "nope"}, timeout=5,
                             headers={"Raven-Client-Version": "7.2.7"})
    assert as_client.status_code == 503 and as_client.headers["Database-Missing"] == "nope"


def test_wait_for_replication_times_out_but_keeps_the_write(start_cluster) -> None:
    from datetime import timedelta
    cluster = start_cluster(2)
    cluster.create_database("w", replication_factor=2)
    # a store that only talks to A, so the write and the read land on A
    store = DocumentStore([cluster.urls[0]], "w")
    store.conventions.disable_topology_updates = True
    store.initialize()
    try:
        cluster.nodes[1].kill()  # nobody can confirm the write
        with store.open_session() as s:
            s.advanced.wait_for_replication_after_save_changes(
                lambda o: o.number_of_replicas(1).with_timeout(timedelta(seconds=1)).throw_on_timeout(True))
            s.store(Account("w", 1), "accounts/w")
            with pytest.raises(RavenException, match="not confirmed"):
                s.save_changes()
        with store.open_session() as s:
            assert s.load("accounts/w", Account).owner == "w"
    finally:
        store.close()


def test_wait_for_replication_succeeds_on_three_nodes_and_every_node_serves_the_write(start_cluster) -> None:
    from datetime import timedelta
    cluster = start_cluster(3)
    cluster.create_database("r3", replication_factor=3)
    with cluster.store("r3") as store:
        for i in range(3):  # round-robin: each save lands on a different node
            with store.open_session() as s:
                s.advanced.wait_for_replication_after_save_changes(
                    lambda o: o.number_of_replicas(2).with_timeout(timedelta(seconds=20)).throw_on_timeout(True))
                s.store(Account(f"r{i}", i), f"accounts/r{i}")
                s.save_changes()
    for url in cluster.urls:  # acknowledged by 2 replicas: present everywhere now
        ids = {d["@metadata"]["@id"] for d in requests.get(f"{url}/databases/r3/docs", timeout=5).json()["Results"]}
        assert ids == {"accounts/r0", "accounts/r1", "accounts/r2"}, url


def test_revisions_configuration_endpoint(start_cluster) -> None:
    from ravendb.documents.operations.revisions import (
        ConfigureRevisionsOperation, RevisionsCollectionConfiguration, RevisionsConfiguration)
    cluster = start_cluster(1)
    cluster.create_database("rev", 1)
    with cluster.store("rev") as store:
        config = RevisionsConfiguration(default_config=RevisionsCollectionConfiguration(disabled=False))
        result = store.maintenance.send(ConfigureRevisionsOperation(config))
        assert result.raft_command_index > 0
        with store.open_session() as s:
            s.store(Account("v1", 1), "accounts/v")
            s.save_changes()
        with store.open_session() as s:
            s.load("accounts/v", Account).balance = 2
            s.save_changes()
    r = requests.get(f"{cluster.urls[0]}/databases/rev/docs", params={"id": "accounts/v"}, timeout=5).json()
    assert r["Results"][0]["balance"] == 2
    node = cluster.nodes[0]
    node.stop()
    import sqlite3
    with sqlite3.connect(node.data_dir / "databases" / "rev.sqlite") as conn:
        # two local writes, two revisions, each stored in the transaction of its write
        rows = conn.execute("SELECT r.txn, d.txn FROM revisions r LEFT JOIN documents d "
                            "ON d.lower_id = r.lower_id ORDER BY r.etag").fetchall()
    assert len(rows) == 2 and rows[1][0] == rows[1][1]
