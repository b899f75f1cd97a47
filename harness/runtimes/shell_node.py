"""A node reached only through a command runner (docker exec, ssh), as Jepsen's `control` does.

The server runs detached on the node under a pidfile in the node's own
folder, so every verb (start, signal, running, stop, write a file, read the
log) is one shell command, and the same code serves containers and machines.
A runtime subclasses this and supplies `exec`.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

from unkindness.harness.runtimes.base import RuntimeError_

LIBFAKETIME_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"


class ShellNode:
    """The server side of a node whose files and processes live on the node."""

    name: str
    ip: str
    root: str  # the node's folder: data/, server.log, server.pid, clock-offset
    server_argv: list[str]  # how the server is started on this node
    own_network = True  # a container or a machine: its firewall rules touch it alone

    def exec(self, argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
        raise NotImplementedError

    # --- files --------------------------------------------------------------

    @property
    def data_dir(self) -> str:
        return f"{self.root}/data"

    @property
    def log_file(self) -> str:
        return f"{self.root}/server.log"

    @property
    def pidfile(self) -> str:
        return f"{self.root}/server.pid"

    def server_command(self) -> list[str]:
        return list(self.server_argv)

    def write_file(self, path: str, text: str) -> None:
        """Writes `text` whole (a reader never sees half of it): a new file, then a rename."""
        self.exec(["sh", "-c", 'mkdir -p "$(dirname "$2")" && printf %s "$1" > "$2.new" && mv -f "$2.new" "$2"',
                   "_", text, str(path)])

    def fetch_log(self, dest: Path) -> None:
        """Copies the server's log to `dest` on the harness host (the report links it)."""
        cp = self.exec(["cat", self.log_file], timeout=30, check=False)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(cp.stdout if cp.returncode == 0 else f"(no log on {self.name}: {cp.stderr.strip()})\n")

    def libfaketime(self) -> str | None:
        cp = self.exec(["sh", "-c", f"ls {LIBFAKETIME_GLOB} 2>/dev/null | head -1"], check=False)
        return cp.stdout.strip() or None

    # --- the server process ---------------------------------------------------

    def start(self, argv: Sequence[str], log_path: Path | str | None = None, env: dict[str, str] | None = None) -> int:
        if self.running():
            raise RuntimeError_(f"{self.name}: a server is already running")
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        script = (f"echo $$ > {shlex.quote(self.pidfile)}; exec env {assigns} {shlex.join(argv)} "
                  f">> {shlex.quote(self.log_file)} 2>&1 < /dev/null")
        self.exec(["sh", "-c", f"rm -f {shlex.quote(self.pidfile)}; mkdir -p {shlex.quote(self.root)}; "
                               f"setsid sh -c {shlex.quote(script)} > /dev/null 2>&1 < /dev/null &"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid = self._pid()
            if pid:
                return pid
            time.sleep(0.05)
        raise RuntimeError_(f"{self.name}: the server did not start (no {self.pidfile}); see {self.log_file}")

    def _pid(self) -> int | None:
        cp = self.exec(["cat", self.pidfile], check=False)
        text = cp.stdout.strip()
        return int(text) if cp.returncode == 0 and text.isdigit() else None

    def running(self) -> bool:
        # A zombie is not running: kill -0 succeeds on it, /proc/PID/status says Z.
        probe = ('p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null '
                 '&& ! grep -q "^State:[[:space:]]*Z" /proc/$p/status')
        return self.exec(["sh", "-c", probe, "_", self.pidfile], check=False).returncode == 0

    def signal(self, sig: int) -> bool:
        name = signal.Signals(sig).name[3:]
        cmd = 'p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill -s "$2" "$p"'
        return self.exec(["sh", "-c", cmd, "_", self.pidfile, name], check=False).returncode == 0

    def _wait_stopped(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                return True
            time.sleep(0.05)
        return False

    def stop(self, timeout: float = 5.0) -> None:
        if not self.running():
            return
        self.signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        self.signal(signal.SIGTERM)
        if not self._wait_stopped(timeout):
            self.kill()

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone, so a restart finds the node free."""
        if self.signal(signal.SIGKILL) and not self._wait_stopped(5):
            raise RuntimeError_(f"{self.name}: the server survived SIGKILL for 5 s")
