"""Single-node throughput of 1-document transactions (``bulk_docs`` with one
PUT) from 16 concurrent clients, as a ratio to a bare aiohttp server that
answers the same requests the same way without storage, measured in the same
run (rounds alternate bare/real so machine load affects both alike).

Also reported: server CPU time per request for both (from /proc, robust on a
shared machine) and the real server's start-up time (process start until it
answers HTTP).

    .venv/bin/python -m benchmarks.server_throughput --seconds 5 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.server_procs import Cluster, NodeProcess, free_port

BARE_SERVER = r'''
import json, sys
from aiohttp import web

async def bulk_docs(request):
    body = json.loads(await request.read())
    results = []
    for c in body["Commands"]:
        results.append({"Type": "PUT", "@id": c["Id"], "@change-vector": "A:1-bare",
                        "@last-modified": "2026-01-01T00:00:00.0000000Z",
                        "@collection": c["Document"]["@metadata"]["@collection"]})
    return web.Response(body=json.dumps({"Results": results}).encode(), status=201,
                        content_type="application/json")

async def ready(request):
    return web.Response(text="{}")

app = web.Application()
app.router.add_post("/databases/{db}/bulk_docs", bulk_docs)
app.router.add_get("/cluster/topology", ready)
web.run_app(app, host=sys.argv[1], port=int(sys.argv[2]), print=None, access_log=None)
'''


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, timeout: float = 30.0) -> float:
    import urllib.request
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            urllib.request.urlopen(url + "/cluster/topology", timeout=0.5).read()
            return time.monotonic() - t0
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not start")


async def load(url: str, seconds: float, clients: int, prefix: str) -> int:
    done = 0
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def client(c: int) -> None:
            nonlocal done
            i = 0
            while time.monotonic() < stop_at:
                body = {"Commands": [{"Id": f"items/{prefix}-{c}-{i}", "Type": "PUT", "ChangeVector": None,
                                      "Document": {"n": i, "name": "x" * 32,
                                                   "@metadata": {"@collection": "Items"}}}]}
                async with session.post(f"{url}/databases/bench/bulk_docs", data=json.dumps(body)) as r:
                    await r.read()
                    if r.status != 201:
                        raise RuntimeError(f"{r.status}: {await r.text()}")
                done += 1
                i += 1
        await asyncio.gather(*(client(c) for c in range(clients)))
    return done


def measure(url: str, pid: int, seconds: float, clients: int, prefix: str) -> tuple[float, float]:
    cpu0 = cpu_seconds(pid)
    t0 = time.monotonic()
    n = asyncio.run(load(url, seconds, clients, prefix))
    elapsed = time.monotonic() - t0
    return n / elapsed, (cpu_seconds(pid) - cpu0) / max(n, 1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", type=int, default=16)
    args = p.parse_args()
    host = "127.0.0.40"
    tmp = Path(tempfile.mkdtemp(prefix="server-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        node = NodeProcess("A", host, free_port(host), tmp / "node" / "data")  # the tests' launcher
        t0 = time.monotonic()
        node.spawn()
        real, real_url = node.proc, node.url
        procs.append(real)
        wait_ready(real_url)  # polls every 5 ms: this is the start-up time measured
        startup = time.monotonic() - t0
        Cluster([node]).create_database("bench")
        bare_url = f"http://{host}:{free_port(host)}"
        bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, host, bare_url.rsplit(":", 1)[1]])
        procs.append(bare)
        wait_ready(bare_url)
        rows = []
        for r in range(args.rounds):
            b_rate, b_cpu = measure(bare_url, bare.pid, args.seconds, args.clients, f"b{r}")
            s_rate, s_cpu = measure(real_url, real.pid, args.seconds, args.clients, f"s{r}")
            rows.append((b_rate, s_rate, b_cpu, s_cpu))
            print(f"round {r + 1}: bare {b_rate:8.0f} req/s ({b_cpu * 1e6:6.0f} us CPU/req)   "
                  f"server {s_rate:8.0f} req/s ({s_cpu * 1e6:6.0f} us CPU/req)   ratio {s_rate / b_rate:.2f}")
        b = sum(r[0] for r in rows) / len(rows)
        s = sum(r[1] for r in rows) / len(rows)
        bc = sum(r[2] for r in rows) / len(rows)
        sc = sum(r[3] for r in rows) / len(rows)
        print(f"mean: bare {b:.0f} req/s, server {s:.0f} req/s, throughput ratio {s / b:.2f}; "
              f"CPU/request bare {bc * 1e6:.0f} us, server {sc * 1e6:.0f} us (ratio {bc / sc:.2f}); "
              f"server start-up {startup * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}")
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
