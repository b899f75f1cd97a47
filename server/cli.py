"""``unkindness-server``: run one node until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

from unkindness.server.config import DEFAULT_CLUSTER_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_SNAPSHOT_EVERY, ServerConfig
from unkindness.server.defects import UnknownDefect, help_text, parse_defects

EXIT_BAD_ARGS = 2
TAG = re.compile(r"^[A-Z][A-Z0-9]{0,3}$")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="unkindness-server",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="One node of the Unkindness RavenDB-like database (HTTP API of the official client).",
        epilog="Logs: one JSON object per line on stderr (--log-format text for humans), "
               "or appended to --log-file.\n\nDefect switches (--defect NAME, repeatable; off by default):\n"
               + help_text()
               + "\n\nExit status: 0 after SIGTERM/SIGINT, 2 for bad arguments, 1 if the server cannot start.")
    p.add_argument("--url", required=True, help="http://HOST:PORT this node listens on and is reached at")
    p.add_argument("--data-dir", required=True, type=Path, help="directory for this node's files (created)")
    p.add_argument("--tag", default="A", help="node tag, 1-4 upper-case letters/digits starting with a letter")
    p.add_argument("--cluster-timeout", type=float, default=DEFAULT_CLUSTER_TIMEOUT, metavar="SECONDS",
                   help="bound on every cluster command; without a majority it fails with 503 after it "
                        "(default %(default)s)")
    p.add_argument("--raft-snapshot-every", type=int, default=DEFAULT_SNAPSHOT_EVERY, metavar="ENTRIES",
                   help="compact the Raft log into a snapshot every ENTRIES applied entries (default %(default)s)")
    p.add_argument("--defect", action="append", default=[], metavar="NAME",
                   help="switch on a deliberate defect (see below)")
    p.add_argument("--clock-offset-ms", type=int, default=0,
                   help="shift this node's wall clock (timestamps, latest-wins) by N ms")
    p.add_argument("--log-format", choices=("json", "text"), default="json")
    p.add_argument("--log-file", type=Path, default=None, help="append logs here instead of stderr")
    p.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                   help="larger request bodies get 413 (default %(default)s)")
    return p


def _url(raw: str, what: str) -> tuple[str, str, int]:
    parts = urlsplit(raw)
    if parts.scheme != "http" or not parts.hostname or parts.port is None or parts.path not in ("", "/"):
        raise UsageError(f"{what} {raw!r} must look like http://HOST:PORT")
    return raw.rstrip("/"), parts.hostname, parts.port


def parse_args(argv: list[str] | None) -> ServerConfig:
    args = _parser().parse_args(argv)
    url, host, port = _url(args.url, "--url")
    if not TAG.match(args.tag):
        raise UsageError(f"--tag {args.tag!r} must be 1-4 upper-case letters/digits starting with a letter")
    try:
        defects = parse_defects(args.defect)
    except UnknownDefect as e:
        raise UsageError(str(e)) from None
    if not 0.1 <= args.cluster_timeout <= 600:
        raise UsageError("--cluster-timeout must be between 0.1 and 600 seconds")
    if not 2 <= args.raft_snapshot_every <= 10_000_000:
        raise UsageError("--raft-snapshot-every must be between 2 and 10000000 entries")
    if args.max_body_bytes < 1024:
        raise UsageError("--max-body-bytes must be at least 1024")
    try:
        args.data_dir.mkdir(parents=True, exist_ok=True)
        probe = args.data_dir / ".writable"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"--data-dir {str(args.data_dir)!r} is not a writable directory: {e.strerror}") from None
    return ServerConfig(url=url, host=host, port=port, data_dir=args.data_dir.resolve(), tag=args.tag,
                        defects=defects, clock_offset_ms=args.clock_offset_ms,
                        log_format=args.log_format, log_file=args.log_file, max_body_bytes=args.max_body_bytes,
                        cluster_timeout=args.cluster_timeout,
                        raft_snapshot_every=args.raft_snapshot_every)


async def serve(config: ServerConfig) -> None:
    from aiohttp import web

    from unkindness.server.http.app import build_app

    app = build_app(config)
    log = app["log"]
    # Replication websockets stay open until their peer goes: do not let a
    # graceful stop wait for them beyond a moment (SIGTERM must be prompt).
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True, backlog=1024)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise SystemExit(f"unkindness-server: cannot listen on {config.url}: {e.strerror}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("ready", url=config.url, tag=config.tag, pid=os.getpid(), data_dir=str(config.data_dir),
             defects=sorted(config.defects.names), clock_offset_ms=config.clock_offset_ms)
    app["node"].cluster.release_log()
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()
    log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_args(argv)
    except UsageError as e:
        print(f"unkindness-server: error: {e}", file=sys.stderr)
        return EXIT_BAD_ARGS
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
