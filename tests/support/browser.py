"""Drives a real headless Chromium over the DevTools protocol (aiohttp websocket) for report tests.

Why the protocol and not --dump-dom: we need the console errors, uncaught
exceptions, the DOM after the scripts ran, and a screenshot, all from one load.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Page:
    """What one load of a report produced."""

    def __init__(self) -> None:
        self.errors: list[str] = []  # console errors and uncaught exceptions
        self.requests: list[str] = []  # every URL the page asked for
        self.load_ms: float = 0.0
        self.values: dict[str, Any] = {}
        self.png: bytes = b""
        self.shots: dict[str, bytes] = {}  # selector name -> PNG of just that element (half scale)


async def _load(url: str, evaluate: dict[str, str], width: int, height: int, timeout: float,
                shots: dict[str, str] | None = None) -> Page:
    exe = chromium_path()
    assert exe, "chromium is not installed"
    profile = tempfile.mkdtemp(prefix="report-chromium-")
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             f"--window-size={width},{height}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    page = Page()
    try:
        ws_url = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(None, _ws_url, proc), 30)
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                ids = iter(range(1, 10**9))
                waiting: dict[int, asyncio.Future] = {}
                events: asyncio.Queue = asyncio.Queue()

                async def reader() -> None:
                    async for msg in ws:
                        data = json.loads(msg.data)
                        if "id" in data and data["id"] in waiting:
                            waiting.pop(data["id"]).set_result(data)
                        else:
                            await events.put(data)

                task = asyncio.create_task(reader())

                async def call(method: str, params: dict | None = None, session: str | None = None) -> dict:
                    i = next(ids)
                    fut = asyncio.get_running_loop().create_future()
                    waiting[i] = fut
                    msg = {"id": i, "method": method, "params": params or {}}
                    if session:
                        msg["sessionId"] = session
                    await ws.send_str(json.dumps(msg))
                    res = await asyncio.wait_for(fut, timeout)
                    if "error" in res:
                        raise RuntimeError(f"{method}: {res['error']}")
                    return res.get("result", {})

                target = (await call("Target.createTarget", {"url": "about:blank"}))["targetId"]
                sid = (await call("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
                for m in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
                    await call(m, session=sid)
                await call("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, sid)
                t0 = time.monotonic()
                await call("Page.navigate", {"url": url}, sid)
                loaded = False
                deadline = t0 + timeout
                while time.monotonic() < deadline:
                    try:
                        ev = await asyncio.wait_for(events.get(), 0.1)
                    except asyncio.TimeoutError:
                        ev = None
                    if ev:
                        _note(page, ev)
                        if ev.get("method") == "Page.loadEventFired":
                            loaded = True
                    if loaded:
                        r = await call("Runtime.evaluate", {"expression": "document.body && document.body.dataset.ready",
                                                            "returnByValue": True}, sid)
                        if r.get("result", {}).get("value") not in (None, "no"):
                            break
                page.load_ms = (time.monotonic() - t0) * 1000
                while not events.empty():
                    _note(page, events.get_nowait())
                for name, expr in evaluate.items():
                    r = await call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, sid)
                    page.values[name] = r.get("result", {}).get("value")
                for name, sel in (shots or {}).items():
                    r = await call("Runtime.evaluate", {"expression": (
                        "(() => { const r = document.querySelector(%s).getBoundingClientRect(); return JSON.stringify("
                        "{x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height}); })()"
                        % json.dumps(sel)), "returnByValue": True}, sid)
                    box = json.loads(r["result"]["value"])
                    clip = await call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                                  "clip": {**box, "scale": 0.5}}, sid)
                    page.shots[name] = base64.b64decode(clip["data"])
                shot = await call("Page.captureScreenshot", {"format": "png"}, sid)
                page.png = base64.b64decode(shot["data"])
                await asyncio.sleep(0.05)
                while not events.empty():
                    _note(page, events.get_nowait())
                task.cancel()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return page


def _ws_url(proc: subprocess.Popen) -> str:
    assert proc.stderr is not None
    for raw in proc.stderr:
        line = raw.decode(errors="replace")
        m = re.search(r"DevTools listening on (ws://\S+)", line)
        if m:
            # Keep draining stderr so chromium never blocks on a full pipe.
            import threading
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return m.group(1)
    raise RuntimeError("chromium exited before opening its DevTools port")


def _note(page: Page, ev: dict) -> None:
    m, p = ev.get("method"), ev.get("params", {})
    if m == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        page.errors.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
    elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
        page.errors.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
    elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
        page.errors.append("log: " + str(p["entry"].get("text")) + " " + str(p["entry"].get("url", "")))
    elif m == "Network.requestWillBeSent":
        page.requests.append(p.get("request", {}).get("url", ""))


def load(path: Path, evaluate: dict[str, str] | None = None, width: int = 1280, height: int = 2400,
         timeout: float = 60, shots: dict[str, str] | None = None) -> Page:
    """Loads a local file in a fresh headless Chromium and reports what happened."""
    return asyncio.run(_load(Path(path).resolve().as_uri(), evaluate or {}, width, height, timeout, shots))


def load_url(url: str, evaluate: dict[str, str] | None = None, width: int = 1280, height: int = 2400,
             timeout: float = 60) -> Page:
    return asyncio.run(_load(url, evaluate or {}, width, height, timeout))


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, channels, raw rows) of an 8-bit non-interlaced RGB/RGBA PNG, filters undone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    w = h = ctype = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and interlace == 0 and ctype in (2, 6), "unsupported PNG"
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    ch = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * ch
    out = bytearray(h * stride)
    prev = bytearray(stride)
    i = 0
    for y in range(h):
        ft = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if ft == 1:
            for x in range(ch, stride):
                line[x] = (line[x] + line[x - ch]) & 255
        elif ft == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 255
        elif ft == 3:
            for x in range(stride):
                left = line[x - ch] if x >= ch else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif ft == 4:
            for x in range(stride):
                a = line[x - ch] if x >= ch else 0
                b = prev[x]
                c = prev[x - ch] if x >= ch else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        out[y * stride:(y + 1) * stride] = line
        prev = line
    return w, h, ch, bytes(out)


def ink(png: bytes, box: dict) -> float:
    """Fraction of pixels in a CSS-pixel box {x,y,width,height} that are not (near) white."""
    w, h, ch, px = decode_png(png)
    x0, y0 = max(0, int(box["x"])), max(0, int(box["y"]))
    x1, y1 = min(w, int(box["x"] + box["width"])), min(h, int(box["y"] + box["height"]))
    total = inked = 0
    for y in range(y0, y1, 2):
        row = y * w * ch
        for x in range(x0, x1, 2):
            o = row + x * ch
            total += 1
            if px[o] < 235 or px[o + 1] < 235 or px[o + 2] < 235:
                inked += 1
    return inked / total if total else 0.0
