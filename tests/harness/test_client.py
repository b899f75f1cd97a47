"""The harness's HTTP client against a real server process: what counts as
applied, not applied, or unknown, and that it ignores proxy settings."""

from __future__ import annotations

import pytest
import requests

from unkindness.harness.client import Definite, Indeterminate, NodeAddress, NodeClient, put_command

pytestmark = pytest.mark.timeout(60)


def test_writes_reads_and_what_a_failure_means(one_node, monkeypatch) -> None:
    url, proc = one_node
    # a proxy in the environment must not be used for the private test network
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    c = NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0)
    c.batch([put_command("things/1", {"v": 1}, "Things", "")])
    assert c.answered_by == "n1"
    docs = c.load(["things/1", "things/2"])
    assert docs["things/1"]["v"] == 1 and docs["things/2"] is None
    assert set(c.all_documents()) == {"things/1"}
    # "" = must not exist: the second insert is a definite failure (409, not applied)
    with pytest.raises(Definite) as e:
        c.batch([put_command("things/1", {"v": 2}, "Things", "")])
    assert "Concurrency" in str(e.value)
    assert c.load(["things/1"])["things/1"]["v"] == 1
    # a missing database is not a missing document
    with pytest.raises(Definite) as e:
        NodeClient(NodeAddress("n1", url, "A"), "nope").load(["things/1"])
    assert "does not exist" in str(e.value)
    # a bad request is definite too
    with pytest.raises(Definite):
        c.request("POST", "/databases/db/bulk_docs", body={"Commands": "nope"})
    # a paused server: a write may or may not have happened, a read simply failed
    proc.send_signal(19)  # SIGSTOP
    try:
        with pytest.raises(Indeterminate):
            c.batch([put_command("things/3", {"v": 3}, "Things", "")])
        with pytest.raises(Definite):
            c.load(["things/1"])
    finally:
        proc.send_signal(18)  # SIGCONT
    proc.kill()
    proc.wait()
    with pytest.raises(Definite) as e:  # nobody listening: certainly not applied
        c.batch([put_command("things/4", {"v": 4}, "Things", "")])
    assert "refused" in str(e.value)


def test_listing_by_prefix_with_metadata_only(one_node) -> None:
    url, _ = one_node
    c = NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0)
    c.batch([put_command(f"Elements/{i}", {"value": i}, "Elements", "") for i in range(5)]
            + [put_command("other/1", {"value": 9}, "Others", "")])
    requests.put(f"{url}/databases/db/docs?id=elements/7", json={"value": 7, "@metadata": {
        "@collection": "Elements", "owner": "qa"}}, timeout=5).raise_for_status()
    # paged (3 per page) so the paging loop and the prefix filter meet
    listed = c.all_documents(3, prefix="elements/", metadata_only=True)
    assert sorted(listed) == [f"Elements/{i}" for i in range(5)] + ["elements/7"]
    assert all(set(d) == {"@metadata"} for d in listed.values())  # no body
    meta = listed["elements/7"]["@metadata"]
    assert meta["owner"] == "qa" and meta["@collection"] == "Elements" and meta["@change-vector"]
    full = c.all_documents(prefix="ELEMENTS/")
    assert full["Elements/3"]["value"] == 3 and "other/1" not in full
    assert set(c.all_documents()) == set(listed) | {"other/1"}
