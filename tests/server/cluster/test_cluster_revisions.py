"""The revisions configuration is part of the database record: configured
through any one node, every member writes revisions for its own writes."""

from __future__ import annotations

import sqlite3
import time

import pytest
import requests
from ravendb import ConfigureRevisionsOperation, RevisionsCollectionConfiguration, RevisionsConfiguration

pytestmark = pytest.mark.timeout(120)


def revisions_on(node, db: str) -> list[tuple[str, str]]:
    path = node.data_dir / "databases" / f"{db}.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT id, data FROM revisions ORDER BY etag")]


def test_revisions_configured_once_apply_on_every_member(raft_group) -> None:
    g = raft_group(3)
    g.create_database("db")
    a, b, c = g.nodes
    config = RevisionsConfiguration(collections={"Users": RevisionsCollectionConfiguration(disabled=False)})
    with g.store("db", urls=[a.url]) as store:
        store.maintenance.send(ConfigureRevisionsOperation(config))
    record = requests.get(f"{a.url}/admin/databases", params={"name": "db"}, timeout=5).json()
    assert record["Revisions"]["Collections"]["Users"]["Disabled"] is False
    for node in (b, c):  # each member writes a revision for a write it takes itself
        deadline = time.monotonic() + 10
        doc_id = f"Users/{node.tag}"
        while True:
            r = requests.post(f"{node.url}/databases/db/bulk_docs", timeout=5, json={"Commands": [
                {"Id": doc_id, "ChangeVector": None, "Type": "PUT",
                 "Document": {"Name": node.tag, "@metadata": {"@collection": "Users"}}}]})
            assert r.status_code == 201, r.text
            if any(i == doc_id for i, _ in revisions_on(node, "db")):
                break
            assert time.monotonic() < deadline, f"{node.tag} never applied the revisions configuration"
            time.sleep(0.1)


def test_bad_revisions_configuration_is_a_400_and_changes_nothing(raft_group) -> None:
    g = raft_group(1)
    g.create_database("db")
    (a,) = g.nodes
    r = requests.post(f"{a.url}/databases/db/admin/revisions/config", json={"Collections": 7}, timeout=5)
    assert r.status_code == 400 and "revisions configuration" in r.json()["Message"]
    assert "Revisions" not in requests.get(f"{a.url}/admin/databases", params={"name": "db"}, timeout=5).json()
