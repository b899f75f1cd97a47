"""Small HTTP helpers for replication tests: talk to one node at a time, by plain HTTP,
so a test decides exactly which node each write and read goes to."""

from __future__ import annotations

import time
from typing import Any, Callable

import requests

TIMEOUT = 10


def put(node: Any, db: str, doc_id: str, body: dict[str, Any], collection: str = "Users") -> dict[str, Any]:
    doc = dict(body)
    doc["@metadata"] = {"@collection": collection}
    return bulk(node, db, [{"Id": doc_id, "ChangeVector": None, "Type": "PUT", "Document": doc}])[0]


def delete(node: Any, db: str, doc_id: str) -> dict[str, Any]:
    return bulk(node, db, [{"Id": doc_id, "ChangeVector": None, "Type": "DELETE"}])[0]


def bulk(node: Any, db: str, commands: list[dict[str, Any]], **params: Any) -> list[dict[str, Any]]:
    r = requests.post(f"{node.url}/databases/{db}/bulk_docs", json={"Commands": commands}, params=params,
                      timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()["Results"]


def get(node: Any, db: str, doc_id: str) -> tuple[int, dict[str, Any] | None]:
    """(status, document or error body); 404 gives (404, None)."""
    r = requests.get(f"{node.url}/databases/{db}/docs", params={"id": doc_id}, timeout=TIMEOUT)
    if r.status_code == 404:
        return 404, None
    body = r.json()
    if r.status_code == 200:
        return 200, body["Results"][0]
    return r.status_code, body


def content(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k != "@metadata"}


def state(node: Any, db: str, doc_id: str) -> tuple[int, Any, str | None]:
    """(status, content, change vector) of one document on one node."""
    status, doc = get(node, db, doc_id)
    if status == 200:
        return status, content(doc), doc["@metadata"]["@change-vector"]
    return status, None, None


def progress(node: Any, db: str) -> dict[str, Any]:
    r = requests.get(f"{node.url}/databases/{db}/replication/progress", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def conflicts(node: Any, db: str, doc_id: str) -> list[dict[str, Any]]:
    r = requests.get(f"{node.url}/databases/{db}/replication/conflicts", params={"docId": doc_id}, timeout=TIMEOUT)
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return r.json()["Results"]


def set_solver(node: Any, db: str, body: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(f"{node.url}/admin/replication/conflicts/solver", params={"name": db}, json=body,
                      timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until `check()` returns something truthy; the last value is in the failure message."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, AssertionError, KeyError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


def caught_up(nodes: list[Any], db: str) -> bool:
    """Every node's every destination has accepted everything that node has."""
    for n in nodes:
        p = progress(n, db)
        dests = p["Destinations"]
        if len(dests) != len(nodes) - 1:
            return False
        if any(d["LastAcceptedEtag"] < p["LastEtag"] for d in dests):
            return False
    return True
