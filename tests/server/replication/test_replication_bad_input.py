"""The receiving websocket refuses malformed input with a clear Error message, applies
nothing from a batch that has one bad item, and keeps serving."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from support.repl_helpers import state

pytestmark = pytest.mark.timeout(60)

GOOD = {"Kind": "document", "Id": "x/1", "Etag": 1, "Txn": 1, "ChangeVector": "Z:1-zzzz",
        "Collection": "Xs", "LastModified": "2024-01-01T00:00:00.0000000Z", "Flags": "", "Data": {"v": 1}}


async def exchange(url: str, messages: list) -> list[dict]:
    """Send each message (str as is, else JSON) and collect the replies until the server closes."""
    replies = []
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url) as ws:
            for m in messages:
                await ws.send_str(m if isinstance(m, str) else json.dumps(m))
                msg = await asyncio.wait_for(ws.receive(), 5)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                replies.append(json.loads(msg.data))
                if replies[-1]["Type"] == "Error":
                    break
    return replies


def test_bad_replication_input(start_cluster) -> None:
    cluster = start_cluster(1)
    cluster.create_database("db", replication_factor=1)
    node = cluster.nodes[0]
    url = f"{node.url.replace('http', 'ws')}/databases/db/replication"
    hello = {"Type": "Hello", "Database": "db", "SourceTag": "Z", "SourceDbId": "zzzz"}

    r = asyncio.run(exchange(url, ["not json"]))
    assert r[-1]["Type"] == "Error"
    r = asyncio.run(exchange(url.replace("/db/", "/nope/"), [hello]))
    assert r[-1]["Type"] == "Error" and "does not exist" in r[-1]["Message"]
    r = asyncio.run(exchange(url, [{"Type": "Hello", "SourceTag": "Z"}]))
    assert r[-1]["Type"] == "Error" and "SourceDbId" in r[-1]["Message"]

    bad = dict(GOOD, Id="x/2", ChangeVector="not a vector")
    r = asyncio.run(exchange(url, [hello, {"Type": "Batch", "Items": [GOOD, bad], "LastEtag": 2}]))
    assert r[0] == {"Type": "HelloAck", "LastAcceptedEtag": 0, "Tag": "A", "DbId": r[0]["DbId"], "ChangeVector": ""}
    assert r[-1]["Type"] == "Error" and "change vector" in r[-1]["Message"]
    assert state(node, "db", "x/1")[0] == 404  # nothing of the refused batch was applied

    r = asyncio.run(exchange(url, [hello, {"Type": "Batch", "Items": [GOOD], "LastEtag": 1}]))
    assert r[-1]["Type"] == "Ack" and r[-1]["LastAcceptedEtag"] == 1
    assert "Z:1-zzzz" in r[-1]["ChangeVector"]  # what the destination has now seen
    assert state(node, "db", "x/1")[1] == {"v": 1}
    r = asyncio.run(exchange(url, [hello]))
    assert r[0]["LastAcceptedEtag"] == 1  # the cursor for source zzzz is durable
    assert node.alive()


def test_bad_solver_configuration_is_a_clear_400(start_cluster) -> None:
    import requests

    cluster = start_cluster(1)
    cluster.create_database("db", replication_factor=1)
    url = f"{cluster.nodes[0].url}/admin/replication/conflicts/solver"
    cases = [
        ({"name": "db"}, b"{not json", "not valid JSON"),
        ({"name": "db"}, b'{"ResolveToLatest": "yes"}', "ResolveToLatest"),
        ({"name": "db"}, b'{"ResolveByCollection": {"Users": {"Script": "return ("}}}', "does not compile"),
        ({}, b"{}", "name="),
    ]
    for params, body, needle in cases:
        r = requests.post(url, params=params, data=body, timeout=10)
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert needle in r.json()["Message"], r.json()
    r = requests.post(url, params={"name": "nope"}, json={}, timeout=10)
    assert r.status_code == 404 and "does not exist" in r.json()["Message"]
    r = requests.get(f"{cluster.nodes[0].url}/databases/db/replication/conflicts", params={"docId": "x"}, timeout=10)
    assert r.status_code == 404 and "not in conflict" in r.json()["Message"]
    r = requests.post(url, params={"name": "db"}, json={"ResolveToNode": "A"}, timeout=10)
    assert r.status_code == 200 and r.json()["Solver"]["ResolveToNode"] == "A"
    got = requests.get(f"{cluster.nodes[0].url}/databases/db/replication/conflicts/solver", timeout=10).json()
    assert got["ResolveToNode"] == "A"
