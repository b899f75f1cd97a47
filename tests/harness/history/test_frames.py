"""unkindness.load_history: histories as pandas frames, from every kind of input."""

from __future__ import annotations

import subprocess
import sys

import pytest

import unkindness
from unkindness.harness.history.files import write_edn
from support.synthetic_runs import build


@pytest.fixture(scope="module")
def bank_run(tmp_path_factory):
    return build(tmp_path_factory.mktemp("frames") / "bank", "bank")


def test_one_row_per_operation_from_jsonl_edn_and_a_results_folder(bank_run):
    edn = write_edn(bank_run / "history.jsonl", bank_run / "history.edn")
    frames = [unkindness.load_history(p) for p in (bank_run / "history.jsonl", edn, bank_run)]
    for df in frames:
        assert list(df.columns) == ["process", "f", "type", "invoke_index", "complete_index", "invoke_time",
                                    "complete_time", "latency", "node", "value", "invoke_value", "error"]
        assert set(df.f) == {"transfer", "read"} and set(df.type) <= {"ok", "fail", "info"}
        assert df.latency.dtype == "float64" and (df[df.type == "ok"].latency >= 0).all()
        assert df[df.type == "info"].latency.isna().all()
    assert frames[0].equals(frames[1]) and frames[0].equals(frames[2])
    faults = unkindness.load_faults(bank_run)
    assert list(faults.kind) == ["partition"] and (faults.end > faults.start).all()


def test_pandas_stays_off_the_checkers_and_reports_import_path():
    code = ("import sys; import unkindness.checkers.linear, unkindness.checkers.cycles, unkindness.harness.checking, "
            "unkindness.harness.report, unkindness.harness.cli; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
