"""Real namespaces running a tiny HTTP server each, and the cluster verbs nemeses need for them.

For nemesis tests that are about the fault, not the database: each node's
server answers `GET /` with its wall clock (`time.time()`), so a test can see
a node reachable or not, paused or not, killed or restarted, and its clock
moved by libfaketime. `ProcessControl` is the `ClusterControl` of these plain
processes: kill and restart them, a fixed leader and primary, and a
libfaketime offset file per node when asked.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from unkindness.harness.db import FAKETIME_SETTINGS
from unkindness.harness.runtimes.local import find_libfaketime
from unkindness.harness.resources import new_run_id
from unkindness.harness.runtimes.netns import NetnsRuntime

SERVER = ("import http.server, json, time\n"
          "class H(http.server.BaseHTTPRequestHandler):\n"
          "    def do_GET(self):\n"
          "        body = json.dumps({'time': time.time()}).encode()\n"
          "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers()\n"
          "        self.wfile.write(body)\n"
          "    def log_message(self, *a): pass\n"
          "import sys\n"
          "http.server.ThreadingHTTPServer((sys.argv[1], 8000), H).serve_forever()\n")


class ProcessControl:
    def __init__(self, runtime: NetnsRuntime, workdir: Path, faketime: bool = False, leader: str | None = "n1") -> None:
        self.runtime = runtime
        self.workdir = workdir
        self.faketime = find_libfaketime() if faketime else None
        self._leader = leader

    def argv(self, node) -> list[str]:
        return [sys.executable, "-c", SERVER, node.ip]

    def env(self, node) -> dict[str, str]:
        if self.faketime is None:
            return {}
        f = self.clock_file(node)
        if not f.exists():
            f.write_text("+0.000\n")
        return {"LD_PRELOAD": self.faketime, "FAKETIME_TIMESTAMP_FILE": str(f), **FAKETIME_SETTINGS}

    def start_all(self) -> None:
        for n in self.runtime.nodes:
            n.start(self.argv(n), self.workdir / f"{n.name}.log", self.env(n))
        for n in self.runtime.nodes:
            wait_answering(self.runtime.nodes[0] if n is not self.runtime.nodes[0] else n, n)

    # ClusterControl
    def kill(self, node) -> None:
        node.kill()

    def restart(self, node) -> None:
        node.start(self.argv(node), self.workdir / f"{node.name}.log", self.env(node))
        wait_answering(node, node)

    def leader(self) -> str | None:
        return self._leader

    def primaries(self) -> list[str]:
        return [self.runtime.nodes[0].name]

    def clock_file(self, node) -> Path | None:
        return None if self.faketime is None else self.workdir / f"{node.name}.clock"


def ask(src, dst, timeout: float = 0.5) -> dict | None:
    """`GET /` of dst's server from inside src's namespace; None when it does not answer."""
    code = (f"import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://{dst.ip}:8000/', "
            f"timeout={timeout}).read().decode())")
    cp = src.exec([sys.executable, "-c", code], check=False, timeout=10 + timeout)
    return json.loads(cp.stdout) if cp.returncode == 0 and cp.stdout else None


def ask_from_host(node, timeout: float = 0.5) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://{node.ip}:8000/", timeout=timeout) as r:
            return json.loads(r.read())
    except OSError:
        return None


def wait_answering(src, dst, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while ask(src, dst) is None:
        assert time.monotonic() < deadline, f"{dst.name} did not answer"
        time.sleep(0.1)


@contextlib.contextmanager
def process_nodes(tmp_path: Path, n: int, *, faketime: bool = False) -> Iterator[tuple[NetnsRuntime, ProcessControl]]:
    """n namespaces with a tiny server each (removed afterwards, whatever happens)."""
    rt = NetnsRuntime(new_run_id(), n)
    rt.setup()
    try:
        control = ProcessControl(rt, tmp_path, faketime=faketime)
        control.start_all()
        yield rt, control
    finally:
        rt.teardown()
