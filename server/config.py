"""The options of one server process: one object, parsed once by the CLI and
read by every layer of the node (``node.config``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from unkindness.server.defects import Defects

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_CLUSTER_TIMEOUT = 5.0
DEFAULT_SNAPSHOT_EVERY = 1000


@dataclass(frozen=True)
class ServerConfig:
    url: str                      # the public URL of this node, as peers and clients reach it
    host: str
    port: int
    data_dir: Path
    tag: str = "A"
    defects: Defects = Defects()
    clock_offset_ms: int = 0
    log_format: str = "json"
    log_file: Path | None = None  # None: stderr
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cluster_timeout: float = DEFAULT_CLUSTER_TIMEOUT  # seconds bounding every cluster command (503 after it)
    raft_snapshot_every: int = DEFAULT_SNAPSHOT_EVERY  # Raft log entries between snapshots (compaction)
