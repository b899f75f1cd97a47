"""harness test-all's matrix: parsing, the worst verdict, and the nightly job that runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from unkindness import nemeses, workloads
from unkindness.harness import matrix

ROOT = Path(__file__).resolve().parents[2]


def test_workloads_carry_their_options_and_nemeses_combine_with_plus():
    ws = matrix.parse_workloads("bank:txn-mode=cluster-wide:accounts=7, set", workloads.names())
    assert ws == [("bank", {"txn_mode": "cluster-wide", "accounts": "7"}), ("set", {})]
    ns = matrix.parse_nemeses("partition,partition+kill,none", nemeses.names())
    assert ns == [["partition"], ["partition", "kill"], ["none"]]
    cells = matrix.cells(ws, ns)
    assert len(cells) == 6 and cells[1].label == "bank:txn-mode=cluster-wide:accounts=7 / partition+kill"


@pytest.mark.parametrize("w,n,msg", [("nope", "none", "unknown workload 'nope'"),
                                      ("bank:txn-mode", "none", "options go as name:key=value"),
                                      ("set", "partition+flood", "unknown nemesis 'flood'"),
                                      (" , ", "none", "names no workload")])
def test_bad_entries_say_what_is_wrong(w, n, msg):
    with pytest.raises(matrix.MatrixError, match=msg):
        matrix.cells(matrix.parse_workloads(w, workloads.names()), matrix.parse_nemeses(n, nemeses.names()))


def test_the_worst_verdict_decides_the_exit():
    rows = [matrix.Row("a", "x", v) for v in ("VALID", "UNKNOWN", "VALID")]
    assert matrix.worst(rows) == "UNKNOWN" and matrix.EXIT["UNKNOWN"] == 2
    rows.append(matrix.Row("b", "y", "INVALID"))
    assert matrix.worst(rows) == "INVALID" and matrix.EXIT[matrix.worst(rows)] == 1
    rows.append(matrix.Row("c", "z", "ERROR"))
    assert matrix.EXIT[matrix.worst(rows)] == 255
    assert matrix.worst([]) == "VALID"


def test_the_nightly_workflow_runs_make_nightly_and_publishes_its_results():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    runs = [s.get("run", "") for s in steps]
    assert any("make nightly" in r for r in runs)
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"].rstrip("/") == "results" and upload.get("if") == "always()"
    junit = next(s for s in steps if "report_paths" in (s.get("with") or {}))
    assert junit["with"]["report_paths"] == "results/test-all/latest/junit.xml"


def test_make_nightly_is_a_test_all_of_registered_workloads_and_nemeses():
    out = subprocess.run(["make", "-n", "nightly"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    line = next(l for l in out.splitlines() if "harness test-all" in l)
    args = line.split()
    ws = matrix.parse_workloads(args[args.index("--workloads") + 1], workloads.names())
    ns = matrix.parse_nemeses(args[args.index("--nemeses") + 1], nemeses.names())
    assert {w for w, _ in ws} == set(workloads.names())  # every workload, in a valid configuration
    assert {n for combo in ns for n in combo} == set(nemeses.names())  # every fault
    assert ("bank", {"txn_mode": "cluster-wide"}) in ws  # single-node bank loses money by design
