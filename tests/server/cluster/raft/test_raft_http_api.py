"""The HTTP surface of a Raft node: membership over HTTP, bad input answered with 4xx JSON."""

from __future__ import annotations

import subprocess
import time

import pytest

from unkindness.server.cluster.raft.node import RaftNode
from support.raft_kv_cluster import node_argv, node_env
from support.raft_kv_node import KeyValueStateMachine

pytestmark = [pytest.mark.timeout(120)]


def test_remove_and_add_members_over_http(make_cluster):
    c = make_cluster()
    c.start(3, sequential=True)
    leader, st = c.wait_leader()
    victim = next(x for x in c.nodes if x is not leader)
    vtag = next(t for t, u in st["members"].items() if u == victim.url)
    r = c.http.delete(leader.url + f"/raft/members/{vtag}", timeout=8)
    assert r.status_code == 200, r.text
    st = c.status(leader)
    assert vtag not in st["members"] and len(st["members"]) == 2
    time.sleep(0.3)
    assert c.status(victim)["member"] is False
    assert c.put(leader, "after-removal", 1).status_code == 200
    time.sleep(2.0)  # a removed node must not campaign
    assert c.status(leader)["role"] == "leader" and c.status(leader)["term"] == st["term"]
    newcomer = c.add_node(join=leader)
    c.wait_members(3, 15)
    st = c.status(leader)
    assert st["members"]["D"] == newcomer.url, st["members"]  # tags are never reused
    assert c.get(newcomer, "after-removal").json()["value"] == 1
    r = c.http.delete(leader.url + "/raft/members/Q", timeout=5)
    assert r.status_code == 409 and "no member" in r.json()["Message"]
    follower = next(x for x in c.nodes if x is not leader and x is not victim)
    r = c.http.post(follower.url + "/raft/members", json={"url": "http://127.0.0.99:1"}, timeout=5)
    assert r.status_code == 421 and r.json()["LeaderUrl"] == leader.url


def test_bad_input_gets_4xx_json(make_cluster):
    c = make_cluster()
    c.start(1)
    n = c.nodes[0]
    cases = [
        ("/raft/rpc", "not json"),
        ("/raft/rpc", {"messages": "x"}),
        ("/raft/rpc", {"messages": [{"type": "append", "from": "http://x", "to": n.url, "term": 1}]}),
        ("/raft/rpc", {"messages": [{"type": "bogus"}]}),
        ("/raft/rpc", {"messages": [{"type": "vote", "from": "http://x", "to": n.url, "term": "1",
                                     "last_index": 0, "last_term": 0}]}),
        ("/raft/rpc", {"messages": [{"type": "append", "from": "http://x", "to": n.url, "term": 1,
                                     "prev_index": 0, "prev_term": 0, "entries": [{"index": 5}],
                                     "commit": 0, "seq": 0}]}),
        ("/raft/rpc", {"messages": [{"type": "snapshot", "from": "http://x", "to": n.url, "term": 1,
                                     "last_index": 3, "last_term": 1, "config": {"members": 1},
                                     "data": None, "seq": 0}]}),
        ("/raft/propose", {"nothing": 1}),
        ("/raft/propose", {"command": ["put", "k", 1], "timeout": -1}),
        ("/raft/members", {"url": "ftp://x"}),
        ("/kv/put", {"key": 5}),
        ("/kv/cas", {"key": "k"}),
    ]
    for path, body in cases:
        kwargs = {"data": body} if isinstance(body, str) else {"json": body}
        r = c.http.post(n.url + path, timeout=5, **kwargs)
        assert r.status_code == 400, (path, body, r.status_code, r.text)
        assert r.json()["Type"] == "BadRequest" and r.json()["Message"], (path, r.text)
    r = c.http.get(n.url + "/kv/get", params={"key": "k", "mode": "sometimes"}, timeout=5)
    assert r.status_code == 400
    st = c.status(n)
    assert st["role"] == "leader" and st["members"] == {"A": n.url}  # nothing broke
    assert c.put(n, "k", 1).status_code == 200


def test_raft_kv_node_rejects_bad_arguments_clearly(tmp_path):
    for args, words in [(["--url", "nope", "--data-dir", str(tmp_path)], "--url must look like"),
                        (["--url", "http://127.0.0.1:1", "--data-dir", str(tmp_path), "--defect", "x"], "invalid choice"),
                        (["--url", "http://127.0.0.1:1", "--data-dir", str(tmp_path), "--election-min", "0.05"],
                         "--heartbeat")]:
        p = subprocess.run(node_argv(*args), env=node_env(), capture_output=True, text=True, timeout=30)
        assert p.returncode == 2 and words in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_raft_kv_node_reports_a_busy_port_without_a_traceback(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.7", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run(node_argv("--url", f"http://127.0.0.7:{port}", "--data-dir", str(tmp_path)),
                           env=node_env(), capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "cannot serve" in p.stderr and "in use" in p.stderr
    assert "Traceback" not in p.stderr and "Unclosed" not in p.stderr, p.stderr


def test_unknown_defect_is_refused():
    with pytest.raises(ValueError, match="unknown raft defect"):
        RaftNode("http://127.0.0.1:1", None, KeyValueStateMachine(), defects=["raft-eat-my-data"])


def test_bad_frames_on_the_peer_websocket_get_an_error_frame_and_the_connection_stays(make_cluster):
    """What the transport uses (/raft/ws): a frame it cannot read is answered, not dropped."""
    import asyncio
    import json

    import aiohttp

    c = make_cluster()
    c.start(1)
    n = c.nodes[0]
    bad = ["not json", json.dumps({"seq": 1}), json.dumps({"seq": 2, "messages": [{"type": "bogus"}]}),
           json.dumps({"seq": 3, "messages": [{"type": "vote", "from": "http://x", "to": n.url, "term": "1",
                                               "last_index": 0, "last_term": 0}]})]
    good = {"seq": 9, "messages": [{"type": "prevote", "from": "http://127.0.0.99:1", "to": n.url, "term": 1,
                                    "last_index": 0, "last_term": 0}]}

    async def talk() -> list[dict]:
        async with aiohttp.ClientSession() as s, s.ws_connect(n.url + "/raft/ws") as ws:
            answers = []
            for frame in bad + [json.dumps(good)]:
                await ws.send_str(frame)
                answers.append(json.loads((await ws.receive(timeout=5)).data))
            return answers

    answers = asyncio.run(talk())
    assert [a.get("seq") for a in answers] == [None, 1, 2, 3, 9]
    assert all(a.get("error") for a in answers[:4]), answers
    assert "unknown message type 'bogus'" in answers[2]["error"]
    assert "error" not in answers[4] and isinstance(answers[4]["messages"], list)  # still served
    r = c.http.get(n.url + "/raft/ws", timeout=5)  # not a websocket handshake: a 4xx, not a dropped connection
    assert 400 <= r.status_code < 500


def test_forwarded_calls_on_the_peer_websocket_answer_in_any_order_with_the_http_routes_errors(make_cluster):
    """What a follower forwards (transport.call): propose and read-index as call frames, the
    leader's answer a result, a RaftError rebuilt as itself, and bad calls an error frame."""
    import asyncio
    import json

    import aiohttp

    from unkindness.server.cluster.raft.errors import NotLeader
    from unkindness.server.cluster.raft.transport import RaftTransport, TransportError

    c = make_cluster()
    c.start(3, sequential=True)
    leader, _ = c.wait_leader()
    follower = next(x for x in c.nodes if x is not leader)

    async def talk() -> dict:
        t = RaftTransport(0.5)
        await t.start()
        try:
            put = await t.call(leader.url, "propose", {"command": ["put", "k", 7], "timeout": 3}, 4)
            read = await t.call(leader.url, "read-index", {"timeout": 3}, 4)
            with pytest.raises(NotLeader) as not_leader:
                await t.call(follower.url, "propose", {"command": ["put", "k", 8]}, 4)
            errors = []
            for name, body in [("launch", {}), ("propose", "x"), ("propose", {"timeout": 1}),
                               ("read-index", {"timeout": -1})]:
                with pytest.raises(TransportError) as e:
                    await t.call(leader.url, name, body, 4)
                errors.append(str(e.value))
            # Calls run concurrently and are answered as they finish: many in flight on one socket.
            many = await asyncio.gather(*(t.call(leader.url, "propose", {"command": ["put", f"m{i}", i]}, 5)
                                          for i in range(20)))
            return {"put": put, "read": read, "leader_url": not_leader.value.leader_url, "errors": errors,
                    "many": many}
        finally:
            await t.close()

    got = asyncio.run(talk())
    assert got["put"]["index"] > 0 and got["read"]["index"] >= got["put"]["index"]
    assert got["leader_url"] == leader.url
    assert "unknown call 'launch'" in got["errors"][0]
    assert "must be an object" in got["errors"][1]
    assert "expected {\"command\"" in got["errors"][2]
    assert "timeout must be a positive number" in got["errors"][3]
    assert len({m["index"] for m in got["many"]}) == 20
    assert c.get(follower, "m19").json()["value"] == 19  # and every one was replicated

    async def raw() -> dict:  # the frame itself, as another implementation would send it
        async with aiohttp.ClientSession() as s, s.ws_connect(leader.url + "/raft/ws") as ws:
            await ws.send_str(json.dumps({"seq": 5, "call": "read-index", "body": {}}))
            return json.loads((await ws.receive(timeout=5)).data)

    answer = asyncio.run(raw())
    assert answer["seq"] == 5 and answer["result"]["index"] >= got["put"]["index"]
