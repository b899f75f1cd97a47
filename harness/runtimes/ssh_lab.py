"""`harness lab up/down`: SSH hosts on this machine, so anyone can try the ssh runtime.

Each lab host is a network namespace (made as the netns runtime makes them)
running its own `sshd` on port 22 of its address, with a generated host key;
root (or, with --sudo-login, a lab user with passwordless sudo) logs in with a
generated client key. The lab's folder holds the keys, a
known_hosts file, each sshd's config and log, and `nodes.txt`, which names all
of them, so `harness test --runtime ssh --nodes-file DIR/nodes.txt` works as
typed. Like a run, a lab is journaled before anything is created: `harness lab
down` and `harness clean` remove its namespaces (with the sshds and any server
a run left in them) and its folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from unkindness.harness.resources import Journal, journals, new_run_id, read_entries
from unkindness.harness.runtimes import netns
from unkindness.harness.runtimes.base import RuntimeError_

SSHD = "/usr/sbin/sshd"
MARKER = ".unkindness-lab"  # a lab's folder holds it; only such folders are ever removed
KEYS_DIR = Path("/run/unkindness-lab")  # the labs' authorized_keys files


@dataclass
class Lab:
    run_id: str
    dir: Path
    nodes_file: Path
    ips: list[str]
    login: str = "root"


def _sh(argv: list[str]) -> None:
    try:
        cp = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise RuntimeError_(f"{argv[0]} is not installed: apt-get install -y openssh-server openssh-client") from None
    if cp.returncode != 0:
        raise RuntimeError_(f"{' '.join(argv)} failed: {(cp.stderr or cp.stdout).strip()[:300]}")


def _keygen(path: Path) -> str:
    _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "unkindness-lab", "-f", str(path)])
    return path.with_name(path.name + ".pub").read_text().strip()


def _wait_listening(ip: str, port: int = 22, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((ip, port), timeout=1) as s:
                if s.recv(4).startswith(b"SSH"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError_(f"sshd on {ip}:{port} did not answer within {timeout:g} s")
        time.sleep(0.05)


def up(n: int, directory: Path, subnet: str | None = None, sudo_login: bool = False,
       log: Callable[[str], None] = print) -> Lab:
    """Starts n SSH hosts and writes DIR/nodes.txt; refuses a folder that is in use.

    With `sudo_login` the nodes file logs in as a user of the lab's own (`ukID`, no password, no
    home) whom /etc/sudoers.d lets run anything without a password, as on machines where root
    cannot log in; both are journaled and removed with the lab.
    """
    netns.preflight()
    if not os.access(SSHD, os.X_OK):
        raise RuntimeError_(f"{SSHD} is missing: apt-get install -y openssh-server")
    if sudo_login and not shutil.which("sudo"):
        raise RuntimeError_("--sudo-login needs sudo: apt-get install -y sudo")
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        raise RuntimeError_(f"{directory} is not empty: `harness lab down --dir {directory}` first, or choose "
                            "another --dir")
    run_id = new_run_id()
    journal = Journal(run_id)
    journal.add("lab", dir=str(directory))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(run_id + "\n")
    rt = netns.NetnsRuntime(run_id, n, subnet=subnet, journal=journal, run_dir=directory / "hosts")
    login = "root"
    try:
        rt.setup()
        if sudo_login:
            login = f"uk{run_id}"
            journal.add("lab-user", name=login, sudoers=f"/etc/sudoers.d/{login}")
            # "*": no password can match, yet the account is not locked ("!"), which sshd would refuse
            _sh(["useradd", "--no-create-home", "--shell", "/bin/sh", "--password", "*", "--comment",
                 "harness lab login", login])
            Path(f"/etc/sudoers.d/{login}").write_text(f"{login} ALL=(ALL) NOPASSWD: ALL\n")
            os.chmod(f"/etc/sudoers.d/{login}", 0o440)
        client_pub = _keygen(directory / "id_ed25519")
        # sshd reads it as the login user, who may not reach into the lab's folder (a 0700 parent):
        # a world-readable copy outside it, journaled, removed with the lab.
        authorized = KEYS_DIR / f"uk{run_id}.authorized_keys"
        journal.add("lab-file", path=str(authorized))
        KEYS_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        authorized.write_text(client_pub + "\n")
        authorized.chmod(0o644)
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege separation folder
        known, lines = [], []
        for node in rt.nodes:
            d = directory / "hosts" / node.name
            d.mkdir(parents=True, exist_ok=True)
            host_pub = _keygen(d / "ssh_host_ed25519_key")
            (d / "sshd_config").write_text("\n".join([
                f"ListenAddress {node.ip}", "Port 22", f"HostKey {d / 'ssh_host_ed25519_key'}",
                f"PidFile {d / 'sshd.pid'}", f"AuthorizedKeysFile {authorized}",
                f"PermitRootLogin {'no' if sudo_login else 'prohibit-password'}", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "MaxSessions 100",
                "MaxStartups 100", "Subsystem sftp internal-sftp", "LogLevel ERROR", ""]))
            _sh(["ip", "netns", "exec", node.ns, SSHD, "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")])
            known.append(f"{node.ip} {' '.join(host_pub.split()[:2])}")
            lines.append(f"{login}@{node.ip} key=id_ed25519 known_hosts=known_hosts")
        for node in rt.nodes:
            _wait_listening(node.ip)
        (directory / "known_hosts").write_text("\n".join(known) + "\n")
        nodes_file = directory / "nodes.txt"
        nodes_file.write_text(f"# harness lab {run_id}: {n} SSH hosts on this machine (harness lab down "
                              "removes them)\n" + "\n".join(lines) + "\n")
    except BaseException:
        clean_lab(journal.entries())
        journal.remove()
        raise
    return Lab(run_id, directory, nodes_file, [node.ip for node in rt.nodes], login)


def clean_lab(entries: list[dict]) -> list[str]:
    """Removes a lab's namespaces (its sshds and whatever runs left inside) and its folder."""
    if not any(e.get("kind") == "lab" for e in entries):
        return []
    return netns.clean_entries(entries) + remove_folders(entries)


def remove_folders(entries: list[dict]) -> list[str]:
    """A lab's folder, if it still holds our marker (never anything else), and its login user."""
    removed = []
    for e in entries:
        f = Path(str(e.get("path", "")))
        if e.get("kind") == "lab-file" and f.parent == KEYS_DIR and f.is_file():
            f.unlink()
            removed.append(f"lab file {f}")
        if e.get("kind") == "lab-user" and str(e.get("name", "")).startswith("uk"):
            Path(str(e.get("sudoers", ""))).unlink(missing_ok=True)
            if subprocess.run(["userdel", e["name"]], capture_output=True).returncode == 0:
                removed.append(f"lab login user {e['name']} (and its sudoers entry)")
        d = Path(str(e.get("dir", "")))
        if e.get("kind") == "lab" and (d / MARKER).is_file():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(f"lab folder {d}")
    return removed


def down(directory: Path | None = None) -> list[str]:
    """Removes every lab (or the one in `directory`); raises if there was none."""
    removed, found = [], 0
    want = directory.resolve() if directory is not None else None
    for path in journals():
        entries = list(read_entries(path))
        labs = [Path(e["dir"]) for e in entries if e.get("kind") == "lab" and isinstance(e.get("dir"), str)]
        if not labs or (want is not None and want not in labs):
            continue
        found += 1
        removed += clean_lab(entries)
        path.unlink(missing_ok=True)
    if not found:
        raise RuntimeError_(f"no lab is up in {want}" if want else "no lab is up")
    return removed
