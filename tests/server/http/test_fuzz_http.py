"""Hypothesis sends >= 1,000 random requests to a real server process (10,000 in the slow run):
every request gets an HTTP answer, no 5xx (except RavenDB's documented 503 with Database-Missing), the
process stays up, a database the fuzzer never addresses is untouched, and the SQLite files stay sound."""

from __future__ import annotations

import json
import sqlite3

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.server_procs import NodeProcess, free_port

pytestmark = pytest.mark.timeout(240)

SENT = {"count": 0}
DBS = ["fuzz", "missing", "", "a b", "..", "%00", "fuzz/../keep2"]
# Sent as they are, not quoted: a NUL or CR LF in the database name once dropped the connection.
RAW_DBS = ["%00", "a%00b", "%0D%0A", "%FF", "%C3%A9", "%2F", "fuzz%00"]
PATHS = ["/databases/{db}/docs", "/databases/{db}/bulk_docs", "/databases/{db}/hilo/next",
         "/databases/{db}/hilo/return", "/databases/{db}/cmpxchg", "/databases/{db}/admin/revisions/config",
         "/databases/{db}/admin/record", "/databases/{db}/configuration/client", "/topology", "/cluster/topology",
         "/admin/databases", "/databases", "/build/version", "/_internal/cluster/database-record",
         "/databases/{db}", "/", "/databases/{db}/docs/extra"]
PARAMS = ["id", "name", "tag", "lastMax", "pageSize", "start", "replicationFactor", "numberOfReplicasToWaitFor",
          "waitForReplicasTimeout", "throwOnTimeoutInWaitForReplicas", "key", "index", "first-topology-update",
          "?raft-request-id", "loadHash", "include"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

command = st.fixed_dictionaries({
    "Type": st.sampled_from(["PUT", "DELETE", "PATCH", "BatchTrackChanges", "CompareExchangePUT", None, 3]),
    "Id": st.one_of(st.none(), st.text(max_size=12), st.integers(), st.just("fuzz/1")),
    "ChangeVector": st.one_of(st.none(), st.just(""), st.text(max_size=12), st.integers()),
    "Document": st.one_of(json_values, st.dictionaries(st.sampled_from(["v", "@metadata"]), json_values)),
    "TrackedEntities": json_values,
})
bodies = st.one_of(
    st.none(),
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(command, max_size=4).map(lambda cs: json.dumps({"Commands": cs}).encode()),
    st.fixed_dictionaries({"DatabaseName": st.sampled_from(["f1", "f2", "bad name", "", None])})
    .map(lambda v: json.dumps(v).encode()),
)
query = st.lists(st.tuples(st.sampled_from(PARAMS), st.one_of(st.text(max_size=10), st.sampled_from(
    ["fuzz/1", "None", "majority", "00:00:00.01", "-1", "1", "true", "fuzz"]))), max_size=4)
requests_ = st.tuples(st.sampled_from(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]),
                      st.sampled_from(PATHS), st.sampled_from(DBS + [("raw", d) for d in RAW_DBS]), query, bodies)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    n = NodeProcess("A", "127.0.0.30", free_port("127.0.0.30"), tmp / "A", extra_args=["--max-body-bytes", "4096"])
    n.start()
    try:
        for db in ("fuzz", "keep"):
            r = requests.put(f"{n.url}/admin/databases", params={"name": db}, json={"DatabaseName": db}, timeout=5)
            assert r.status_code == 201
        cmds = [{"Id": f"keep/{i}", "Type": "PUT", "ChangeVector": None, "Document": {"i": i}} for i in range(20)]
        assert requests.post(f"{n.url}/databases/keep/bulk_docs", json={"Commands": cmds}, timeout=5).status_code == 201
        yield n
    finally:
        n.kill()


def _keep(node) -> list[dict]:
    return requests.get(f"{node.url}/databases/keep/docs", timeout=5).json()["Results"]


@pytest.fixture(scope="module")
def before(node) -> list[dict]:
    return _keep(node)


FUZZ_SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


def send(node, req) -> None:
    method, path, db, params, body = req
    if body is not None and b"keep" in body:
        body = body.replace(b"keep", b"kept")
    segment = db[1] if isinstance(db, tuple) else requests.utils.quote(db, safe="")
    url = node.url + path.replace("{db}", segment)
    qs = "&".join(f"{requests.utils.quote(k, safe='?')}={requests.utils.quote(v, safe='')}" for k, v in params
                  if "keep" not in v)
    # A dropped connection raises here: every request must get an answer.
    r = requests.request(method, url + ("?&" + qs if qs else ""), data=body, timeout=10)
    SENT["count"] += 1
    SENT.setdefault("statuses", {}).setdefault(r.status_code, 0)
    SENT["statuses"][r.status_code] += 1
    documented = r.status_code == 503 and "Database-Missing" in r.headers
    assert r.status_code < 500 or documented, (method, url, params, body, r.status_code, r.text[:500])
    if r.status_code >= 400 and method != "HEAD":
        err = r.json()
        assert isinstance(err.get("Type"), str) and isinstance(err.get("Message"), str) or "Results" in err


@settings(max_examples=1000, **FUZZ_SETTINGS)
@given(req=requests_)
def test_random_requests_never_get_5xx(node, before, req) -> None:
    send(node, req)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@settings(max_examples=10_000, **FUZZ_SETTINGS)
@given(req=requests_)
def test_ten_thousand_random_requests_never_get_5xx(node, before, req) -> None:
    send(node, req)


def test_after_fuzzing_the_node_is_alive_and_data_intact(node, before, tmp_path) -> None:
    assert SENT["count"] >= 1000
    print(f"fuzz: {SENT['count']} requests, answers by status: {sorted(SENT['statuses'].items())}")
    assert node.alive()
    assert _keep(node) == before and len(before) == 20
    node.stop()
    for f in (node.data_dir / "databases").glob("*.sqlite"):
        with sqlite3.connect(f) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            # the invariant storage keeps: an id is a document or a tombstone, never both
            both = conn.execute("SELECT COUNT(*) FROM documents d JOIN tombstones t USING (lower_id)").fetchone()
            assert both[0] == 0
    assert "Traceback" not in node.logs()
