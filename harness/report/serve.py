"""`harness serve`: browse results/ over HTTP, rendering missing reports on demand.

Standard-library server (no new dependency): GET only, paths resolved and
refused unless they stay inside results/, symlinks included (``latest``
points inside). The index is regenerated on every request to ``/``.
"""

from __future__ import annotations

import mimetypes
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .index import write_index
from .render import write_report
from .rundata import find_history

_render_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    root: Path  # set on the subclass made by make_server
    server_version = "unkindness-serve"

    def log_message(self, format: str, *args: object) -> None:  # quieter than the default
        sys.stderr.write(f"serve: {self.address_string()} {format % args}\n")

    def _send(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        raw = unquote(urlsplit(self.path).path)
        if "\x00" in raw:
            return self._send(HTTPStatus.BAD_REQUEST, b"bad path\n")
        rel = raw.lstrip("/")
        try:
            target = (self.root / rel).resolve()
        except (OSError, RuntimeError):
            return self._send(HTTPStatus.BAD_REQUEST, b"bad path\n")
        if target != self.root and self.root not in target.parents:
            return self._send(HTTPStatus.FORBIDDEN, b"refused: the path is outside the results folder\n")
        if rel in ("", "index.html"):
            try:
                with _render_lock:
                    write_index(self.root)
            except OSError as e:
                return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot write the index: {e}\n".encode())
            target = self.root / "index.html"
        elif target.is_dir():
            if not raw.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", raw + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            target = target / "report.html"
        if target.name == "report.html" and not target.is_file() and target.parent.is_dir() and (
                (target.parent / "results.json").is_file() or find_history(target.parent)):
            try:
                with _render_lock:
                    if not target.is_file():
                        write_report(target.parent)
            except Exception as e:  # a broken run must not take the server down
                return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot render the report: {e}\n".encode())
        if not target.is_file():
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or target.suffix in (".jsonl", ".log", ".json", ".edn"):
            ctype = ("text/plain" if not ctype.startswith("text/") else ctype) + "; charset=utf-8"
        try:
            body = target.read_bytes()
        except OSError as e:
            return self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot read: {e}\n".encode())
        return self._send(HTTPStatus.OK, body, ctype)


def make_server(results_dir: Path, port: int = 8080, bind: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server bound to (bind, port), not yet serving; port 0 picks a free one."""
    root = Path(results_dir).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"{results_dir}: no such results folder")
    handler = type("ResultsHandler", (Handler,), {"root": root})
    srv = ThreadingHTTPServer((bind, port), handler)
    srv.daemon_threads = True
    return srv


def serve(results_dir: Path, port: int = 8080, bind: str = "127.0.0.1") -> None:
    """Serves results/ until interrupted (Ctrl-C returns normally)."""
    srv = make_server(results_dir, port, bind)
    host, real_port = srv.server_address[:2]
    print(f"Serving {Path(results_dir).resolve()} at http://{host}:{real_port}/ (Ctrl-C to stop)", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
