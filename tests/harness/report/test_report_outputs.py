"""junit.xml, results/index.html and `harness serve`."""

from __future__ import annotations

import http.client
import json
import os
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from unkindness.harness.report import make_server, write_index, write_junit, write_junit_many
from support.synthetic_runs import build

pytestmark = pytest.mark.timeout(120)


def test_junit_one_testcase_per_checker_with_failures(runs):
    root = ET.parse(write_junit(runs["bank"])).getroot()
    suite = root.find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"bank", "stats"}
    fail = cases["bank"].find("failure")
    assert fail is not None and "reads were wrong" in fail.get("message") and "Transfers only move money" in fail.text
    assert cases["stats"].find("failure") is None
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    root = ET.parse(write_junit(runs["register-valid"])).getroot()
    assert root.find("testsuite").get("failures") == "0"


def test_junit_unknown_is_skipped_and_missing_results_is_an_error(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "results.json").write_text(json.dumps({"valid": "unknown", "results": {"linearizable": {
        "valid": "unknown", "summary": "out of time"}}}))
    s = ET.parse(write_junit(a)).getroot().find("testsuite")
    assert s.get("skipped") == "1" and s.get("failures") == "0"
    s = ET.parse(write_junit(b)).getroot().find("testsuite")
    assert s.get("errors") == "1"
    many = ET.parse(write_junit_many([a, b], tmp_path / "all.xml")).getroot()
    assert len(many.findall("testsuite")) == 2


def _fresh_results(tmp_path: Path) -> Path:
    res = tmp_path / "results"
    build(res / "bank-partition" / "20260101T000000", "bank")
    build(res / "register-partition" / "20260101T000100", "register-valid", n_ops=120)
    os.symlink(res / "bank-partition" / "20260101T000000", res / "latest")
    return res


def test_index_lists_every_run_once_with_its_verdict(tmp_path):
    res = _fresh_results(tmp_path)
    html = write_index(res).read_text()
    assert html.count("<tr data-verdict=") == 2  # the latest symlink is not a second run
    assert "data-verdict='INVALID'" in html and "data-verdict='valid'" in html
    assert "bank-partition/20260101T000000/report.html" in html


@pytest.fixture
def server(tmp_path):
    res = _fresh_results(tmp_path)
    srv = make_server(res, port=0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield res, srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read()


def test_serve_renders_missing_reports_on_demand(server):
    res, port = server
    run = res / "bank-partition" / "20260101T000000"
    assert not (run / "report.html").exists()
    status, body = _get(port, "/bank-partition/20260101T000000/report.html")
    assert status == 200 and b"data-verdict='INVALID'" in body and (run / "report.html").is_file()
    status, body = _get(port, "/")
    assert status == 200 and b"Unkindness test runs" in body
    status, body = _get(port, "/latest/")
    assert status == 200 and b"<!DOCTYPE html>" in body
    status, _ = _get(port, "/bank-partition/20260101T000000/history.jsonl")
    assert status == 200
    assert _get(port, "/nope/report.html")[0] == 404


def test_serve_refuses_paths_outside_results(server, tmp_path):
    res, port = server
    (tmp_path / "secret.txt").write_text("secret")
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/bank-partition/../../secret.txt", "/..%2fsecret.txt"):
        status, body = _get(port, path)
        assert status in (403, 404) and b"secret" not in body.replace(b"refused", b""), path
    assert _get(port, "/%2e%2e/secret.txt")[0] == 403
    os.symlink(tmp_path / "secret.txt", res / "escape.txt")
    assert _get(port, "/escape.txt")[0] == 403
