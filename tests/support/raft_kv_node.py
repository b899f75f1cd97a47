"""A minimal process hosting only a Raft node with a key-value state machine.

Test support, not part of the server: the Raft integration tests and
benchmarks/raft_election.py drive Raft alone through it (the real server node
mounts the same pieces, see server/cluster/raft/README.md):

    PYTHONPATH=tests python -m support.raft_kv_node --url http://127.0.0.2:7001 \\
        --data-dir /tmp/n1 [--join http://127.0.0.1:7000] [--defect NAME ...]

Endpoints besides /raft/*: POST /kv/put {"key","value"}, POST /kv/cas
{"key","expected","new"}, GET /kv/get?key=K&mode=linearizable|local, GET /status.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from unkindness.server.cluster.raft.core import Timing
from unkindness.server.cluster.raft.errors import NotLeader, RaftError
from unkindness.server.cluster.raft.node import HOOK_DEFECTS, RAFT_DEFECTS, RaftNode
from unkindness.server.jsonlog import Log
from unkindness.server.cluster.raft.routes import bad_request, error_response, mount, read_json



class KeyValueStateMachine:
    """A tiny key-value register store: put, cas, delete. What the test node replicates."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def apply(self, command: Any) -> Any:
        if not isinstance(command, list) or not command:
            return {"error": f"bad command {command!r}: expected [op, key, ...]"}
        op, args = command[0], command[1:]
        if op == "put" and len(args) == 2:
            self.data[str(args[0])] = args[1]
            return {"ok": True}
        if op == "cas" and len(args) == 3:
            key, expected, new = str(args[0]), args[1], args[2]
            current = self.data.get(key)
            if current != expected:
                return {"ok": False, "current": current}
            self.data[key] = new
            return {"ok": True}
        if op == "delete" and len(args) == 1:
            return {"ok": self.data.pop(str(args[0]), None) is not None}
        return {"error": f"unknown command {command!r}"}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def snapshot(self) -> Any:
        return {"data": dict(self.data)}

    def restore(self, snapshot: Any | None) -> None:
        self.data = dict(snapshot["data"]) if snapshot else {}


def build_app(node: RaftNode, sm: KeyValueStateMachine) -> web.Application:
    app = web.Application()
    mount(app, node)

    def timeout_of(body: dict) -> float | None:
        t = body.get("timeout")
        return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 else None

    async def put(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("key"), str) or "value" not in body:
            return bad_request("expected {\"key\": string, \"value\": any}")
        try:
            result = await node.propose_or_forward(["put", body["key"], body["value"]], timeout_of(body))
        except RaftError as e:
            return error_response(e)
        return web.json_response({"result": result})

    async def cas(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not {"expected", "new"} <= body.keys():
            return bad_request("expected {\"key\": string, \"expected\": any, \"new\": any}")
        command = ["cas", body["key"], body["expected"], body["new"]]
        try:
            if "cmpxchg-without-quorum" in node.defects:
                try:
                    result = await node.propose(command, timeout_of(body), allow_local_without_quorum=True)
                except NotLeader:
                    result = await node.propose_or_forward(command, timeout_of(body))
            else:
                result = await node.propose_or_forward(command, timeout_of(body))
        except RaftError as e:
            return error_response(e)
        return web.json_response({"result": result})

    async def get(request: web.Request) -> web.Response:
        key = request.query.get("key")
        mode = request.query.get("mode", "linearizable")
        if key is None or mode not in ("linearizable", "local"):
            return bad_request("expected ?key=K&mode=linearizable|local")
        timeout = request.query.get("timeout")
        try:
            index = await node.read_index(float(timeout) if timeout else None) if mode == "linearizable" \
                else node.applied_index
        except RaftError as e:
            return error_response(e)
        except ValueError:
            return bad_request("timeout must be a number")
        return web.json_response({"key": key, "value": sm.get(key), "index": index})

    async def status(request: web.Request) -> web.Response:
        return web.json_response(node.status())

    app.add_routes([web.post("/kv/put", put), web.post("/kv/cas", cas), web.get("/kv/get", get),
                    web.get("/status", status)])
    return app


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m unkindness.server.cluster.raft.demo_node", description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="this node's URL, e.g. http://127.0.0.2:7001")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--join", help="URL of any node of the cluster to join")
    p.add_argument("--defect", action="append", default=[], choices=list(RAFT_DEFECTS + HOOK_DEFECTS))
    p.add_argument("--snapshot-every", type=int, default=1000, help="entries between snapshots")
    p.add_argument("--proposal-timeout", type=float, default=5.0)
    p.add_argument("--heartbeat", type=float, default=Timing.heartbeat)
    p.add_argument("--election-min", type=float, default=0.5)
    p.add_argument("--election-max", type=float, default=1.0)
    p.add_argument("--lazy-sync-interval", type=float, default=2.0,
                   help="with raft-ack-before-fsync: seconds between the deferred fsyncs")
    p.add_argument("--split-brain-seconds", type=float, default=20.0)
    args = p.parse_args(argv)
    u = urlparse(args.url)
    if u.scheme != "http" or not u.hostname or not u.port:
        p.error(f"--url must look like http://HOST:PORT, got {args.url!r}")
    if not 0 < args.heartbeat < args.election_min < args.election_max:
        p.error("need 0 < --heartbeat < --election-min < --election-max")
    return args


async def serve(args: argparse.Namespace) -> None:
    os.makedirs(args.data_dir, exist_ok=True)
    sm = KeyValueStateMachine()
    timing = Timing(heartbeat=args.heartbeat, election_min=args.election_min, election_max=args.election_max,
                    rpc_timeout=args.election_min)
    node = RaftNode(args.url, args.data_dir, sm, timing=timing, proposal_timeout=args.proposal_timeout,
                    snapshot_every=args.snapshot_every, defects=args.defect,
                    logger=Log.to_file(os.path.join(args.data_dir, "raft.jsonl")),
                    lazy_sync_interval=args.lazy_sync_interval, split_brain_seconds=args.split_brain_seconds)
    runner = web.AppRunner(build_app(node, sm), access_log=None)
    await runner.setup()
    await node.start()
    try:
        u = urlparse(args.url)
        await web.TCPSite(runner, u.hostname, u.port, reuse_address=True).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if args.join:
            async def joiner() -> None:
                try:
                    await node.join(args.join, timeout=60)
                except RaftError as e:
                    node._emit({"event": "join_failed", "error": str(e)})
            asyncio.create_task(joiner())
        await stop.wait()
    finally:
        await runner.cleanup()
        await node.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as e:
        print(f"demo_node: cannot serve {args.url}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
