"""The docker runtime: one container per node from the top-level Dockerfile, on a bridge of its own.

For run id `abc123` with N nodes:
- network `ukabc123-net`, a user-defined bridge on a free 10.251.K.0/24, the
  host (the harness) at .254;
- containers `ukabc123-n1` ... at .1 ... .N, with NET_ADMIN (iptables and tc
  inside act on that node alone) and an init that reaps the server;
- every object labelled `unkindness.run=abc123` and journaled before it is
  created, so teardown and `harness clean` (even after a SIGKILL of the
  harness) remove exactly these.

The image is built once per source digest (`unkindness-node:<digest>`) from
wheels built here on the host: containers never need a registry. The server
runs detached inside the container under a pidfile (`ShellNode`), so a kill
nemesis stops the server, not the container, and its address and firewall
rules survive the restart. Its data and log live in the container; the log is
copied into the run's folder at teardown.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from unkindness.harness.options import opt
from unkindness.harness.runtimes.base import RuntimeBase, RuntimeError_
from unkindness.harness.runtimes.package import project_root, source_digest, wheelhouse
from unkindness.harness.runtimes.shell_node import ShellNode

LABEL = "unkindness.run"
IMAGE_REPO = "unkindness-node"
# Node images kept besides the one a run uses: one is built per source change (about 260 MB of its
# own each), and a day of editing the server left 24 of them, 6.6 GB. The newest few stay, so
# switching between branches rebuilds nothing.
KEEP_IMAGES = 3
NODE_ROOT = "/var/lib/unkindness"
SERVER = ["/opt/unkindness/bin/unkindness-server"]


@dataclass(frozen=True)
class Options:
    docker_base_image: str = opt(
        "python:3.11-slim-bookworm",
        "The Dockerfile's BASE for the node image (docker runtime): any Debian-like image with python3 "
        "and its venv module. Without a registry, build one with `make docker-base` "
        "(unkindness-base:bookworm).")


def client() -> Any:
    """The local engine (or DOCKER_HOST's), or a clear refusal."""
    try:
        import docker
    except ImportError:
        raise RuntimeError_("the docker runtime needs the docker package: pip install docker") from None
    try:
        c = docker.from_env(timeout=60)
        c.ping()
    except Exception as e:  # noqa: BLE001 - the SDK raises several kinds for "no engine"
        raise RuntimeError_(f"cannot reach the Docker engine ({type(e).__name__}: {str(e)[:200]}); start it "
                            "(e.g. `dockerd > /var/log/dockerd.log 2>&1 &`) or set DOCKER_HOST") from None
    return c


def ensure_image(c: Any, base: str, log: Any = None) -> str:
    """The node image for these sources and this base, built when missing."""
    import docker

    root = project_root()
    tag = f"{IMAGE_REPO}:{source_digest(root, base)}"
    try:
        c.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    try:
        c.images.get(base)
    except docker.errors.ImageNotFound:
        try:
            c.images.pull(base)
        except docker.errors.APIError as e:
            raise RuntimeError_(f"base image {base!r} is not here and cannot be pulled ({str(e)[:160]}); build a "
                                "local one with `make docker-base` and pass --docker-base-image "
                                "unkindness-base:bookworm") from None
    if log:
        log(f"building node image {tag} from {base} (once per source change)...")
    wheels = wheelhouse(root, source_digest(root), log)
    with tempfile.TemporaryDirectory(prefix="unkindness-image-") as ctx:
        shutil.copytree(wheels, Path(ctx) / "wheels")
        shutil.copy(root / "Dockerfile", Path(ctx) / "Dockerfile")
        try:
            c.images.build(path=ctx, tag=tag, buildargs={"BASE": base}, rm=True, forcerm=True,
                           labels={"unkindness.image": "node"})
        except docker.errors.BuildError as e:
            tail = "".join(str(x.get("stream") or x.get("error") or "") for x in e.build_log)[-800:]
            raise RuntimeError_(f"building {tag} from {base} failed: {e.msg}\n{tail}") from None
    removed = prune_images(c, IMAGE_REPO, tag)
    if log and removed:
        log(f"removed {len(removed)} older node image(s): {', '.join(removed)}")
    return tag


def prune_images(c: Any, repo: str, current: str, keep: int = KEEP_IMAGES) -> list[str]:
    """Removes `repo`'s images but `current` and the `keep` newest others; returns their tags.
    An image a container still uses (another run's) is left: the engine refuses, and that is fine."""
    import docker

    others = [im for im in c.images.list(name=repo) if current not in im.tags]
    others.sort(key=lambda im: im.attrs.get("Created", ""), reverse=True)
    removed = []
    for im in others[keep:]:
        try:
            c.images.remove(im.id)
            removed.append(im.tags[0] if im.tags else im.short_id)
        except docker.errors.APIError:
            pass
    return removed


class DockerNode(ShellNode):
    """One container; commands run through `docker exec`."""

    def __init__(self, name: str, ip: str, container: Any) -> None:
        self.name = name
        self.ip = ip
        self.container = container
        self.root = NODE_ROOT
        self.server_argv = list(SERVER)

    def exec(self, argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
        try:
            rc, (out, err) = self.container.exec_run(list(argv), demux=True)
        except Exception as e:  # noqa: BLE001 - a vanished container or engine
            raise RuntimeError_(f"{self.name}: docker exec {' '.join(argv)[:80]} failed: {e}") from None
        cp = subprocess.CompletedProcess(list(argv), rc, (out or b"").decode(errors="replace"),
                                         (err or b"").decode(errors="replace"))
        if check and rc != 0:
            raise RuntimeError_(f"{self.name}: {' '.join(argv)[:120]} failed: {(cp.stderr or cp.stdout).strip()[:300]}")
        return cp


class DockerRuntime(RuntimeBase):
    """Creates and removes the network and containers of one run."""

    name = "docker"
    Options = Options

    def __init__(self, run_id: str, n_nodes: int, options: Options | None = None, **kwargs: Any) -> None:
        super().__init__(run_id, n_nodes, options, **kwargs)
        self.nodes: list[DockerNode] = []

    def preflight(self) -> None:
        client()

    def setup(self) -> None:
        import docker

        c = client()
        image = ensure_image(c, self.options.docker_base_image, self.log)
        net = ipaddress.ip_network(self.subnet_arg) if self.subnet_arg else _free_subnet(c, self.run_id)
        if net.num_addresses < self.n + 3:
            raise RuntimeError_(f"subnet {net} is too small for {self.n} nodes")
        hosts = list(net.hosts())
        labels = {LABEL: self.run_id}
        name = f"{self.base}-net"
        self.journal.add("docker-network", name=name)
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(net), gateway=str(hosts[-1]))])
        try:
            c.networks.create(name, driver="bridge", ipam=ipam, labels=labels, check_duplicate=True)
        except docker.errors.APIError as e:
            raise RuntimeError_(f"creating network {name} on {net} failed: {e.explanation or e}") from None
        for i in range(1, self.n + 1):
            cname, ip = f"{self.base}-n{i}", str(hosts[i - 1])
            self.journal.add("docker-container", name=cname)
            try:
                container = c.containers.create(
                    image, name=cname, hostname=f"n{i}", labels=labels, cap_add=["NET_ADMIN"], init=True,
                    detach=True, network=name,
                    networking_config={name: c.api.create_endpoint_config(ipv4_address=ip)})
                container.start()
            except docker.errors.APIError as e:
                raise RuntimeError_(f"n{i}: starting container {cname} failed: {e.explanation or e}") from None
            self.nodes.append(DockerNode(f"n{i}", ip, container))

    def teardown(self) -> list[str]:
        """Stops every server, then removes this run's containers and network."""
        for node in self.nodes:
            try:
                node.stop()
            except RuntimeError_:
                pass
        removed = clean_entries(self.journal.entries())
        self.journal.remove()
        return removed


def _free_subnet(c: Any, run_id: str) -> ipaddress.IPv4Network:
    """A /24 in 10.251.0.0/16 that no Docker network and no host interface uses."""
    from unkindness.harness.runtimes.netns import used_subnets

    used = list(used_subnets())
    for n in c.networks.list():
        for pool in (n.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                used.append(ipaddress.ip_network(pool.get("Subnet", ""), strict=False))
            except ValueError:
                pass
    start = int(run_id, 16) % 250
    for k in range(250):
        net = ipaddress.ip_network(f"10.251.{(start + k) % 250}.0/24")
        if not any(net.overlaps(u) for u in used if u.version == 4):
            return net
    raise RuntimeError_("no free /24 in 10.251.0.0/16 for the test network; pass --subnet")


def clean_entries(entries: list[dict]) -> list[str]:
    """Removes the containers and network journal entries name; idempotent; quiet without docker."""
    wanted = [e for e in entries if e.get("kind") in ("docker-container", "docker-network")]
    if not wanted:
        return []
    c = client()
    return _remove(c, [e["name"] for e in wanted if e["kind"] == "docker-container"],
                   [e["name"] for e in wanted if e["kind"] == "docker-network"])


def _remove(c: Any, containers: list[str], networks: list[str]) -> list[str]:
    import docker

    removed = []
    for name in containers:
        try:
            c.containers.get(name).remove(force=True)
            removed.append(f"container {name}")
        except docker.errors.NotFound:
            pass
    for name in networks:
        try:
            c.networks.get(name).remove()
            removed.append(f"network {name}")
        except docker.errors.NotFound:
            pass
    return removed


def orphans(live_run_ids: set[str]) -> list[str]:
    """Removes labelled containers and networks of runs that are over, journal or not."""
    try:
        c = client()
    except RuntimeError_:
        return []  # no engine here: nothing of ours can be running in it
    containers = [x.name for x in c.containers.list(all=True, filters={"label": LABEL})
                  if x.labels.get(LABEL) not in live_run_ids]
    networks = [x.name for x in c.networks.list(filters={"label": LABEL}) if x.attrs.get("Labels", {}).get(LABEL)
                not in live_run_ids]
    return _remove(c, containers, networks)
RUNTIME = DockerRuntime
