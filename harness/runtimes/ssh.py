"""The ssh runtime: nodes are existing Debian-like machines the harness logs into with paramiko.

`--nodes-file FILE` lists one machine per line, as Jepsen's nodes file does,
with optional per-line settings (the CLI's --ssh-* flags are the defaults):

    # [user@]host[:port] [ip=ADDR] [key=PATH] [known_hosts=PATH]
    admin@db1.example.com
    root@10.0.0.12:2222 key=~/.ssh/lab_ed25519

On each machine setup:
- logs in (known host keys required unless --ssh-accept-new-host-keys) and,
  when the login is not root, runs every command through `sudo -n`;
- installs this checkout once per source digest: uploads the wheels of the
  project and its dependencies (runtimes/package.py), creates a virtual
  environment under REMOTE_DIR/install/DIGEST, and installs from them offline;
- gives the run a folder REMOTE_DIR/runs/RUNID-NAME (data/, server.log,
  server.pid, clock-offset), where the server runs detached under a pidfile
  (ShellNode).
Every machine is journaled before it is touched, so teardown and `harness
clean` (even after a SIGKILL of the harness) log in again, kill that run's
server, remove our iptables chains and packet qdisc, and delete its folder.
A first-run error names the node, what failed and the fix.
"""

from __future__ import annotations

import importlib.util
import platform
import posixpath
import shlex
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from unkindness.harness.options import opt
from unkindness.harness.runtimes.base import RuntimeBase, RuntimeError_
from unkindness.harness.runtimes.package import project_root, source_digest, wheelhouse
from unkindness.harness.runtimes.shell_node import ShellNode

CHAINS = ("UNKINDNESS", "UNKINDNESS-PKT")  # the partition and packet nemeses' iptables chains
TOOLS = ("iptables", "tc", "ip", "flock")


@dataclass(frozen=True)
class Options:
    nodes_file: str = opt("", "The machines to run on (ssh runtime), one per line: [user@]host[:port] "
                              "[ip=ADDR] [key=PATH] [known_hosts=PATH]. `harness lab up` writes one.")
    ssh_user: str = opt("root", "The login on every node not naming its own (ssh runtime); other than root, "
                                "commands run through passwordless sudo.")
    ssh_key: str = opt("", "The private key to log in with (ssh runtime); default: the SSH agent and ~/.ssh/id_*.")
    ssh_port: int = opt(22, "The SSH port of every node not naming its own (ssh runtime).", min=1, max=65535)
    ssh_known_hosts: str = opt("~/.ssh/known_hosts", "Known host keys (ssh runtime); the system's are read too.")
    ssh_accept_new_host_keys: bool = opt(False, "Accept and remember the key of a host not yet known (ssh "
                                                "runtime), as ssh's StrictHostKeyChecking=accept-new; a changed "
                                                "key is always refused.")
    ssh_remote_dir: str = opt("/var/lib/unkindness", "Where on each node the installation and each run's "
                                                     "folder live (ssh runtime).")


@dataclass
class Host:
    """One line of a nodes file, with the CLI's defaults filled in."""

    host: str
    port: int
    user: str
    key: str  # "" for the agent and ~/.ssh/id_*
    known_hosts: str
    ip: str  # the address the other nodes and the harness reach its server at
    line: int = 0

    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def read_nodes_file(path: str, o: Options) -> list[Host]:
    """The machines a nodes file lists; a malformed line is refused with its number."""
    if not path:
        raise RuntimeError_("the ssh runtime needs --nodes-file FILE (one machine per line; `harness lab up` "
                            "makes a local one)")
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise RuntimeError_(f"--nodes-file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise RuntimeError_(f"--nodes-file {path}: not a text file") from None
    hosts = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        first, *fields = line.split()
        settings = {}
        for f in fields:
            k, sep, v = f.partition("=")
            if not sep or k not in ("ip", "key", "known_hosts", "port", "user") or not v:
                raise RuntimeError_(f"{path}:{number}: {f!r} is not a setting; a line is [user@]host[:port] "
                                    "[ip=ADDR] [key=PATH] [known_hosts=PATH]")
            settings[k] = v
        user, at, hostport = first.rpartition("@")
        host, port = hostport, str(o.ssh_port)
        if hostport.startswith("["):  # [v6 address]:port
            host, _, rest = hostport[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else port
        elif hostport.count(":") == 1:
            host, port = hostport.split(":")
        port = settings.get("port", port)
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise RuntimeError_(f"{path}:{number}: {first!r} is not [user@]host[:port]")

        def rel(v: str) -> str:  # a path in the file is relative to the file
            q = Path(v).expanduser()
            return str(q if q.is_absolute() else (p.parent / q).resolve())

        hosts.append(Host(host=host, port=int(port), user=settings.get("user") or (user if at else o.ssh_user),
                          key=rel(settings["key"]) if "key" in settings else (str(Path(o.ssh_key).expanduser())
                                                                             if o.ssh_key else ""),
                          known_hosts=rel(settings["known_hosts"]) if "known_hosts" in settings
                          else str(Path(o.ssh_known_hosts).expanduser()),
                          ip=settings.get("ip", ""), line=number))
    if not hosts:
        raise RuntimeError_(f"--nodes-file {path} lists no machines")
    return hosts


class Connection:
    """One SSH session to one machine; commands run on channels of it, from any thread."""

    def __init__(self, name: str, h: Host, accept_new: bool) -> None:
        self.name = name
        self.h = h
        self.accept_new = accept_new
        self.client: Any = None
        self.reached = False  # logged in at least once: only then can a run have left anything there
        self.lock = threading.Lock()

    def connect(self, timeout: float = 10.0) -> None:
        try:
            import paramiko
        except ImportError:
            raise RuntimeError_("the ssh runtime needs paramiko: pip install paramiko") from None
        h, who = self.h, f"{self.name} ({self.h.where()})"
        c = paramiko.SSHClient()
        try:
            c.load_system_host_keys()
        except OSError:
            pass
        known = Path(h.known_hosts)
        if known.is_file():
            try:
                c.load_host_keys(str(known))
            except (OSError, paramiko.SSHException) as e:
                raise RuntimeError_(f"{who}: cannot read known hosts {known}: {e}; fix or remove the file") from None
        elif self.accept_new:
            known.parent.mkdir(parents=True, exist_ok=True)
            known.touch()
            c.load_host_keys(str(known))  # so new keys are saved there
        c.set_missing_host_key_policy(paramiko.AutoAddPolicy() if self.accept_new else paramiko.RejectPolicy())
        key_words = f"key {h.key}" if h.key else "the SSH agent and ~/.ssh/id_*"
        if h.key and not Path(h.key).is_file():
            raise RuntimeError_(f"{who}: no private key at {h.key}; check --ssh-key or key= in the nodes file")
        try:
            c.connect(h.host, port=h.port, username=h.user, key_filename=h.key or None, timeout=timeout,
                      banner_timeout=timeout, auth_timeout=timeout, allow_agent=not h.key, look_for_keys=not h.key)
        except socket.gaierror:
            raise RuntimeError_(f"{who}: host name not found: {h.host}; check the nodes file") from None
        except paramiko.BadHostKeyException as e:
            raise RuntimeError_(
                f"{who}: the host key changed (got {e.key.get_name()} {e.key.get_fingerprint().hex()}, known as "
                f"{e.expected_key.get_fingerprint().hex()} in {h.known_hosts}): if the machine was reinstalled, "
                f"remove its line (ssh-keygen -R {h.host}); otherwise someone may be in the middle") from None
        except paramiko.AuthenticationException:
            raise RuntimeError_(f"{who}: authentication failed for user {h.user} with {key_words}; check "
                                "--ssh-user / --ssh-key (or user@ and key= in the nodes file)") from None
        except paramiko.SSHException as e:
            if "not found in known_hosts" in str(e):
                add = f"ssh-keyscan -p {h.port} {h.host} >> {h.known_hosts}" if h.port != 22 else \
                    f"ssh-keyscan {h.host} >> {h.known_hosts}"
                raise RuntimeError_(f"{who}: its host key is not known (not in {h.known_hosts} or the system's "
                                    f"known hosts); check it and add it ({add}), or pass "
                                    "--ssh-accept-new-host-keys") from None
            raise RuntimeError_(f"{who}: SSH failed: {e}") from None
        except (socket.timeout, TimeoutError):
            raise RuntimeError_(f"{who}: no answer within {timeout:g} s; is the machine up and port {h.port} "
                                "open?") from None
        except OSError as e:
            inner = list((getattr(e, "errors", None) or {}).values())  # paramiko's NoValidConnectionsError
            why = (inner[0].strerror if inner and isinstance(inner[0], OSError) else None) or e.strerror or str(e)
            raise RuntimeError_(f"{who}: cannot connect ({why}); is sshd running on port {h.port}?") from None
        if self.accept_new and known.is_file():
            try:
                c.save_host_keys(str(known))
            except OSError:
                pass
        c.get_transport().set_keepalive(5)
        self.client = c
        self.reached = True

    def run(self, command: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
        """Runs a shell command line; its exit status, stdout and stderr."""
        if not self._alive():
            with self.lock:
                if not self._alive():  # another thread may have reconnected meanwhile
                    self.connect()
        try:
            chan = self.client.get_transport().open_session(timeout=timeout)
            chan.settimeout(timeout)
            chan.exec_command(command)
            out, err = chan.makefile("rb").read(), chan.makefile_stderr("rb").read()
            rc = chan.recv_exit_status()
            chan.close()
        except (socket.timeout, TimeoutError):
            raise RuntimeError_(f"{self.name}: {command[:100]} did not finish within {timeout:g} s") from None
        except Exception as e:  # noqa: BLE001 - paramiko raises several kinds for a lost session
            raise RuntimeError_(f"{self.name} ({self.h.where()}): {command[:80]}: the SSH session failed: "
                                f"{type(e).__name__}: {e}") from None
        return subprocess.CompletedProcess(command, rc, out.decode(errors="replace"), err.decode(errors="replace"))

    def _alive(self) -> bool:
        transport = self.client.get_transport() if self.client is not None else None
        return transport is not None and transport.is_active()

    def put_files(self, files: Sequence[Path], remote_dir: str) -> None:
        sftp = self.client.open_sftp()
        try:
            for f in files:
                sftp.put(str(f), posixpath.join(remote_dir, f.name))
        finally:
            sftp.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class SshNode(ShellNode):
    """One machine; commands run over SSH, through sudo unless the login is root."""

    def __init__(self, name: str, conn: Connection, ip: str, root: str, server: str) -> None:
        self.name = name
        self.conn = conn
        self.ip = ip
        self.root = root
        self.server_argv = [server]
        self.sudo = conn.h.user != "root"

    def exec(self, argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
        line = shlex.join(["sudo", "-n", "--", *argv] if self.sudo else list(argv))
        cp = self.conn.run(line, timeout)
        cp.args = list(argv)
        if check and cp.returncode != 0:
            raise RuntimeError_(f"{self.name}: {' '.join(argv)[:120]} failed: {(cp.stderr or cp.stdout).strip()[:300]}")
        return cp


def cleanup_script(root: str, peers: Sequence[str]) -> str:
    """Undoes on a machine everything a run may have left there: its server (by pidfile, only if
    that pid still runs from the run's folder), our iptables chains, a packet qdisc on the
    interface the peers are reached through, and the run's folder."""
    q = shlex.quote(root)
    peer = shlex.quote(peers[0]) if peers else "''"
    chains = " ".join(CHAINS)
    return f"""
p=$(cat {q}/server.pid 2>/dev/null)
if [ -n "$p" ] && [ -d /proc/$p ] && grep -q -F {q} /proc/$p/cmdline 2>/dev/null; then
  kill -CONT $p 2>/dev/null; kill -KILL $p 2>/dev/null && echo "server pid $p"
fi
for c in {chains}; do
  while iptables -D INPUT -j $c 2>/dev/null; do :; done
  iptables -F $c 2>/dev/null && iptables -X $c 2>/dev/null && echo "iptables chain $c"
done
if [ -n {peer} ]; then
  dev=$(ip -o route get {peer} 2>/dev/null | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')
  if [ -n "$dev" ] && tc qdisc show dev "$dev" | grep -qE '^qdisc (tbf|netem) [0-9a-f]+: root'; then
    tc qdisc del dev "$dev" root && echo "qdisc on $dev"
  fi
fi
[ -d {q} ] && rm -rf {q} && echo "folder {root}"
true
"""


def _as_root(sudo: bool, script: str) -> str:
    return shlex.join(["sudo", "-n", "sh", "-c", script] if sudo else ["sh", "-c", script])


class SshRuntime(RuntimeBase):
    """Logs into the machines of a nodes file, installs the server there, and cleans up after."""

    name = "ssh"
    Options = Options

    def __init__(self, run_id: str, n_nodes: int, options: Options | None = None, **kwargs: Any) -> None:
        super().__init__(run_id, n_nodes, options, **kwargs)
        self.nodes: list[SshNode] = []
        self.conns: list[Connection] = []

    def hosts(self) -> list[Host]:
        hosts = read_nodes_file(self.options.nodes_file, self.options)
        if len(hosts) < self.n:
            raise RuntimeError_(f"--nodes {self.n} needs {self.n} machines; {self.options.nodes_file} lists "
                                f"{len(hosts)}")
        hosts = hosts[:self.n]
        for i, h in enumerate(hosts, 1):
            if not h.ip:
                try:
                    h.ip = socket.gethostbyname(h.host)
                except OSError:
                    raise RuntimeError_(f"n{i} ({h.where()}): host name not found: {h.host}; check the nodes "
                                        "file") from None
        return hosts

    def preflight(self) -> list[Host]:
        """The machines to use (read and resolved once), or a refusal before anything is touched."""
        if importlib.util.find_spec("paramiko") is None:
            raise RuntimeError_("the ssh runtime needs paramiko: pip install paramiko")
        return self.hosts()

    def setup(self) -> None:
        hosts = self.preflight()
        root_dir = project_root()
        digest = source_digest(root_dir)
        wheels = wheelhouse(root_dir, digest, self.log)
        remote = self.options.ssh_remote_dir.rstrip("/") or "/"
        install = posixpath.join(remote, "install", digest)
        ips = [h.ip for h in hosts]
        for i, h in enumerate(hosts, 1):
            name = f"n{i}"
            root = posixpath.join(remote, "runs", f"{self.run_id}-{name}")
            self.journal.add("ssh-node", name=name, host=h.host, port=h.port, user=h.user, key=h.key,
                             known_hosts=h.known_hosts, accept_new=self.options.ssh_accept_new_host_keys,
                             root=root, peers=[x for x in ips if x != h.ip])
            conn = Connection(name, h, self.options.ssh_accept_new_host_keys)
            self.conns.append(conn)
            conn.connect()
            node = SshNode(name, conn, h.ip, root, posixpath.join(install, "venv", "bin", "unkindness-server"))
            self._check(node)
            self._install(node, install, wheels, digest)
            node.exec(["sh", "-c", f"rm -rf {shlex.quote(root)} && mkdir -p {shlex.quote(root)}/data"])
            self.nodes.append(node)

    def _check(self, node: SshNode) -> None:
        """Refuses a machine the run cannot use, saying what to change on it."""
        h = node.conn.h
        if node.sudo:
            cp = node.conn.run("sudo -n true")
            if cp.returncode != 0:
                raise RuntimeError_(f"{node.name} ({h.where()}): sudo needs a password for user {h.user} "
                                    f"({(cp.stderr or cp.stdout).strip()[:120]}); allow passwordless sudo "
                                    "(NOPASSWD in /etc/sudoers.d) or log in as root")
        probe = node.exec(["sh", "-c", "uname -m; python3 -c 'import sys, venv, ensurepip; print(\"%d.%d\" % "
                                       "sys.version_info[:2])' 2>&1; for t in " + " ".join(TOOLS) +
                           "; do command -v $t >/dev/null || echo missing $t; done"], check=False)
        lines = probe.stdout.splitlines()
        arch, py = (lines + ["", ""])[:2]
        missing = [x.split()[1] for x in lines if x.startswith("missing ")]
        here = f"{sys.version_info[0]}.{sys.version_info[1]}"
        if arch and arch != platform.machine():
            raise RuntimeError_(f"{node.name} ({h.where()}): is {arch}, this harness {platform.machine()}: the "
                                "wheels it ships are built here; run the harness on a machine of the same kind")
        if py != here:
            raise RuntimeError_(f"{node.name} ({h.where()}): needs python3 {here} with venv (the wheels are built "
                                f"for this harness's Python), found: {py[:120] or 'nothing'}; install python3 and "
                                "python3-venv, or run the harness with the nodes' Python version")
        if missing:
            raise RuntimeError_(f"{node.name} ({h.where()}): {', '.join(missing)} not installed; the nemeses need "
                                "them: apt-get install -y iptables iproute2 util-linux")

    def _install(self, node: SshNode, install: str, wheels: Path, digest: str) -> None:
        """This checkout into a venv on the machine, once per digest (a second run installs nothing)."""
        marker = posixpath.join(install, ".installed")
        if node.exec(["test", "-e", marker], check=False).returncode == 0:
            return
        if self.log:
            self.log(f"{node.name}: installing the server ({digest}) into {install}...")
        upload = f"/tmp/unkindness-wheels-{digest}-{self.run_id}"
        node.conn.run(f"mkdir -p {shlex.quote(upload)}")
        try:
            node.conn.put_files(sorted(p for p in wheels.iterdir() if p.suffix == ".whl"), upload)
            q, w = shlex.quote(install), shlex.quote(upload)
            parent = shlex.quote(posixpath.dirname(install))
            script = (f"set -e; mkdir -p {parent}; exec 9>{q}.lock; flock 9; if [ ! -e {q}/.installed ]; then "
                      f"rm -rf {q}; python3 -m venv {q}/venv; {q}/venv/bin/pip install -q --no-index "
                      f"--find-links {w} unkindness; touch {q}/.installed; fi")
            cp = node.conn.run(_as_root(node.sudo, script), timeout=600)
            if cp.returncode != 0:
                raise RuntimeError_(f"{node.name}: installing the server into {install} failed: "
                                    f"{(cp.stderr or cp.stdout).strip()[-500:]}")
        finally:
            node.conn.run(f"rm -rf {shlex.quote(upload)}")

    def teardown(self) -> list[str]:
        """Stops every server, undoes every fault, removes each run folder; logs are fetched before."""
        removed: list[str] = []
        for node in self.nodes:
            try:
                node.stop()
            except RuntimeError_:
                pass
        never = {c.name for c in self.conns if not c.reached}  # setup stopped before logging in there
        removed += clean_entries([e for e in self.journal.entries() if e.get("name") not in never], self.conns)
        for c in self.conns:
            c.close()
        self.journal.remove()
        return removed


def clean_entries(entries: list[dict], conns: Sequence[Connection] = ()) -> list[str]:
    """Logs into each journaled machine and undoes the run there; says which it could not reach."""
    from unkindness.harness.runtimes import ssh_lab

    removed: list[str] = []
    open_ = {c.name: c for c in conns if c.client is not None}
    for e in entries:
        if e.get("kind") != "ssh-node":
            continue
        h = Host(host=e["host"], port=int(e["port"]), user=e["user"], key=e.get("key", ""),
                 known_hosts=e.get("known_hosts", ""), ip="")
        conn = open_.get(e["name"]) or Connection(e["name"], h, bool(e.get("accept_new")))
        try:
            if conn.client is None:
                conn.connect(timeout=5)
            cp = conn.run(_as_root(h.user != "root", cleanup_script(e["root"], e.get("peers") or [])), timeout=30)
            removed += [f"{x} on {e['name']} ({h.where()})" for x in cp.stdout.split("\n") if x.strip()]
        except RuntimeError_ as err:
            print(f"warning: could not clean up {e['name']}: {err}. If the run left anything there, undo it by "
                  f"hand: kill the pid in {e['root']}/server.pid, `iptables -D INPUT -j C; iptables -F C; "
                  f"iptables -X C` for C in {', '.join(CHAINS)}, and rm -rf {e['root']}", file=sys.stderr)
        finally:
            if e["name"] not in open_:
                conn.close()
    return removed + ssh_lab.remove_folders(entries)


def orphans(live_run_ids: set[str]) -> list[str]:
    """Machines are only ever known from a journal: nothing to find without one."""
    return []


RUNTIME = SshRuntime
