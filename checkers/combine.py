"""Combining checker results: the worst verdict wins.

Order: ``False`` (an anomaly), then ``"unknown"`` (could not decide), then
``True``. A result that is not a dict with a recognised ``"valid"`` counts as
``"unknown"`` (and is named), so a broken checker can never make a run pass.
No results at all is ``"unknown"`` too: nothing was checked.
"""

from __future__ import annotations

from typing import Any

VERDICTS = (False, "unknown", True)  # worst first


def _verdict(result: Any) -> Any:
    """The verdict of one result, or None when it has none we recognise."""
    if not isinstance(result, dict):
        return None
    v = result.get("valid")
    # `True == 1` and `False == 0` in Python; insist on the real values.
    if v is True or v is False or v == "unknown" and isinstance(v, str):
        return v
    return None


def combine(results: dict[str, dict]) -> dict:
    """``{"valid", "results", "summary", "failed", "unknown", "malformed"}`` over named results."""
    if not isinstance(results, dict):
        return {
            "valid": "unknown", "results": {}, "failed": [], "unknown": [], "malformed": [],
            "summary": f"Expected a mapping of checker name to result, got {type(results).__name__}.",
        }
    failed: list[str] = []
    unknown: list[str] = []
    malformed: list[str] = []
    for name, result in results.items():
        v = _verdict(result)
        if v is None:
            malformed.append(str(name))
            unknown.append(str(name))
        elif v is False:
            failed.append(str(name))
        elif v == "unknown":
            unknown.append(str(name))
    if failed:
        valid: Any = False
    elif unknown or not results:
        valid = "unknown"
    else:
        valid = True
    if not results:
        summary = "No checker ran, so nothing was verified."
    elif failed:
        summary = f"Failed: {', '.join(failed)}."
        if unknown:
            summary += f" Unknown: {', '.join(unknown)}."
    elif unknown:
        summary = f"No anomaly found, but undecided: {', '.join(unknown)}."
    else:
        summary = f"All {len(results)} checkers passed ({', '.join(map(str, results))})."
    if malformed:
        summary += f" Malformed result (no valid verdict) from: {', '.join(malformed)}."
    return {
        "valid": valid,
        "results": results,
        "summary": summary,
        "failed": failed,
        "unknown": unknown,
        "malformed": malformed,
    }
