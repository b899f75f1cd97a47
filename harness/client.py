"""The harness's own HTTP client for the server's API (requests, one session per worker).

What matters for a consistency test is telling *certainly not applied* from
*unknown*: a refused connection or a 4xx answer means the request was not
applied (Definite); a timeout, a reset mid-request or a 5xx may have been
applied (Indeterminate). Every request has a hard timeout, and the node that
answered is returned so the history can record it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import quote

import requests

DEFAULT_TIMEOUT = 5.0


class ClientError(Exception):
    """Base: an op that did not succeed. `node` is who we talked to."""

    def __init__(self, message: str, node: str | None = None, type_: str | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.type = type_


class Definite(ClientError):
    """Certainly not applied: recorded as `fail`."""


class Indeterminate(ClientError):
    """May or may not have been applied: recorded as `info`."""


@dataclass(frozen=True)
class NodeAddress:
    name: str  # n1, n2, ...
    url: str  # http://10.250.3.1:8080
    tag: str | None = None  # the server's tag: A, B, ...


def _error_type(resp: requests.Response) -> tuple[str, str]:
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("Type", "")), str(body.get("Message", ""))[:500]
    return "", str(body)[:200]


class NodeClient:
    """Talks to one node; failover, where wanted, is the caller's choice of node."""

    def __init__(self, node: NodeAddress, database: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.node = node
        self.db = database
        self.timeout = timeout
        self.http = requests.Session()
        # The nodes live on a private test network: never route to them through
        # a proxy from the environment, and skip requests' per-request scan of
        # proxy variables and ~/.netrc (a fifth of the harness's CPU per op).
        self.http.trust_env = False
        self.answered_by: str | None = None  # the node of the last request, for the history

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, url: str, data: str | None, params: dict | None,
              headers: dict[str, str]) -> requests.Response:
        """Straight to the session's connection pool: no cookies, redirects, hooks
        or environment to merge (the server uses none of them), which is most of
        what requests spends per call; the body is read before returning."""
        prepared = requests.Request(method, url, data=data, params=params, headers=headers).prepare()
        resp = self.http.get_adapter(url).send(prepared, timeout=self.timeout)
        resp.content  # noqa: B018 - read now, so the connection goes back to the pool
        return resp

    def request(self, method: str, path: str, *, body: Any = None, params: dict | None = None,
                ok: Sequence[int] = (200, 201, 204), idempotent: bool = False) -> requests.Response:
        """One request; raises Definite or Indeterminate. Reads are `idempotent`:
        for them a timeout is a definite failure of the read, not an unknown write."""
        self.answered_by = self.node.name
        url = self.node.url + path
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            resp = self._send(method, url, data, params, headers)
        except requests.ConnectionError as e:
            text = str(e).lower()
            refused = "refused" in text or "no route" in text
            cls = Definite if refused or idempotent else Indeterminate
            why = "connection refused" if "refused" in text else "no route to host" if "no route" in text \
                else f"connection failed: {_short(e)}"
            raise cls(f"{self.node.name}: {why}", self.node.name,
                      "connection-refused" if refused else "connection-error") from None
        except requests.Timeout:
            cls = Definite if idempotent else Indeterminate
            raise cls(f"{self.node.name} did not answer within {self.timeout:g} s", self.node.name,
                      "timeout") from None
        if "Database-Missing" in resp.headers:  # a 404 here is not "no such document"
            raise Definite(f"{self.node.name}: database {resp.headers['Database-Missing']!r} does not exist there",
                           self.node.name, "database-missing")
        if resp.status_code in ok:
            return resp
        typ, msg = _error_type(resp)
        if 400 <= resp.status_code < 500 or idempotent:
            raise Definite(f"{resp.status_code} {typ}: {msg}".strip(), self.node.name, typ or str(resp.status_code))
        raise Indeterminate(f"{resp.status_code} {typ}: {msg}".strip(), self.node.name, typ or str(resp.status_code))

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

    def batch(self, commands: list[dict], *, cluster_wide: bool = False) -> dict:
        """One bulk_docs transaction; 409 (concurrency) is a Definite failure."""
        body: dict[str, Any] = {"Commands": commands}
        if cluster_wide:
            body["TransactionMode"] = "ClusterWide"
        return self.request("POST", f"/databases/{self.db}/bulk_docs", body=body).json()


class FailoverClient(NodeClient):
    """Prefers one node and fails over along the others, RavenDB client style.

    Only a request that certainly did not reach a server (connection refused,
    no route) moves on to the next node; anything that may have been applied
    is reported as it is, never retried elsewhere. `answered_by` names the
    node that finally answered.
    """

    def __init__(self, nodes: Sequence[NodeAddress], preferred: int, database: str,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.order = [nodes[(preferred + i) % len(nodes)] for i in range(len(nodes))]
        super().__init__(self.order[0], database, timeout)

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        last: ClientError | None = None
        for node in self.order:
            self.node = node
            try:
                return super().request(method, path, **kw)
            except Definite as e:
                if e.type != "connection-refused":
                    raise
                last = e
            finally:
                self.node = self.order[0]
        assert last is not None
        raise Definite(f"every node refused the connection (last: {last})", last.node, "connection-refused")


def put_command(doc_id: str, doc: dict, collection: str, change_vector: str | None = None) -> dict:
    """A PUT for bulk_docs; change_vector "" asserts the document does not exist yet."""
    return {"Id": doc_id, "Type": "PUT", "ChangeVector": change_vector,
            "Document": {**doc, "@metadata": {"@collection": collection}}}


def _short(e: Exception) -> str:
    s = str(e)
    return s if len(s) < 160 else s[:157] + "..."
