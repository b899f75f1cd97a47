"""The harness's own HTTP client for the server's API.

What matters for a consistency test is telling *certainly not applied* from
*unknown*: a refused connection or a 4xx answer means the request was not
applied (Definite); a timeout, a reset mid-request or a 5xx may have been
applied (Indeterminate). Every request has a hard timeout, and the node that
answered is kept in `answered_by` so the history can record it.

Two clients share one API (`request`, `load`, `all_documents`, `batch`):
- `NodeClient` talks to one node (Jepsen's way; `--client-mode pinned`);
- `ClusterClient` behaves like RavenDB's request executor
  (`../shared/reference/ravendb-client-api.md` 1.2-1.4): it reads the
  database topology, sends `Topology-Etag`, refetches the topology when an
  answer says `Refresh-Topology`, and fails over to the next node on a
  connection error or on 408/502/503/504. `preferred` sends everything to
  the first member it can reach (the official client's documented intent);
  `round-robin` moves to the next member on every request (what the official
  Python client does, writes included). With `failover_writes="refuse"`,
  writes go only to the primary (the first member when the client started)
  and fail while it is unreachable: the read-only failover of seed 000.
  Retrying elsewhere after an attempt that may have been applied never turns
  a later "not applied" into a definite failure: that outcome is unknown.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import quote

from unkindness.harness.transport import Connection, Reply, TransportError

DEFAULT_TIMEOUT = 5.0
FAILOVER_STATUSES = (408, 502, 503, 504)  # the official client's "server down" path
# 410 Gone: the node does not hold the database (DatabaseNotRelevantException); the request did nothing,
# the answer carries Refresh-Topology, and the client goes on to the members.
NOT_RELEVANT = 410
FAILED_NODE_BACKOFF_S = 1.0  # a node that failed is tried last for this long
REFUSED_BACKOFF_S = 0.1  # the pause after a node could not serve the database (refused, missing, not relevant)
CLIENT_MODES = ("pinned", "preferred", "round-robin")
FAILOVER_WRITES = ("allow", "refuse")


class ClientError(Exception):
    """Base: an op that did not succeed. `node` is who we talked to."""

    def __init__(self, message: str, node: str | None = None, type_: str | None = None,
                 failover: bool = False, unavailable: bool = False) -> None:
        super().__init__(message)
        self.node = node
        self.type = type_
        self.failover = failover  # the official client would try the next node
        # The node cannot serve the database for now (refused, database missing, not relevant):
        # asking it again at once would only fill the history with failures that test nothing.
        self.unavailable = unavailable


class Definite(ClientError):
    """Certainly not applied: recorded as `fail`."""


class Indeterminate(ClientError):
    """May or may not have been applied: recorded as `info`."""


@dataclass(frozen=True)
class NodeAddress:
    name: str  # n1, n2, ...
    url: str  # http://10.250.3.1:8080
    tag: str | None = None  # the server's tag: A, B, ...


@dataclass(frozen=True)
class CmpxchgReply:
    """A compare-exchange write's answer. On success `value`/`index` are the new ones
    (for a delete, `index` is the delete's own Raft index); on failure what the key
    holds, `exists` False when it is missing (the server's Index then means nothing)."""

    successful: bool
    value: Any
    index: int | None
    exists: bool

    @classmethod
    def of(cls, body: Any) -> "CmpxchgReply":
        body = body if isinstance(body, dict) else {}
        current = body.get("Value")
        exists = isinstance(current, dict)
        return cls(bool(body.get("Successful")), current.get("Object") if exists else None, body.get("Index"),
                   exists)


def _error_type(resp: Reply) -> tuple[str, str]:
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("Type", "")), str(body.get("Message", ""))[:500]
    return "", str(body)[:200]


class NodeClient:
    """Talks to one node; `ClusterClient` chooses the node per request instead."""

    def __init__(self, node: NodeAddress, database: str, timeout: float = DEFAULT_TIMEOUT, *,
                 defer_backoff: bool = False) -> None:
        self.node = node
        self.db = database
        self.timeout = timeout
        # A worker's client does not wait inside the op after an unavailable node (that would
        # stretch the failed op's recorded time): it leaves the wait to the worker (take_backoff).
        self.defer_backoff = defer_backoff
        self.backoff_s = 0.0
        # One kept connection per node (harness/transport.py), straight to the node: the nodes
        # live on a private test network, never behind a proxy from the environment.
        self.connections: dict[str, Connection] = {}
        self.answered_by: str | None = None  # the node of the last request, for the history
        # True when the last request was retried elsewhere after an attempt that
        # may have been applied: an answer of "not applied" is then unknown.
        self.retried_after_unknown = False
        # The node the last request was meant for, when another one answered it (failover).
        self.failed_over_from: str | None = None

    def close(self) -> None:
        for c in self.connections.values():
            c.close()
        self.connections.clear()

    def _send(self, node: NodeAddress, method: str, path: str, data: bytes | None, params: dict | None,
              headers: dict[str, str]) -> Reply:
        """One request on the kept connection to ``node``; raises TransportError."""
        conn = self.connections.get(node.url)
        if conn is None:
            conn = self.connections[node.url] = Connection(node.url, self.timeout)
        return conn.request(method, path, data, params, headers)

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None,
                ok: Sequence[int] = (200, 201, 204), idempotent: bool = False) -> Reply:
        """One request; raises Definite or Indeterminate. Reads are `idempotent`:
        for them a timeout is a definite failure of the read, not an unknown write."""
        self.retried_after_unknown = False
        try:
            return self.request_to(self.node, method, path, body=body, params=params, ok=ok, idempotent=idempotent)
        except ClientError as e:
            if e.unavailable:  # pinned: there is no other node to ask
                self.pause(REFUSED_BACKOFF_S)
            raise

    def pause(self, seconds: float) -> None:
        """Waits before the next request: now, or after the op when the worker takes the backoff."""
        if self.defer_backoff:
            self.backoff_s = max(self.backoff_s, seconds)
        else:
            time.sleep(seconds)

    def take_backoff(self) -> float:
        """How long the worker should wait before its next op (and forget it)."""
        s, self.backoff_s = self.backoff_s, 0.0
        return s

    def extra_headers(self) -> dict[str, str]:
        return {}

    def saw_response(self, node: NodeAddress, resp: Reply) -> None:
        """Hook for every answer (ClusterClient follows Refresh-Topology)."""

    def request_to(self, node: NodeAddress, method: str, path: str, *, body: Any = None,
                   params: dict | None = None, ok: Sequence[int] = (200, 201, 204),
                   idempotent: bool = False) -> Reply:
        """One request to one given node; raises Definite or Indeterminate."""
        self.answered_by = node.name
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        headers.update(self.extra_headers())
        try:
            resp = self._send(node, method, path, data, params, headers)
        except TransportError as e:
            if e.kind in ("refused", "no-route"):
                raise Definite(f"{node.name}: {e}", node.name, "connection-refused", failover=True,
                               unavailable=True) from None
            # Not sent at all (no connection), or a read that did nothing: certainly not applied.
            cls = Definite if not e.sent or idempotent else Indeterminate
            if e.kind == "timeout":
                raise cls(f"{node.name} did not answer within {self.timeout:g} s", node.name, "timeout",
                          failover=True) from None
            raise cls(f"{node.name}: {_short(e)}", node.name, "connection-error", failover=True) from None
        self.saw_response(node, resp)
        if "Database-Missing" in resp.headers:  # a 404 here is not "no such document"
            raise Definite(f"{node.name}: database {resp.headers['Database-Missing']!r} does not exist there",
                           node.name, "database-missing", unavailable=True)
        if resp.status_code in ok:
            return resp
        typ, msg = _error_type(resp)
        failover = resp.status_code in FAILOVER_STATUSES or resp.status_code == NOT_RELEVANT
        text = f"{node.name}: {resp.status_code} {typ}: {msg}".strip()
        if 400 <= resp.status_code < 500 and resp.status_code != 408 or idempotent:
            raise Definite(text, node.name, typ or str(resp.status_code), failover=failover,
                           unavailable=resp.status_code == NOT_RELEVANT)
        raise Indeterminate(text, node.name, typ or str(resp.status_code), failover=failover)

    # --- documents -------------------------------------------------------

    def load(self, ids: Sequence[str]) -> dict[str, dict | None]:
        """Documents by id (None where missing), each with its @metadata."""
        if not ids:
            return {}
        qs = "&".join("id=" + quote(i, safe="") for i in ids)
        resp = self.request("GET", f"/databases/{self.db}/docs?{qs}", ok=(200, 404), idempotent=True)
        out: dict[str, dict | None] = {i: None for i in ids}
        if resp.status_code == 404:
            return out
        for doc in resp.json().get("Results") or []:
            if isinstance(doc, dict):
                out[doc["@metadata"]["@id"]] = doc
        return out

    def all_documents(self, page: int = 1024, *, prefix: str = "", metadata_only: bool = False) -> dict[str, dict]:
        """Every document on this node (ids starting with `prefix`), paged.
        `metadata_only` asks for just each document's @metadata: a read that
        only needs to know which documents exist costs a fraction."""
        out: dict[str, dict] = {}
        start = 0
        query: dict[str, Any] = {"pageSize": page}
        if prefix:
            query["startsWith"] = prefix
        if metadata_only:
            query["metadataOnly"] = "true"
        while True:
            resp = self.request("GET", f"/databases/{self.db}/docs", params={**query, "start": start},
                                idempotent=True)
            results = resp.json().get("Results") or []
            for doc in results:
                out[doc["@metadata"]["@id"]] = doc
            if len(results) < page:
                return out
            start += len(results)

    # --- compare-exchange ------------------------------------------------

    def _cmpxchg_path(self, key: str) -> str:
        return f"/databases/{self.db}/cmpxchg?key={quote(key, safe='')}"

    def cmpxchg_get(self, key: str, *, linearizable: bool = False) -> tuple[Any, int] | None:
        """(value, index) of a compare-exchange key, or None when it is missing.
        Local by default, as the official client reads; `linearizable` asks for a read index."""
        path = self._cmpxchg_path(key) + ("&linearizable=true" if linearizable else "")
        resp = self.request("GET", path, ok=(200, 404), idempotent=True)
        if resp.status_code == 404:
            return None
        item = resp.json()["Results"][0]
        return (item.get("Value") or {}).get("Object"), item["Index"]

    def cmpxchg_put(self, key: str, value: Any, index: int) -> CmpxchgReply:
        """Write `value` if the key is at `index` (0: only if missing)."""
        return CmpxchgReply.of(self.request("PUT", self._cmpxchg_path(key) + f"&index={index}",
                                            body={"Object": value}).json())

    def cmpxchg_delete(self, key: str, index: int) -> CmpxchgReply:
        """Delete the key if it is at `index`."""
        return CmpxchgReply.of(self.request("DELETE", self._cmpxchg_path(key) + f"&index={index}").json())

    def batch(self, commands: list[dict], *, cluster_wide: bool = False) -> dict:
        """One bulk_docs transaction; 409 (concurrency) is a Definite failure."""
        body: dict[str, Any] = {"Commands": commands}
        if cluster_wide:
            body["TransactionMode"] = "ClusterWide"
        return self.request("POST", f"/databases/{self.db}/bulk_docs", body=body).json()


class Topology:
    """The database group as the client knows it, shared by the clients of one run
    (one DocumentStore, many threads): member order, etag, recent failures."""

    def __init__(self, nodes: Sequence[NodeAddress]) -> None:
        self.known = list(nodes)  # every address the run started with
        self.by_url = {n.url.rstrip("/"): n for n in nodes}
        self.members: list[NodeAddress] = list(nodes)
        self.etag = 0
        self.primary: NodeAddress | None = None  # first member of the first topology fetched
        self.failed_at: dict[str, float] = {}
        self.next_index = 0
        self.lock = threading.Lock()

    def adopt(self, data: Any, force: bool = False) -> bool:
        """Takes a `GET /topology` answer if it is newer; True if adopted."""
        if not isinstance(data, dict) or not isinstance(data.get("Nodes"), list):
            return False
        try:
            etag = int(data.get("Etag") or 0)
        except (TypeError, ValueError):
            return False
        members = []
        for n in data["Nodes"]:
            if isinstance(n, dict) and isinstance(n.get("Url"), str):
                url = n["Url"].rstrip("/")
                members.append(self.by_url.get(url) or NodeAddress(str(n.get("ClusterTag") or url), url,
                                                                   n.get("ClusterTag")))
        with self.lock:
            if not members or (etag <= self.etag and not force and self.primary is not None):
                return False
            self.members, self.etag = members, etag
            if self.primary is None:
                self.primary = members[0]
            return True

    def mark_failed(self, node: NodeAddress) -> None:
        with self.lock:
            self.failed_at[node.name] = time.monotonic()

    def mark_ok(self, node: NodeAddress) -> None:
        if node.name in self.failed_at:
            with self.lock:
                self.failed_at.pop(node.name, None)

    def order(self, mode: str) -> list[NodeAddress]:
        """The nodes to try, in order: recently failed ones last."""
        with self.lock:
            members = list(self.members)
            if mode == "round-robin":
                i = self.next_index % len(members)
                self.next_index += 1
                members = members[i:] + members[:i]
            now = time.monotonic()
            recent = {n for n, t in self.failed_at.items() if now - t < FAILED_NODE_BACKOFF_S}
        return [n for n in members if n.name not in recent] + [n for n in members if n.name in recent]


class ClusterClient(NodeClient):
    """Chooses the node per request as RavenDB's request executor does (see the module docstring)."""

    def __init__(self, topology: Topology, database: str, timeout: float = DEFAULT_TIMEOUT, *,
                 mode: str = "preferred", failover_writes: str = "allow", defer_backoff: bool = False) -> None:
        if mode not in ("preferred", "round-robin"):
            raise ValueError(f"a ClusterClient's mode is preferred or round-robin, not {mode!r}")
        if failover_writes not in FAILOVER_WRITES:
            raise ValueError(f"failover_writes is allow or refuse, not {failover_writes!r}")
        super().__init__(topology.known[0], database, timeout, defer_backoff=defer_backoff)
        self.topology = topology
        self.mode = mode
        self.failover_writes = failover_writes
        self._pinned: NodeAddress | None = None

    # --- topology ---------------------------------------------------------

    def fetch_topology(self, first: bool = False) -> None:
        """`GET /topology?name=<db>` from the first node that answers (the initial URLs in
        order). If none does, the initial URLs stand in, as the official client does."""
        flag = "first-topology-update" if first else "refresh-topology-header"
        candidates = self.topology.known if first else self.topology.order("preferred")
        for node in candidates:
            try:
                resp = self._send(node, "GET", f"/topology?name={quote(self.db, safe='')}&{flag}", None, None, {})
                if resp.status_code == 200:
                    self.topology.adopt(resp.json())
                    break
            except (TransportError, ValueError):
                continue
        with self.topology.lock:
            if self.topology.primary is None:
                self.topology.primary = self.topology.members[0]

    def extra_headers(self) -> dict[str, str]:
        return {"Topology-Etag": f'"{self.topology.etag}"'}

    def saw_response(self, node: NodeAddress, resp: Reply) -> None:
        if resp.headers.get("Refresh-Topology"):
            try:
                r = self._send(node, "GET", f"/topology?name={quote(self.db, safe='')}&refresh-topology-header",
                               None, None, {})
                if r.status_code == 200:
                    self.topology.adopt(r.json())
            except (TransportError, ValueError):
                pass  # the next answer will say it again

    # --- node choice and failover ------------------------------------------

    def pinned_to(self, node: NodeAddress | None) -> None:
        """Sends every request to `node` until called with None (an op that must stay on one node)."""
        self._pinned = node

    def candidates(self, write: bool) -> list[NodeAddress]:
        if self.topology.primary is None:
            self.fetch_topology(first=True)
        if self._pinned is not None:
            return [self._pinned]
        if write and self.failover_writes == "refuse":
            return [self.topology.primary or self.topology.known[0]]
        return self.topology.order(self.mode)

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None,
                ok: Sequence[int] = (200, 201, 204), idempotent: bool = False) -> Reply:
        write = method != "GET"
        self.retried_after_unknown = False
        self.failed_over_from = None
        maybe_applied: ClientError | None = None
        last: ClientError | None = None
        for node in self.candidates(write):
            if maybe_applied is not None:
                self.retried_after_unknown = True
            try:
                resp = self.request_to(node, method, path, body=body, params=params, ok=ok, idempotent=idempotent)
            except ClientError as e:
                last = e
                if isinstance(e, Indeterminate):
                    maybe_applied = e
                if not e.failover:
                    break
                self.topology.mark_failed(node)
                if self.failed_over_from is None:
                    self.failed_over_from = node.name
                continue
            self.topology.mark_ok(node)
            return resp
        assert last is not None
        if last.unavailable:
            self.pause(REFUSED_BACKOFF_S)  # nobody to fail over to: do not spin
        if maybe_applied is not None and isinstance(last, Definite):
            raise Indeterminate(f"{last} (after {maybe_applied.node}, which may have applied it: {maybe_applied})",
                                last.node, last.type) from None
        if last.failover and write and self.failover_writes == "refuse":
            # the same certainty as the attempt itself: a write cut off mid-way may have been applied
            raise type(last)(f"{last} (writes go only to the primary {last.node}: read-only while it is "
                             "unreachable)", last.node, "primary-unreachable") from None
        raise last


def make_client(mode: str, nodes: Sequence[NodeAddress], worker: int, database: str, timeout: float,
                topology: Topology | None = None, failover_writes: str = "allow") -> NodeClient:
    """Worker `worker`'s client: pinned to node `worker mod N` (Jepsen's way), or a
    ClusterClient over the shared topology. Its waits after an unavailable node are the
    worker's to take between ops (take_backoff), so each op's recorded time is its own."""
    if mode == "pinned":
        return NodeClient(nodes[worker % len(nodes)], database, timeout, defer_backoff=True)
    if mode not in CLIENT_MODES:
        raise ValueError(f"unknown client mode {mode!r}; choose from {', '.join(CLIENT_MODES)}")
    return ClusterClient(topology or Topology(nodes), database, timeout, mode=mode, failover_writes=failover_writes,
                         defer_backoff=True)


def put_command(doc_id: str, doc: dict, collection: str, change_vector: str | None = None) -> dict:
    """A PUT for bulk_docs; change_vector "" asserts the document does not exist yet."""
    return {"Id": doc_id, "Type": "PUT", "ChangeVector": change_vector,
            "Document": {**doc, "@metadata": {"@collection": collection}}}


def _short(e: Exception) -> str:
    s = str(e)
    return s if len(s) < 160 else s[:157] + "..."
