"""Jepsen's reading of Jepsen's histories (failed ops, nil reads), the default for EDN input.

Each data file is a small hand-written history with the verdict Knossos or Elle gives; the comment
in the file says where in their source the rule lives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from unkindness.checkers.cycles import check_list_append
from unkindness.checkers.history import HistoryError
from unkindness.checkers.linear import check
from unkindness.harness.history.files import load

DATA = Path(__file__).parent / "data"
HARNESS = str(Path(sys.executable).with_name("harness"))


def events(name: str) -> list[dict]:
    return load(DATA / name).events


@pytest.mark.parametrize("name,model,init", [("knossos-failed-cas.edn", "cas-register", None),
                                             ("knossos-nil-read.edn", "cas-register", 0),
                                             ("knossos-nil-read.edn", "register", 0)])
def test_knossos_verdicts_under_jepsens_reading_and_porcupines_differ(name, model, init):
    assert check(events(name), model, init=init, semantics="jepsen")["valid"] is True
    assert check(events(name), model, init=init, semantics="porcupine")["valid"] is False


def test_elle_reads_a_nil_read_as_the_empty_list():
    r = check_list_append(events("elle-nil-read.edn"), "strict-serializable", semantics="jepsen")
    assert r["valid"] is True and r["semantics"] == "jepsen" and "Jepsen's reading" in r["summary"]
    with pytest.raises(HistoryError, match="an ok read must be a list"):
        check_list_append(events("elle-nil-read.edn"), semantics="porcupine")


def test_harness_check_defaults_to_jepsens_reading_for_edn_and_names_it():
    cp = subprocess.run([HARNESS, "check", str(DATA / "knossos-failed-cas.edn"), "--model", "cas-register",
                         "--init", "null", "--json", "-q"], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lin = json.loads(cp.stdout)["results"]["linearizable"]
    assert lin["semantics"] == "jepsen" and "Jepsen's reading" in lin["summary"]
    cp = subprocess.run([HARNESS, "check", str(DATA / "knossos-failed-cas.edn"), "--model", "cas-register",
                         "--init", "null", "--semantics", "porcupine", "-q"], capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 1 and "Porcupine's reading" in cp.stdout
    cp = subprocess.run([HARNESS, "check", str(DATA / "elle-nil-read.edn"), "-q"], capture_output=True, text=True,
                        timeout=60)
    assert cp.returncode == 0 and "Jepsen's reading" in cp.stdout, cp.stdout + cp.stderr
