"""RaftNode's Python API in one process: start/mount order, propose, read_index, status, bounded failures."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

from support.raft_kv_cluster import free_port
from unkindness.server.cluster.raft.errors import NoQuorum
from unkindness.server.cluster.raft.node import RaftNode
from unkindness.server.cluster.raft.routes import mount
from support.raft_kv_node import KeyValueStateMachine

pytestmark = pytest.mark.timeout(60)

HOST = "127.0.0.5"


async def serve(node: RaftNode, port: int) -> web.AppRunner:
    app = web.Application()
    mount(app, node)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    return runner


def test_node_api_from_not_ready_to_linearizable_read(tmp_path):
    async def main() -> None:
        port = free_port(HOST)
        url = f"http://{HOST}:{port}"
        events: list[dict] = []
        sm = KeyValueStateMachine()
        node = RaftNode(url, str(tmp_path), sm, proposal_timeout=2.0, on_event=events.append)
        runner = await serve(node, port)
        try:
            async with aiohttp.ClientSession(trust_env=False) as s:
                async with s.get(url + "/raft/status") as r:
                    assert r.status == 503 and (await r.json())["Type"] == "NotReady"
                await node.start()
                deadline = time.monotonic() + 3
                while node.status()["role"] != "leader" and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                assert await node.propose(["put", "a", 1]) == {"ok": True}
                assert await node.propose(["cas", "a", 0, 2]) == {"ok": False, "current": 1}
                index = await node.read_index()
                assert index >= 3 and sm.get("a") == 1
                async with s.get(url + "/raft/status") as r:
                    st = await r.json()
            for key in ("role", "term", "leader", "commit_index", "applied_index", "last_log_index", "members"):
                assert key in st, key
            assert st["role"] == "leader" and st["leader"] == "A" and st["applied_index"] == st["commit_index"]
            assert {"started", "became_leader", "commit"} <= {e["event"] for e in events}
            assert all(e["cluster"] == st["cluster_id"] for e in events if e["event"] != "started")
        finally:
            await runner.cleanup()
            await node.stop()

    asyncio.run(main())


def test_proposals_fail_within_the_bound_when_the_majority_is_gone(tmp_path):
    """A one-node cluster adds a member that never answers: 1 of 2 is no majority."""
    async def main() -> None:
        port = free_port(HOST)
        node = RaftNode(f"http://{HOST}:{port}", str(tmp_path), KeyValueStateMachine(), proposal_timeout=1.5)
        runner = await serve(node, port)
        await node.start()
        try:
            deadline = time.monotonic() + 3
            while node.status()["role"] != "leader" and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            dead = f"http://{HOST}:{free_port(HOST)}"
            t0 = time.monotonic()
            with pytest.raises(NoQuorum) as e:
                await node.add_member(dead)
            assert e.value.maybe_applied and time.monotonic() - t0 < 2.0
            for _ in range(2):
                t0 = time.monotonic()
                with pytest.raises(NoQuorum):
                    await node.propose(["put", "x", 1])
                assert time.monotonic() - t0 < 2.0
            assert node.status()["role"] != "leader"  # check-quorum stepped it down
            assert node.has_quorum() is False
        finally:
            await runner.cleanup()
            await node.stop()

    asyncio.run(main())
