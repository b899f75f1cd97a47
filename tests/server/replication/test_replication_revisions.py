"""Revisions on real processes: configured with the official client, written in the
writer's transaction, and replicated in the same batch as that transaction."""

from __future__ import annotations

import sqlite3

import pytest
from ravendb import ConfigureRevisionsOperation, RevisionsCollectionConfiguration, RevisionsConfiguration

from support.repl_helpers import bulk, caught_up, eventually, state

pytestmark = pytest.mark.timeout(120)


def test_revisions_travel_with_their_transaction(start_cluster) -> None:
    cluster = start_cluster(2)
    cluster.create_database("db", replication_factor=2)
    a, b = cluster.nodes
    config = RevisionsConfiguration(collections={"Users": RevisionsCollectionConfiguration(disabled=False)})
    with cluster.store("db", urls=[a.url]) as store:  # part of the record: reaches every member
        store.maintenance.send(ConfigureRevisionsOperation(config))
    doc = {"Name": "x", "@metadata": {"@collection": "Users"}}
    bulk(a, "db", [{"Id": "Users/1", "ChangeVector": None, "Type": "PUT", "Document": doc},
                   {"Id": "Users/2", "ChangeVector": None, "Type": "PUT", "Document": doc}])
    bulk(a, "db", [{"Id": "Users/2", "ChangeVector": None, "Type": "PUT",
                    "Document": {"Name": "y", "@metadata": {"@collection": "Users"}}}])
    eventually(lambda: caught_up(cluster.nodes, "db"))
    assert state(b, "db", "Users/2")[1] == {"Name": "y"}
    path = b.data_dir / "databases" / "db.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, txn, data FROM revisions ORDER BY etag").fetchall()
    assert [(r[0], r[2]) for r in rows] == [("Users/1", '{"Name":"x"}'), ("Users/2", '{"Name":"x"}'),
                                            ("Users/2", '{"Name":"y"}')]
    # A's first transaction arrived as one batch: its two revisions share B's transaction
    assert rows[0][1] == rows[1][1]
