"""The local runtime: each node a server process on this machine, on a loopback address of its own.

Nodes n1..nN listen on 127.K.L.1..N, port 8080 (Linux answers for all of
127.0.0.0/8 without configuration), their folders in the run's folder. No
root, no namespaces, no containers: the quickest way to try a workload, and
the launcher the project's own tests and benchmarks use for real server
processes (tests/support/server_procs.py).

What it cannot do: the nodes share this machine's network stack, so a
firewall rule or a qdisc would cut the harness and every other program too.
Partitions and packet faults are refused before anything starts (they need
--runtime netns, docker or ssh). Kill, pause, clock (libfaketime) and
membership faults work.

Every server is journaled before it exists (harness/resources.py), so
teardown and `harness clean` stop it by pid and start time even after the
harness was killed.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from unkindness.harness.resources import Journal, process_start_time
from unkindness.harness.runtimes.base import RuntimeBase, RuntimeError_

PORT = 8080  # the db lifecycle's port (harness/db.py), the same on every runtime

# Debian's libfaketime (package faketime); the clock nemesis refuses to run without it.
LIBFAKETIME_PATHS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                     "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                     "/usr/lib/faketime/libfaketime.so.1", "/usr/local/lib/faketime/libfaketime.so.1")


def find_libfaketime() -> str | None:
    return next((p for p in LIBFAKETIME_PATHS if Path(p).is_file()), None)


def run_command(argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
    """A command on this machine; a missing program, a timeout or (with ``check``) a failure is a RuntimeError_."""
    try:
        cp = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise RuntimeError_(f"{argv[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError_(f"{' '.join(argv)} did not finish within {timeout:g} s") from None
    if check and cp.returncode != 0:
        raise RuntimeError_(f"{' '.join(argv)} failed: {(cp.stderr or cp.stdout).strip()}")
    return cp


def server_command() -> list[str]:
    """The server's console script next to this interpreter (the venv's), else on PATH."""
    local = Path(sys.executable).with_name("unkindness-server")
    if local.exists():
        return [str(local)]
    found = shutil.which("unkindness-server")
    if found:
        return [found]
    return [sys.executable, "-m", "unkindness.server.cli"]


@dataclass
class LocalNode:
    """A folder on this machine and at most one server process, started as a child of this one."""

    name: str
    ip: str
    root: Path  # data/, server.log, clock-offset
    journal: Journal | None = None  # None: the caller cleans up (the tests' fixtures)
    proc: subprocess.Popen | None = field(default=None, repr=False)
    # Whether the node has a network stack of its own, so a firewall rule there cuts only it.
    own_network = False

    @property
    def data_dir(self) -> str:
        return str(self.root / "data")

    @property
    def log_file(self) -> str:
        return str(self.root / "server.log")

    def prefix(self) -> list[str]:
        """What a command on the node runs under (nothing here; a namespace for netns)."""
        return []

    def server_command(self) -> list[str]:
        return server_command()  # the harness's own installation

    def write_file(self, path: str, text: str) -> None:
        tmp = Path(path).with_name(Path(path).name + ".new")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text)
        tmp.replace(path)

    def fetch_log(self, dest: Path) -> None:
        if Path(self.log_file).resolve() != dest.resolve() and Path(self.log_file).is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.log_file, dest)

    def libfaketime(self) -> str | None:
        return find_libfaketime()

    def exec(self, argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
        return run_command([*self.prefix(), *argv], timeout=timeout, check=check)

    def start(self, argv: Sequence[str], log_path: Path | str | None = None, env: dict[str, str] | None = None) -> int:
        """Starts the server in a session of its own (a Ctrl-C to the harness does not reach it: the
        harness stops it), its output appended to ``log_path`` (default: the node's log)."""
        if self.running():
            raise RuntimeError_(f"{self.name}: a server is already running (pid {self.proc.pid})")
        log_path = Path(log_path or self.log_file)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen([*self.prefix(), *argv], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env={**os.environ, **(env or {})})
        if self.journal is not None:
            self.journal.add_process(self.proc.pid, node=self.name, **self.journal_fields())
        return self.proc.pid

    def journal_fields(self) -> dict[str, Any]:
        return {}

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> bool:
        if not self.running():
            return False
        try:
            os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM (after SIGCONT: a paused server cannot act on it), SIGKILL after ``timeout``;
        returns the exit code (None if it never ran)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (a stopped process dies too), and reap it, so a restart finds the node free."""
        if self.signal(signal.SIGKILL):
            self.proc.wait(5)


def kill_pid(pid: int) -> None:
    """SIGKILL, after SIGCONT (a stopped process must run to die); quiet if it is gone."""
    for sig in (signal.SIGCONT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return


def kill_journaled_processes(entries: list[dict]) -> list[str]:
    """Kills the processes journal entries name, if the pid still is that process (same start time)."""
    removed = []
    for e in entries:
        pid = e.get("pid")
        if e.get("kind") == "process" and isinstance(pid, int) and pid > 1 \
                and process_start_time(pid) == e.get("start_time"):
            kill_pid(pid)
            removed.append(f"process {pid} ({e.get('node', '?')})")
    return removed


def port_free(ip: str, port: int = PORT) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


def pick_addresses(run_id: str, n: int, subnet: str | None = None) -> list[str]:
    """n loopback addresses whose port 8080 is free: in ``subnet`` (within 127.0.0.0/8) if
    given, else in a 127.K.L.0/24 derived from the run id (the next one if taken)."""
    loopback = ipaddress.ip_network("127.0.0.0/8")
    if subnet is not None:
        try:
            nets = [ipaddress.ip_network(subnet)]
        except ValueError as e:
            raise RuntimeError_(f"--subnet {subnet!r}: {e}") from None
        if not nets[0].subnet_of(loopback):
            raise RuntimeError_(f"--subnet {subnet} is not loopback: the local runtime's nodes live in 127.0.0.0/8")
    else:
        start = int(run_id, 16)
        nets = [ipaddress.ip_network(f"127.{100 + (k // 250) % 150}.{k % 250}.0/24")
                for k in range(start, start + 20)]
    for net in nets:
        hosts = [str(h) for h in list(net.hosts())[:n]]
        if len(hosts) == n and all(port_free(h) for h in hosts):
            return hosts
    raise RuntimeError_(f"no {n} loopback addresses with port {PORT} free in {', '.join(map(str, nets[:3]))}...; "
                        "pass --subnet 127.X.Y.0/24")


@dataclass(frozen=True)
class Options:
    """The local runtime has no options of its own (--subnet is every runtime's)."""


class LocalRuntime(RuntimeBase):
    """Nodes as processes of this machine, their folders in the run's (or a scratch) folder;
    netns's runtime is this one with a namespace per node."""

    name = "local"
    Options = Options

    def __init__(self, run_id: str, n_nodes: int, options: Options | None = None, run_dir: Path | None = None,
                 **kwargs: Any) -> None:
        super().__init__(run_id, n_nodes, options, **kwargs)
        self.nodes: list[LocalNode] = []
        self.scratch = run_dir is None
        self.run_dir = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix=f"unkindness-{run_id}-"))

    def preflight(self) -> None:
        """Nothing to refuse: any user can start processes on loopback."""

    def setup(self) -> None:
        ips = pick_addresses(self.run_id, self.n, self.subnet_arg)
        self.journal.add("runtime", runtime="local", addresses=ips)
        self.nodes = [LocalNode(name=f"n{i + 1}", ip=ip, root=self.run_dir / "nodes" / f"n{i + 1}",
                                journal=self.journal) for i, ip in enumerate(ips)]

    def teardown(self) -> list[str]:
        """Stops every server (all at once, then waits) and forgets the run; returns what it removed."""
        for node in self.nodes:
            node.signal(signal.SIGCONT)
            node.signal(signal.SIGTERM)
        for node in self.nodes:
            node.stop()
        removed = self.clean(self.journal.entries())
        self.journal.remove()
        if self.scratch:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return removed

    def clean(self, entries: list[dict]) -> list[str]:
        return clean_entries(entries)


def clean_entries(entries: list[dict]) -> list[str]:
    """Kills the servers a local run journaled; idempotent. (Processes of other runtimes are
    their runtime's: a netns server is killed with its namespace.)"""
    if not any(e.get("kind") == "runtime" and e.get("runtime") == "local" for e in entries):
        return []
    return kill_journaled_processes(entries)


def orphans(live_run_ids: set[str]) -> list[str]:
    """Nothing to find without a journal: a local server is an ordinary process, recognisable
    only by the journal that names it (kept in /run until `harness clean` replays it)."""
    return []


RUNTIME = LocalRuntime
