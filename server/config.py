"""The options of one server process, parsed once by the CLI and read by
every part of the node (the replication layer reads ``node.config`` too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from unkindness.server.defects import Defects

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    url: str                      # the public URL of this node, as peers and clients reach it
    host: str
    port: int
    data_dir: Path
    tag: str = "A"
    peers: dict[str, str] = field(default_factory=dict)   # other members: tag -> url
    defects: Defects = Defects()
    clock_offset_ms: int = 0
    log_format: str = "json"
    log_file: Path | None = None  # None: stderr
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
