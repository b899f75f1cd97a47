"""junit.xml: one testcase per checker, so CI systems show verdicts natively.

A checker that found an anomaly is a <failure> carrying its summary and
explanation; "unknown" is a <skipped> (CI must not count it as a pass, and
it is not proof of a bug either); a run with no results.json is one <error>.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .render import atomic_write


def _suite_name(run_dir: Path, test: dict) -> str:
    parts = [str(test[k]) for k in ("workload", "nemesis") if test.get(k)]
    return "unkindness." + ("-".join(parts) if parts else run_dir.name)


def _load(p: Path) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def suite(run_dir: Path) -> ET.Element:
    """The <testsuite> element for one results folder."""
    run_dir = Path(run_dir)
    test = _load(run_dir / "test.json")
    test = test if isinstance(test, dict) else {}
    res = _load(run_dir / "results.json")
    name = _suite_name(run_dir, test)
    el = ET.Element("testsuite", name=name)
    dur = test.get("duration_s")
    cases = []
    if not isinstance(res, dict):
        tc = ET.Element("testcase", classname=name, name="results")
        err = ET.SubElement(tc, "error", message="no readable results.json: the run was not checked")
        err.text = f"{run_dir}/results.json is missing or not JSON"
        cases.append(tc)
    else:
        results = res.get("results")
        if not isinstance(results, dict) or not results:
            results = {"result": res}
        for cname, r in results.items():
            tc = ET.Element("testcase", classname=name, name=str(cname))
            r = r if isinstance(r, dict) else {"valid": None, "summary": f"not a result: {r!r}"}
            v = r.get("valid")
            summary = str(r.get("summary") or "")
            if v is False:
                f = ET.SubElement(tc, "failure", message=summary[:500] or "anomaly found", type="anomaly")
                f.text = "\n\n".join(x for x in (summary, str(r.get("explanation") or "")) if x)
            elif v == "unknown":
                ET.SubElement(tc, "skipped", message=("unknown: " + summary)[:500])
            elif v is not True:
                e = ET.SubElement(tc, "error", message=f"checker gave no verdict ({v!r})")
                e.text = summary
            else:
                out = ET.SubElement(tc, "system-out")
                out.text = summary
            cases.append(tc)
    for tc in cases:
        el.append(tc)
    el.set("tests", str(len(cases)))
    el.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    el.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    el.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    if isinstance(dur, (int, float)) and not isinstance(dur, bool):
        el.set("time", f"{dur:.3f}")
    if test.get("command"):
        props = ET.SubElement(el, "properties")
        for k in ("command", "seed", "workload", "nemesis"):
            if test.get(k) is not None:
                ET.SubElement(props, "property", name=k, value=str(test[k]))
        el.remove(props)
        el.insert(0, props)
    return el


def _write(path: Path, root: ET.Element) -> Path:
    ET.indent(root)
    atomic_write(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    return path


def write_junit(run_dir: Path) -> Path:
    """Writes ``run_dir/junit.xml`` (one <testsuite> in <testsuites>); returns its path."""
    run_dir = Path(run_dir)
    root = ET.Element("testsuites")
    root.append(suite(run_dir))
    return _write(run_dir / "junit.xml", root)


def write_junit_many(run_dirs: list[Path], out: Path) -> Path:
    """One junit.xml for several runs (harness test-all): a <testsuite> per run."""
    root = ET.Element("testsuites")
    for d in run_dirs:
        root.append(suite(Path(d)))
    return _write(Path(out), root)
