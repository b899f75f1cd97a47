"""The harness's HTTP client against a real server process: what counts as
applied, not applied, or unknown, and that it ignores proxy settings."""

from __future__ import annotations

import time

import pytest
import requests

from unkindness.harness.client import (
    REFUSED_BACKOFF_S, ClusterClient, Definite, Indeterminate, NodeAddress, NodeClient, Topology, put_command,
)

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


def test_an_unavailable_node_makes_the_worker_wait_between_ops_not_inside_one(one_node) -> None:
    """Refused, or the database missing: a worker's client (defer_backoff) fails at once and
    leaves the wait to the worker; any other client waits before it returns, as before."""
    url, _ = one_node
    for address, db in ((NodeAddress("n1", _dead_url()), "db"), (NodeAddress("n1", url), "nope")):
        worker = NodeClient(address, db, 2.0, defer_backoff=True)
        t0 = time.monotonic()
        with pytest.raises(Definite) as e:
            worker.load(["things/1"])
        assert e.value.unavailable and time.monotonic() - t0 < REFUSED_BACKOFF_S
        assert worker.take_backoff() == REFUSED_BACKOFF_S and worker.take_backoff() == 0.0
        other = NodeClient(address, db, 2.0)
        t0 = time.monotonic()
        with pytest.raises(Definite):
            other.load(["things/1"])
        assert time.monotonic() - t0 >= REFUSED_BACKOFF_S and other.take_backoff() == 0.0
    ok = NodeClient(NodeAddress("n1", url), "db", 2.0, defer_backoff=True)
    ok.load(["things/1"])
    with pytest.raises(Definite) as e:  # a failure of the op itself is no reason to wait
        ok.batch([put_command("things/1", {"v": 1}, "Things", ""), put_command("things/1", {"v": 1}, "Things", "")])
    assert not e.value.unavailable and ok.take_backoff() == 0.0


# --- ClusterClient: the official client's node choice and failover ---------------------------

def _dead_url() -> str:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nobody listens once the socket closes


def _topology(*addresses: NodeAddress, etag: int = 99) -> Topology:
    t = Topology(list(addresses))
    assert t.adopt({"Etag": etag, "Nodes": [{"Url": a.url, "ClusterTag": a.tag, "Database": "db"}
                                            for a in addresses]})
    return t


def test_topology_order_rotates_for_round_robin_and_puts_failed_nodes_last() -> None:
    a, b, c = (NodeAddress(n, f"http://10.0.0.{i}:8080", t) for i, (n, t) in enumerate(
        [("n1", "A"), ("n2", "B"), ("n3", "C")], 1))
    t = _topology(a, b, c)
    assert t.primary == a
    assert [x.name for x in t.order("preferred")] == ["n1", "n2", "n3"]
    assert [[x.name for x in t.order("round-robin")][0] for _ in range(4)] == ["n1", "n2", "n3", "n1"]
    t.mark_failed(a)
    assert [x.name for x in t.order("preferred")] == ["n2", "n3", "n1"]
    t.mark_ok(a)
    assert t.order("preferred")[0] == a
    # only a newer topology replaces the one we have; the primary stays the first one seen
    assert not t.adopt({"Etag": 5, "Nodes": [{"Url": c.url}]})
    assert t.adopt({"Etag": 100, "Nodes": [{"Url": c.url}, {"Url": "http://10.0.0.9:8080", "ClusterTag": "Z"}]})
    assert [x.name for x in t.members] == ["n3", "Z"] and t.primary == a
    assert not t.adopt({"Etag": "x", "Nodes": []}) and not t.adopt("junk")


def test_preferred_client_fails_over_and_refuse_keeps_writes_on_the_primary(one_node) -> None:
    url, _ = one_node
    dead, live = NodeAddress("n1", _dead_url(), "A"), NodeAddress("n2", url, "B")
    allow = ClusterClient(_topology(dead, live), "db", 2.0, mode="preferred", failover_writes="allow")
    allow.batch([put_command("things/1", {"v": 1}, "Things", "")])
    assert allow.answered_by == "n2"  # the primary refused: the next member took the write
    assert allow.load(["things/1"])["things/1"]["v"] == 1 and allow.answered_by == "n2"
    refuse = ClusterClient(_topology(dead, live), "db", 2.0, mode="preferred", failover_writes="refuse")
    assert refuse.load(["things/1"])["things/1"]["v"] == 1 and refuse.answered_by == "n2"  # reads fail over
    with pytest.raises(Definite) as e:
        refuse.batch([put_command("things/2", {"v": 2}, "Things", "")])
    assert e.value.node == "n1" and "read-only while it is unreachable" in str(e.value)
    assert refuse.load(["things/2"])["things/2"] is None  # certainly not applied


def test_a_stale_topology_etag_makes_the_client_fetch_the_topology_again(one_node) -> None:
    url, _ = one_node
    live = NodeAddress("n2", url, "B")
    stale = Topology([live, NodeAddress("n9", _dead_url(), "Z")])
    assert stale.adopt({"Etag": 0, "Nodes": [{"Url": _dead_url()}, {"Url": url}]}, force=True)
    c = ClusterClient(stale, "db", 2.0, mode="round-robin")
    for _ in range(3):
        c.load(["x/1"])
    # the server said Refresh-Topology to our etag 0 ("0" quoted, as the official client sends it)
    assert stale.etag >= 1 and [m.url for m in stale.members] == [url]


def test_after_an_attempt_that_may_have_applied_a_refusal_elsewhere_is_unknown(servers) -> None:
    (url1, proc1), (url2, _) = servers(), servers()
    first, second = NodeAddress("n1", url1, "A"), NodeAddress("n2", url2, "B")
    NodeClient(second, "db").batch([put_command("things/1", {"v": 0}, "Things", "")])  # "" will 409 on n2
    c = ClusterClient(_topology(first, second), "db", 1.0, mode="preferred")
    proc1.send_signal(19)  # SIGSTOP: n1 takes the write and never answers
    try:
        with pytest.raises(Indeterminate) as e:
            c.batch([put_command("things/1", {"v": 1}, "Things", "")])
    finally:
        proc1.send_signal(18)
    assert "may have applied it" in str(e.value) and c.retried_after_unknown
    # n1 did apply it once resumed: calling the 409 on n2 a definite failure would have been a lie
    deadline = time.monotonic() + 5
    while NodeClient(first, "db").load(["things/1"])["things/1"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
