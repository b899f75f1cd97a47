"""Synthetic results folders: histories with known anomalies, for tests, demos and benchmarks.

Each builder writes a complete folder (test.json, history.jsonl, faults.jsonl,
nodes/*/server.log) with one partition in the middle; results.json is then
produced by running the real checkers (``check_folder``), never written by hand.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

NS = 1_000_000_000
NODES = ["n1", "n2", "n3"]


def events_from_ops(ops: list[dict]) -> list[dict]:
    """Ops ``{"process","f","invoke","value","type","start","end"}`` to time-ordered events."""
    evs = []
    for o in ops:
        evs.append((o["start"], 0, {"process": o["process"], "type": "invoke", "f": o["f"], "value": o["invoke"],
                                    "node": o.get("node")}))
        if o["type"] is not None:
            evs.append((o["end"], 1, {"process": o["process"], "type": o["type"], "f": o["f"], "value": o["value"],
                                      "node": o.get("node"), **({"error": "timeout"} if o["type"] == "info" else {})}))
    evs.sort(key=lambda e: (e[0], e[1]))
    out = []
    for i, (t, _, e) in enumerate(evs):
        e = {"index": i, "time": t, **e}
        if e.get("node") is None:
            e.pop("node")
        out.append(e)
    return out


def _schedule(n_ops: int, processes: int, rng: random.Random,
              make: Callable[[int, int], tuple[str, Any]]) -> tuple[list[dict], tuple[int, int]]:
    """Closed-loop workers: each process does one op at a time. The fault spans the middle third of
    the ops; during it ops are slower, and half of n3's time out (info, the worker gets a new process id)."""
    ops: list[dict] = []
    clock = [rng.randrange(0, 2_000_000) for _ in range(processes)]
    pid = list(range(processes))
    next_pid = processes
    fs = fe = None
    while len(ops) < n_ops:
        w = min(range(processes), key=lambda i: clock[i])
        start = clock[w]
        if fs is None and len(ops) >= n_ops // 3:
            fs = start
        if fe is None and len(ops) >= 2 * n_ops // 3:
            fe = start
        faulty = fs is not None and fe is None
        lat = int(rng.lognormvariate(14.0 if not faulty else 15.5, 0.6))  # ~1.2 ms normally, ~5 ms in the fault
        f, inv = make(len(ops), w)
        node = NODES[w % len(NODES)]
        typ = "ok"
        if faulty and node == "n3" and rng.random() < 0.5:
            typ, lat = "info", 50_000_000
        elif rng.random() < 0.02:
            typ = "fail"
        ops.append({"process": pid[w], "f": f, "invoke": inv, "value": inv, "type": typ,
                    "start": start, "end": start + lat, "node": node})
        if typ == "info":
            pid[w] = next_pid
            next_pid += 1
        clock[w] = start + lat + rng.randrange(50_000, 400_000)
    end = max(o["end"] for o in ops)
    return ops, (fs if fs is not None else 0, fe if fe is not None else end)


def register_ops(n_ops: int, seed: int = 1, processes: int = 8, stale_read: bool = True) -> tuple[list[dict], tuple[int, int]]:
    """A linearizable register history, plus one stale read when ``stale_read``."""
    rng = random.Random(seed)
    counter = iter(range(1, 10**9))
    ops, fault = _schedule(n_ops, processes, rng,
                           lambda i, w: ("write", next(counter)) if rng.random() < 0.4 else ("read", None))
    # Values: apply in linearization-point order (the midpoint).
    state = None
    history_of_values: list[tuple[int, Any, int]] = []  # (point, value after, end of the write)
    for o in sorted(ops, key=lambda o: (o["start"] + o["end"]) // 2):
        if o["type"] == "fail":
            if o["f"] == "read":
                o["value"] = None
            continue
        if o["f"] == "write":
            state = o["invoke"]
            history_of_values.append(((o["start"] + o["end"]) // 2, state, o["end"]))
        elif o["type"] == "ok":
            o["value"] = state
        else:
            o["value"] = None
    if stale_read:
        # A read returns the value of a write that a later write, completed before the read began,
        # overwrote: no order respecting real time allows that.
        writes = sorted((o for o in ops if o["f"] == "write" and o["type"] == "ok"), key=lambda o: o["end"])
        for r in sorted(ops, key=lambda o: o["start"]):
            if r["f"] != "read" or r["type"] != "ok" or r["start"] < fault[0]:
                continue
            done = [w for w in writes if w["end"] < r["start"]]
            pair_ = next(((a, b) for b in reversed(done) for a in done if a["end"] < b["start"]), None)
            if pair_ is not None:
                r["value"] = pair_[0]["invoke"]
                break
    for o in ops:
        if o["type"] == "info":
            o["value"] = o["invoke"]
    return ops, fault


def bank_ops(n_ops: int, seed: int = 2, processes: int = 6, accounts: int = 5, total: int = 100) -> tuple[list[dict], tuple[int, int]]:
    """Transfers and reads; during the partition some reads on n3 see money created or destroyed."""
    rng = random.Random(seed)
    ops, fault = _schedule(n_ops, processes, rng, lambda i, w: (
        ("transfer", {"from": rng.randrange(accounts), "to": rng.randrange(accounts), "amount": rng.randrange(1, 5)})
        if rng.random() < 0.5 else ("read", None)))
    bal = [total // accounts] * accounts
    for o in sorted(ops, key=lambda o: (o["start"] + o["end"]) // 2):
        if o["f"] == "transfer":
            v = o["invoke"]
            if o["type"] == "ok" and bal[v["from"]] >= v["amount"]:
                bal[v["from"]] -= v["amount"]
                bal[v["to"]] += v["amount"]
        elif o["type"] == "ok":
            seen = list(bal)
            if fault[0] <= o["start"] < fault[1] and o["node"] == "n3" and rng.random() < 0.3:
                seen[rng.randrange(accounts)] += rng.choice([-3, -2, 2, 4])
            o["value"] = {str(i): b for i, b in enumerate(seen)}
        else:
            o["value"] = None
    return ops, fault


def set_ops(n_adds: int = 60, seed: int = 3) -> tuple[list[dict], tuple[int, int]]:
    """Adds, then a final read per node; two acknowledged adds are missing from n3's final read."""
    rng = random.Random(seed)
    ops, fault = _schedule(n_adds, 4, rng, lambda i, w: ("add", i))
    acked = sorted(o["invoke"] for o in ops if o["type"] in ("ok", "info"))
    t = max(o["end"] for o in ops) + 1_000_000
    for i, node in enumerate(NODES):
        # acked[10:12] are lost everywhere; acked[20] only on n3 (stale there).
        seen = [e for e in acked if e not in acked[10:12] and not (node == "n3" and e == acked[20])]
        ops.append({"process": 100 + i, "f": "final-read", "invoke": None, "value": seen, "type": "ok",
                    "start": t, "end": t + 2_000_000, "node": node})
    return ops, fault


def cart_ops() -> tuple[list[dict], tuple[int, int]]:
    """Final reads where one document differs across nodes."""
    def docs(qty: int, cv: str) -> dict:
        return {"docs": {"carts/1": {"change_vector": cv, "doc": {"Name": "cart", "Items": [
            {"ProductId": "p1", "Quantity": qty, "Name": "milk"}]}},
            "carts/2": {"change_vector": "A:3-x", "doc": {"Name": "cart2", "Items": []}}}}
    ops = [{"process": 0, "f": "add-item", "invoke": {"cart": "carts/1", "product": "p1", "quantity": 2},
            "value": {"cart": "carts/1", "product": "p1", "quantity": 2}, "type": "ok", "start": 1_000_000,
            "end": 3_000_000, "node": "n1"}]
    for i, (node, q, cv) in enumerate([("n1", 2, "A:5-x, B:2-y"), ("n2", 2, "A:5-x, B:2-y"), ("n3", 1, "A:4-x, B:2-y")]):
        ops.append({"process": 10 + i, "f": "final-read", "invoke": None, "value": docs(q, cv), "type": "ok",
                    "start": 10_000_000 + i, "end": 12_000_000 + i, "node": node})
    return ops, (4_000_000, 8_000_000)


def pool_ops() -> tuple[list[dict], tuple[int, int]]:
    """Engineer-pool calls; during the fault n3 accepts a claim of 'oren' that n1's call already holds."""
    key, ms = "engineers/available", 1_000_000
    ops: list[dict] = []

    def write(p: int, f: str, purpose: str, index: int, new: int, value: Any, engineer: str | None, call: str | None,
              start: int, node: str) -> None:
        inv = {"key": key, "purpose": purpose, "index": index, "engineer": engineer, "call": call,
               **({"value": value} if f == "put" else {})}
        ops.append({"process": p, "f": f, "invoke": inv, "value": {**inv, "successful": True, "current_value": value,
                    "current_index": new}, "type": "ok", "start": start, "end": start + ms, "node": node})

    write(0, "put", "register", 0, 1, ["oren", "tal"], None, None, 1 * ms, "n1")
    write(1, "put", "claim", 1, 2, ["tal"], "oren", "calls/1", 3 * ms, "n1")
    ops.append({"process": 1, "f": "hold", "invoke": {"call": "calls/1", "engineer": "oren", "ms": 9},
                "value": {"call": "calls/1", "engineer": "oren", "ms": 9}, "type": "ok", "start": 4 * ms + 1,
                "end": 13 * ms, "node": None})
    write(2, "put", "claim", 1, 2, ["tal"], "oren", "calls/2", 6 * ms, "n3")  # the same version, taken again
    write(3, "delete", "claim", 2, 2, None, "tal", "calls/3", 8 * ms, "n2")
    write(1, "put", "release", 2, 5, ["tal", "oren"], "oren", "calls/1", 14 * ms, "n1")
    return ops, (5 * ms, 9 * ms)


def list_append_events() -> list[dict]:
    """A write skew (G2-item): two concurrent txns each miss the other's append."""
    raw = [
        (0, "invoke", [["append", "x", 1], ["append", "y", 1]]), (0, "ok", [["append", "x", 1], ["append", "y", 1]]),
        (1, "invoke", [["r", "x", None], ["append", "y", 2]]),
        (2, "invoke", [["r", "y", None], ["append", "x", 2]]),
        (1, "ok", [["r", "x", [1]], ["append", "y", 2]]),
        (2, "ok", [["r", "y", [1]], ["append", "x", 2]]),
        (3, "invoke", [["r", "x", None], ["r", "y", None]]), (3, "ok", [["r", "x", [1, 2]], ["r", "y", [1, 2]]]),
    ]
    return [{"index": i, "time": (i + 1) * 1_000_000, "process": p, "type": t, "f": "txn", "value": v,
             "node": NODES[p % 3]} for i, (p, t, v) in enumerate(raw)]


def _nemesis(events: list[dict], fault: tuple[int, int]) -> list[dict]:
    grudge = {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]}
    nem = [(fault[0], {"process": "nemesis", "type": "info", "f": "start-partition", "value": grudge}),
           (fault[1], {"process": "nemesis", "type": "info", "f": "stop-partition", "value": None})]
    merged = sorted([(e["time"], 1, e) for e in events] + [(t, 0, e) for t, e in nem], key=lambda x: (x[0], x[1]))
    out = []
    for i, (t, _, e) in enumerate(merged):
        out.append({**e, "index": i, "time": t})
    return out


def write_folder(run_dir: Path, workload: str, events: list[dict], fault: tuple[int, int] | None,
                 seed: int = 1, with_faults_file: bool = True, extra: dict | None = None) -> Path:
    """Writes test.json, history.jsonl, faults.jsonl and node logs (no results.json)."""
    run_dir = Path(run_dir)
    (run_dir / "nodes").mkdir(parents=True, exist_ok=True)
    if fault is not None:
        events = _nemesis(events, fault)
    end = max((e["time"] for e in events), default=0)
    start_unix = 1_790_000_000.0
    test = {"workload": workload, "nemesis": "partition" if fault else "none", "nodes": NODES, "seed": seed,
            "command": f"harness test --workload {workload} --nemesis partition --nodes 3 --seed {seed}",
            "versions": {"unkindness": "0.1.0", "python": "3.11"}, "start_time": start_unix,
            "duration_s": end / NS, **(extra or {})}
    (run_dir / "test.json").write_text(json.dumps(test, indent=1))
    with open(run_dir / "history.jsonl", "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    if fault is not None and with_faults_file:
        (run_dir / "faults.jsonl").write_text(json.dumps(
            {"id": 1, "kind": "partition", "grudge": {"n3": ["n1", "n2"]}, "applied_at": fault[0],
             "healed_at": fault[1]}) + "\n")
    for node in NODES:
        d = run_dir / "nodes" / node
        d.mkdir(parents=True, exist_ok=True)
        lines = []
        for k in range(0, max(1, int(end / NS * 4)) + 1):
            ts = start_unix + k / 4
            lines.append(json.dumps({"ts": ts, "level": "info", "msg": "heartbeat", "node": node}))
        if fault is not None:
            lines.append(json.dumps({"ts": start_unix + fault[0] / NS + 0.1, "level": "warn",
                                     "msg": "replication connection lost", "peer": "n3" if node != "n3" else "n1"}))
        lines.append("not json at all: a plain text line")
        lines.sort()
        (d / "server.log").write_text("\n".join(lines) + "\n")
    return run_dir


def check_folder(run_dir: Path, names: list[str], extra: dict | None = None, model: str | None = None) -> dict:
    """Runs the real checkers on the folder's history and writes results.json."""
    from unkindness.harness.checking import CheckOptions, run_checkers
    from unkindness.harness.history.files import load

    events = load(Path(run_dir) / "history.jsonl").events
    res = run_checkers(events, names, CheckOptions(model=model, extra=extra or {}))
    (Path(run_dir) / "results.json").write_text(json.dumps(res, default=str))
    return res


def build(run_dir: Path, kind: str, n_ops: int = 400, seed: int = 1) -> Path:
    """One of: register, register-valid, bank, set, cart, list-append, engineer-pool; checked by the real checkers."""
    if kind in ("register", "register-valid"):
        ops, fault = register_ops(n_ops, seed, stale_read=kind == "register")
        write_folder(run_dir, "register", events_from_ops(ops), fault, seed)
        check_folder(run_dir, ["linearizable", "stats"], model="register")
    elif kind == "bank":
        ops, fault = bank_ops(n_ops, seed)
        write_folder(run_dir, "bank", events_from_ops(ops), fault, seed)
        check_folder(run_dir, ["bank", "stats"], extra={"accounts": [str(i) for i in range(5)], "total": 100})
    elif kind == "set":
        ops, fault = set_ops(n_ops // 4 or 20, seed)
        write_folder(run_dir, "set", events_from_ops(ops), fault, seed)
        check_folder(run_dir, ["set", "stats"])
    elif kind == "cart":
        ops, fault = cart_ops()
        write_folder(run_dir, "cart", events_from_ops(ops), fault, seed)
        check_folder(run_dir, ["convergence", "cart", "stats"])
    elif kind == "engineer-pool":
        ops, fault = pool_ops()
        write_folder(run_dir, "engineer-pool", events_from_ops(ops), fault, seed)
        check_folder(run_dir, ["pool", "stats"], extra={"key": "engineers/available"})
    elif kind == "list-append":
        write_folder(run_dir, "list-append", list_append_events(), (2_500_000, 5_500_000), seed)
        check_folder(run_dir, ["list-append", "stats"])
    else:
        raise ValueError(f"unknown synthetic run kind {kind!r}")
    return Path(run_dir)
