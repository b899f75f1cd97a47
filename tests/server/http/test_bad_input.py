"""Bad requests get a 4xx with a JSON {"Type", "Message"} and change nothing."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One node with a small body limit and a database ``db`` holding items/1."""
    from support.server_procs import NodeProcess, free_port

    tmp = tmp_path_factory.mktemp("bad-input")
    n = NodeProcess("A", "127.0.0.20", free_port("127.0.0.20"), tmp / "A", extra_args=["--max-body-bytes", "65536"])
    n.start()
    try:
        requests.put(f"{n.url}/admin/databases", params={"name": "db"}, json={"DatabaseName": "db"}, timeout=5)
        put = {"Commands": [{"Id": "items/1", "Type": "PUT", "ChangeVector": None, "Document": {"v": 1}}]}
        assert requests.post(f"{n.url}/databases/db/bulk_docs", json=put, timeout=5).status_code == 201
        yield n
    finally:
        n.kill()


def _assert_error(r: requests.Response, status: int, fragment: str = "") -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert isinstance(body["Type"], str) and isinstance(body["Message"], str)
    assert fragment in body["Message"], body["Message"]
    return body


def _items(node) -> list[dict]:
    return requests.get(f"{node.url}/databases/db/docs", timeout=5).json()["Results"]


BULK = "/databases/db/bulk_docs"


@pytest.mark.parametrize("raw, fragment", [
    (b"{not json", "not valid JSON"),
    (b"", "empty"),
    (b"\xff\xfe", "UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b'{"Commands": 5}', "list"),
    (b'{"Commands": [5]}', "must be an object"),
    (b'{"Commands": [{"Type": "PUT", "Id": "a/1", "Document": "text"}]}', "Document must be an object"),
    (b'{"Commands": [{"Type": "PUT", "Id": 7, "Document": {}}]}', "Id must be a string"),
    (b'{"Commands": [{"Type": "PUT", "Id": "a/1", "Document": {}, "ChangeVector": 3}]}', "ChangeVector"),
    (b'{"Commands": [{"Type": "DELETE"}]}', "Id must be a non-empty string"),
    (b'{"Commands": [{"Type": "PATCH", "Id": "a"}]}', "unsupported command Type"),
    (b'{"Commands": [{"Type": "PUT", "Id": "a\\u0001b", "Document": {}}]}', "control characters"),
    (b'{"Commands": [{"Type": "PUT", "Id": "a\\ud800", "Document": {}}]}', "Unicode"),
    (b'{"Commands": [{"Type": "PUT", "Id": "n", "Document": {"x": NaN}}]}', "NaN"),
    (b'{"Commands": [{"Type": "PUT", "Id": "n", "Document": {"x": ' + b"9" * 5000 + b"}}]}", "acceptable"),
    (b'{"Commands": [{"Type": "PUT", "Id": "a", "Document": {"@metadata": 5}}]}', "@metadata"),
    (b'[' * 30000 + b']' * 30000, "nested too deeply"),
])
def test_malformed_batches_are_400(node, raw, fragment) -> None:
    before = _items(node)
    r = requests.post(node.url + BULK, data=raw, timeout=5)
    assert r.status_code in (400, 413)
    _assert_error(r, r.status_code, fragment)
    assert _items(node) == before


def test_a_bad_command_anywhere_rejects_the_whole_batch(node) -> None:
    body = {"Commands": [
        {"Type": "PUT", "Id": "items/good", "Document": {"v": 1}},
        {"Type": "PUT", "Id": "x" * 3000, "Document": {"v": 2}},  # too long: fails inside the transaction
    ]}
    _assert_error(requests.post(node.url + BULK, json=body, timeout=5), 400, "limit")
    assert requests.get(f"{node.url}/databases/db/docs", params={"id": "items/good"}, timeout=5).status_code == 404


def test_oversized_body_is_413(node) -> None:
    doc = {"Commands": [{"Type": "PUT", "Id": "big/1", "Document": {"blob": "x" * 100_000}}]}
    _assert_error(requests.post(node.url + BULK, json=doc, timeout=5), 413, "too large")
    assert requests.get(f"{node.url}/databases/db/docs", params={"id": "big/1"}, timeout=5).status_code == 404


def test_unknown_routes_methods_and_databases(node) -> None:
    _assert_error(requests.get(node.url + "/no/such/thing", timeout=5), 404, "no such endpoint")
    _assert_error(requests.patch(node.url + BULK, timeout=5), 405, "not allowed")
    r = requests.get(node.url + "/databases/other/docs", params={"id": "a"}, timeout=5)
    _assert_error(r, 404, "does not exist")
    assert r.headers["Database-Missing"] == "other"
    # the official client (it always sends its version) gets RavenDB's 503, which it needs
    # to raise DatabaseDoesNotExistException rather than read "no such document"
    r = requests.get(node.url + "/databases/other/docs", params={"id": "a"}, timeout=5,
                     headers={"Raven-Client-Version": "7.2.7"})
    _assert_error(r, 503, "does not exist")
    assert r.headers["Database-Missing"] == "other"
    _assert_error(requests.put(node.url + "/admin/databases", params={"name": "bad name!"}, json={}, timeout=5),
                  400, "invalid database name")
    _assert_error(requests.put(node.url + "/admin/databases", params={"name": "db"}, json={}, timeout=5),
                  409, "already exists")
    _assert_error(requests.get(node.url + "/topology", timeout=5), 400, "name")
    # a NUL or CR LF in the name once dropped the connection (the name goes into a header)
    for raw in ("%00", "a%00b", "%0D%0A", "%FF"):
        r = requests.get(f"{node.url}/databases/{raw}/docs", params={"id": "a"}, timeout=5)
        _assert_error(r, 404, "does not exist")
        assert "\x00" not in r.headers["Database-Missing"] and "\r" not in r.headers["Database-Missing"]
    assert requests.get(f"{node.url}/databases/%00/docs", timeout=5).headers["Database-Missing"] == "%00"


def test_a_method_a_route_does_not_serve_is_405_with_allow(node) -> None:
    r = requests.post(f"{node.url}/databases/db/cmpxchg", json={}, timeout=5)
    _assert_error(r, 405, "not allowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "PUT", "DELETE"}
    r = requests.patch(node.url + BULK, timeout=5)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]


def test_bad_query_parameters(node) -> None:
    body = {"Commands": [{"Type": "PUT", "Id": "q/1", "Document": {}}]}
    for query in ("numberOfReplicasToWaitFor=lots", "numberOfReplicasToWaitFor=1&waitForReplicasTimeout=soon",
                  "numberOfReplicasToWaitFor=1&waitForReplicasTimeout=00:00:01&throwOnTimeoutInWaitForReplicas=maybe"):
        _assert_error(requests.post(f"{node.url}{BULK}?{query}", json=body, timeout=5), 400)
    assert requests.get(f"{node.url}/databases/db/docs", params={"id": "q/1"}, timeout=5).status_code == 404
    _assert_error(requests.get(f"{node.url}/databases/db/docs?pageSize=-1", timeout=5), 400, "out of range")
    r = requests.get(f"{node.url}/databases/db/docs?&id=%ED%A0%80", timeout=5)  # invalid UTF-8 in the URL
    assert r.status_code in (400, 404) and "Results" in r.json() or "Type" in r.json()


def test_compare_exchange_bad_input_is_a_clear_error(node) -> None:
    r = requests.get(f"{node.url}/databases/db/cmpxchg?key=k", timeout=5)
    _assert_error(r, 404, "compare-exchange")
    _assert_error(requests.put(f"{node.url}/databases/db/cmpxchg?key=k&index=0", json={"x": 1}, timeout=5),
                  400, "Object")
    body = {"Commands": [{"Type": "CompareExchangePUT", "Id": "k", "Document": {"Object": 1}, "Index": 0}]}
    _assert_error(requests.post(node.url + BULK, json=body, timeout=5), 400, "cluster-wide")


def test_original_document_survived(node) -> None:
    docs = {d["@metadata"]["@id"]: d for d in _items(node)}
    assert docs["items/1"]["v"] == 1
