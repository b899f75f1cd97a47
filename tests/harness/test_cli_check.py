"""`harness check` as a user runs it: a real subprocess on real files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = str(Path(sys.executable).with_name("harness"))
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "linearizability"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus not found at {CORPUS}")


def harness(*args, cwd=None):
    return subprocess.run([HARNESS, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def write_history(path, ops):
    """ops: (process, f, invoke_value, type, completion_value[, node]) in real-time order, each completing at once."""
    events, i = [], 0
    for op in ops:
        p, f, iv, t, cv = op[:5]
        node = op[5] if len(op) > 5 else None
        for typ, val in (("invoke", iv), (t, cv)):
            events.append({"index": i, "time": i * 1000, "process": p, "type": typ, "f": f, "value": val,
                           "node": node, "error": None})
            i += 1
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@needs_corpus
def test_invalid_etcd_history_exits_1_and_explains_in_words():
    cp = harness("check", CORPUS / "porcupine-etcd/invalid/etcd_000.jsonl", "--model", "cas-register")
    assert cp.returncode == 1, cp.stderr
    assert "INVALID" in cp.stdout
    assert "cannot be linearized" in cp.stdout and "longest linearizable prefix" in cp.stdout
    assert "Traceback" not in cp.stderr


@needs_corpus
def test_valid_etcd_history_exits_0_and_json_output_parses():
    cp = harness("check", CORPUS / "porcupine-etcd/valid/etcd_002.jsonl", "--model", "cas-register", "--json")
    assert cp.returncode == 0, cp.stderr
    result = json.loads(cp.stdout)
    assert result["valid"] is True and result["results"]["linearizable"]["model"] == "cas-register"


@needs_corpus
def test_tiny_time_limit_answers_unknown_with_exit_2():
    # c50: 0.1 ms cannot cover even reading its 3,424 events in C (the whole check takes about 1 ms)
    cp = harness("check", CORPUS / "porcupine-kv/valid/c50-ok.jsonl", "--model", "kv", "--time-limit", "0.0001")
    assert cp.returncode == 2, (cp.stdout, cp.stderr)
    assert "UNKNOWN" in cp.stdout


def test_jepsen_edn_history_is_checked(tmp_path):
    edn = tmp_path / "history.edn"
    edn.write_text(
        "{:type :invoke, :f :write, :value 1, :process 0, :time 1, :index 0}\n"
        "{:type :ok, :f :write, :value 1, :process 0, :time 2, :index 1}\n"
        "{:type :info, :f :start-partition, :value :majority, :process :nemesis, :time 3, :index 2}\n"
        "{:type :invoke, :f :read, :value nil, :process 1, :time 4, :index 3}\n"
        "{:type :ok, :f :read, :value 2, :process 1, :time 5, :index 4}\n")
    cp = harness("check", edn, "--model", "register", "--init", "0")
    assert cp.returncode == 1 and "(edn," in cp.stdout, (cp.stdout, cp.stderr)
    edn.write_text(edn.read_text().replace(":value 2,", ":value 1,"))
    assert harness("check", edn, "--model", "register", "--init", "0").returncode == 0


def test_checker_is_chosen_from_the_operations(tmp_path):
    bank = write_history(tmp_path / "bank.jsonl", [
        (0, "read", None, "ok", {"a": 5, "b": 5}),
        (1, "transfer", {"from": "a", "to": "b", "amount": 2}, "ok", {"from": "a", "to": "b", "amount": 2}),
        (0, "read", None, "ok", {"a": 3, "b": 9}),
    ])
    cp = harness("check", bank)
    assert cp.returncode == 1 and "bank" in cp.stdout, cp.stdout
    txn = write_history(tmp_path / "txn.jsonl", [
        (0, "txn", [["append", "x", 1]], "ok", [["append", "x", 1]]),
        (1, "txn", [["r", "x", None]], "ok", [["r", "x", [1]]]),
    ])
    cp = harness("check", txn)
    assert cp.returncode == 0 and "list-append" in cp.stdout, cp.stdout


def test_results_folder_uses_its_workloads_checkers(tmp_path):
    run = tmp_path / "results" / "set-kill" / "20261124T000000"
    run.mkdir(parents=True)
    (run / "test.json").write_text(json.dumps({"workload": "set", "nemesis": "kill"}))
    write_history(run / "history.jsonl", [
        (0, "add", 1, "ok", 1), (1, "add", 2, "ok", 2), (0, "add", 3, "info", 3),
        (2, "final-read", None, "ok", [1, 3], "n1"), (3, "final-read", None, "ok", [1, 3], "n2"),
    ])
    (tmp_path / "results" / "latest").symlink_to(run)
    cp = harness("check", tmp_path / "results")
    assert cp.returncode == 1, cp.stdout
    assert "set" in cp.stdout and "stats" in cp.stdout and "lost" in cp.stdout


@pytest.mark.parametrize("args,message", [
    (["check", "/no/such/file"], "no such file or folder"),
    (["check", "{hist}", "--model", "nope"], "unknown model 'nope'"),
    (["check", "{hist}", "--checker", "nope"], "unknown checker 'nope'"),
    (["check", "{hist}", "--init", "{{"], "--init must be JSON"),
    (["check", "{hist}", "--time-limit", "0"], "Invalid value for '--time-limit'"),
    (["check", "{bad}"], ":2: not valid JSON"),
    (["check", "{dir}"], "holds history.jsonl"),
    (["check", "{odd}"], "cannot tell which model fits"),
    (["nonsense"], "No such command"),
])
def test_bad_input_exits_254_with_one_line_and_no_traceback(tmp_path, args, message):
    hist = write_history(tmp_path / "h.jsonl", [(0, "write", 1, "ok", 1)])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(hist.read_text().splitlines()[0] + "\n{nope\n")
    odd = write_history(tmp_path / "odd.jsonl", [(0, "frobnicate", 1, "ok", 1)])
    names = {"hist": hist, "bad": bad, "dir": tmp_path, "odd": odd}
    cp = harness(*[a.format(**names) for a in args])
    assert cp.returncode == 254, (cp.stdout, cp.stderr)
    assert message in cp.stderr and "Traceback" not in cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_missing_results_folder(tmp_path):
    cp = harness("serve", "--results-dir", tmp_path / "nope", "--port", "0")
    assert cp.returncode == 254 and "no such folder" in cp.stderr


def test_serve_answers_with_the_index(tmp_path):
    import time
    import urllib.request

    (tmp_path / "results").mkdir()
    proc = subprocess.Popen([HARNESS, "serve", "--results-dir", str(tmp_path / "results"), "--port", "18931"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                body = urllib.request.urlopen("http://127.0.0.1:18931/", timeout=1).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
                time.sleep(0.1)
        assert "<html" in body.lower()
    finally:
        proc.terminate()
        proc.wait(10)
