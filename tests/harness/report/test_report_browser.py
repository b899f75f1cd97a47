"""Reports in a real headless Chromium: load offline, no console errors, pictures drawn, fast at 100k ops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unkindness.harness.report import write_report
from support.synthetic_runs import events_from_ops, register_ops, write_folder

from support import browser

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(browser.chromium_path() is None,
                       reason="chromium is not installed (apt-get install -y chromium)"),
]

CANVASES = ("timeline", "latency", "quantiles", "throughput")
PROBE = {
    "drawn": "JSON.stringify(Object.fromEntries([...document.querySelectorAll('canvas')].map(c => [c.id, +c.dataset.drawn])))",
    "boxes": "JSON.stringify(Object.fromEntries([...document.querySelectorAll('canvas, [data-picture]')].map(c => {"
             "  c.scrollIntoView(); const r = c.getBoundingClientRect();"
             "  return [c.id || c.dataset.picture, {x: r.x, y: r.y, width: r.width, height: r.height}] })))",
    "pictures": "JSON.stringify([...document.querySelectorAll('[data-picture] svg')].map(s => s.childElementCount))",
    "ready": "document.body.dataset.ready",
    "jsErrors": "document.body.dataset.jsErrors || '0'",
}


def _check_page(path: Path, expect_pictures: int) -> browser.Page:
    page = browser.load(path, PROBE)
    assert page.errors == [], page.errors
    assert page.values["ready"] == "yes" and page.values["jsErrors"] == "0"
    assert all(u.startswith("file://") for u in page.requests), page.requests  # nothing from the network
    drawn = json.loads(page.values["drawn"])
    for c in CANVASES:
        assert drawn.get(c, 0) > 0, (c, drawn)
    assert len(json.loads(page.values["pictures"])) >= expect_pictures
    assert all(n > 5 for n in json.loads(page.values["pictures"]))
    return page


@pytest.mark.parametrize("kind,pictures", [("register", 1), ("bank", 1), ("list-append", 1), ("set", 0),
                                           ("cart", 0), ("register-valid", 0), ("engineer-pool", 1)])
def test_report_loads_and_draws(runs, kind, pictures):
    _check_page(write_report(runs[kind]), pictures)


def test_corpus_report_loads_and_draws(runs):
    if "corpus" not in runs:
        pytest.skip("the linearizability corpus is not present at /work/shared/corpora")
    _check_page(write_report(runs["corpus"]), 1)


def test_screenshot_shows_ink_in_every_chart(runs):
    """A screenshot of each chart's region; its pixels must not all be background."""
    path = write_report(runs["register"])
    sels = {name: (f"#{name}" if name in CANVASES else f"[data-picture={name}]")
            for name in ("timeline", "latency", "quantiles", "throughput", "linearizability")}
    page = browser.load(path, shots=sels, height=1000)
    assert set(page.shots) == set(sels)
    for name, png in page.shots.items():
        w, h, _, _ = browser.decode_png(png)
        assert h > 25, name
        assert browser.ink(png, {"x": 0, "y": 0, "width": w, "height": h}) > 0.01, name


def test_blank_page_has_no_ink():
    """The ink measure itself can fail: an empty box reads as empty."""
    import zlib
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff" * 30 for _ in range(10))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    assert browser.ink(png, {"x": 0, "y": 0, "width": 10, "height": 10}) == 0.0


def test_100k_ops_loads_under_5s_and_10mb(tmp_path):
    from unkindness.checkers.stats import check_stats

    ops, fault = register_ops(100_000, seed=5, processes=10, stale_read=False)
    write_folder(tmp_path, "register", events_from_ops(ops), fault, seed=5)
    events = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    (tmp_path / "results.json").write_text(json.dumps({"valid": True, "summary": "stats only",
                                                       "results": {"stats": check_stats(events)}}))
    path = write_report(tmp_path)
    assert path.stat().st_size < 10_000_000
    page = _check_page(path, 0)
    assert json.loads(page.values["drawn"])["timeline"] == 100_000
    assert page.load_ms < 5000, page.load_ms
