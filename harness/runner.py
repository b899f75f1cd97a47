"""One test run from start to verdict (`harness test`).

Data flows one way: options → runtime + cluster → (workload ops, nemesis) →
history.jsonl → checkers → results.json → summary. Whatever happens (normal
end, Ctrl-C, SIGTERM, an exception), the `finally` path heals every fault
and tears the cluster down; only `--leave-db-running` keeps the cluster.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from unkindness import __version__
from unkindness.harness import checking
from unkindness.harness import options as options_mod
from unkindness.harness.client import NodeClient, Topology, make_client
from unkindness.harness.db import Cluster
from unkindness.harness.generator import Completion, Workers, run_phase
from unkindness.harness.history.files import load, write_edn
from unkindness.harness.history.recorder import Recorder
from unkindness.harness.resources import Journal, new_run_id
from unkindness.harness import runtimes
from unkindness.harness.fault_schedule import NemesisSchedule
from unkindness import nemeses
from unkindness.nemeses.base import FaultContext
from unkindness.nemeses.journal import FaultJournal
from unkindness import workloads
from unkindness.workloads.base import RunContext



class Interrupted(Exception):
    """SIGTERM or Ctrl-C: stop the run, heal, tear down, still check what was recorded."""


@dataclass
class TestConfig:
    workload: str
    nemesis: list[str]
    workload_options: Any = None  # the workload's Options (its defaults when None)
    nodes: int = 5
    runtime: str = "netns"
    runtime_options: Any = None  # the runtime's Options (its defaults when None)
    time_limit: float = 30.0
    concurrency: int = 10
    rate: float | None = None
    seed: int = 0
    defects: list[str] = field(default_factory=list)
    nemesis_interval: float = 10.0
    nemesis_options: dict[str, Any] = field(default_factory=dict)  # nemesis name -> its Options (defaults if absent)
    recovery_time: float = 5.0
    request_timeout: float = 5.0
    replication_factor: int | None = None
    client_mode: str = "pinned"
    failover_writes: str = "allow"
    leave_db_running: bool = False
    subnet: str | None = None
    results_dir: Path = Path("results")
    command: str = ""


@dataclass
class RunOutcome:
    run_dir: Path
    result: dict
    counts: dict
    interrupted: bool = False


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")[:-4] + "Z"


def make_run_dir(cfg: TestConfig) -> Path:
    name = f"{cfg.workload}-{'+'.join(cfg.nemesis)}"
    run_dir = cfg.results_dir / name / _timestamp()
    run_dir.mkdir(parents=True)
    latest = cfg.results_dir / "latest"
    tmp = cfg.results_dir / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.relative_to(cfg.results_dir))
    os.replace(tmp, latest)
    return run_dir


def reproduce_command(cfg: TestConfig) -> str:
    """The exact command line that reproduces this run (seed included)."""
    args = ["harness", "test", "--workload", cfg.workload, "--nemesis", ",".join(cfg.nemesis),
            "--nodes", str(cfg.nodes), "--runtime", cfg.runtime, "--time-limit", f"{cfg.time_limit:g}",
            "--concurrency", str(cfg.concurrency), "--seed", str(cfg.seed),
            "--nemesis-interval", f"{cfg.nemesis_interval:g}", "--recovery-time", f"{cfg.recovery_time:g}"]
    if cfg.rate:
        args += ["--rate", f"{cfg.rate:g}"]
    for name, o in nemesis_options(cfg).items():
        args += options_mod.to_argv(o)
    args += options_mod.to_argv(runtime_options(cfg))
    for d in cfg.defects:
        args += ["--defect", d]
    args += options_mod.to_argv(workload_options(cfg))
    if cfg.client_mode != "pinned":
        args += ["--client-mode", cfg.client_mode, "--failover-writes", cfg.failover_writes]
    if cfg.replication_factor:
        args += ["--replication-factor", str(cfg.replication_factor)]
    return shlex.join(args)


def nemesis_options(cfg: TestConfig) -> dict[str, Any]:
    """Each chosen nemesis's options: as given, or its defaults."""
    for name in cfg.nemesis:
        if name != "none" and name not in cfg.nemesis_options:
            cfg.nemesis_options[name] = nemeses.get(name).Options()
    return {n: cfg.nemesis_options[n] for n in cfg.nemesis if n != "none"}


def runtime_options(cfg: TestConfig) -> Any:
    """The run's runtime options: as given, or the runtime's defaults."""
    if cfg.runtime_options is None:
        cfg.runtime_options = runtimes.get(cfg.runtime).Options()
    return cfg.runtime_options


def workload_options(cfg: TestConfig) -> Any:
    """The run's workload options: as given, or the workload's defaults."""
    if cfg.workload_options is None:
        cfg.workload_options = workloads.get(cfg.workload).Options()
    return cfg.workload_options


def write_test_json(run_dir: Path, cfg: TestConfig, cluster: Cluster | None, extra: dict) -> None:
    data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()
            if k not in ("workload_options", "nemesis_options", "runtime_options")}
    data.update({
        "runtime_options": options_mod.to_json(runtime_options(cfg)),
        "workload_options": options_mod.to_json(workload_options(cfg)),
        "nemesis_options": {n: options_mod.to_json(o) for n, o in nemesis_options(cfg).items()},
        "nemesis": "+".join(cfg.nemesis),
        "nemeses": cfg.nemesis,
        "reproduce": reproduce_command(cfg),
        "command": cfg.command or reproduce_command(cfg),
        "versions": {"unkindness": __version__, "python": platform.python_version(),
                     "platform": platform.platform()},
        "start_time": datetime.now(timezone.utc).isoformat(),
        **extra,
    })
    if cluster is not None:
        data["node_addresses"] = [asdict(a) for a in cluster.addresses]
        data["database_record"] = cluster.database_record  # what the workload created the database with
    data["checks"] = [c.to_json() for c in workloads.get(cfg.workload).checks(workload_options(cfg), data)]
    (run_dir / "test.json").write_text(json.dumps(data, indent=2, default=str) + "\n")


class _Progress:
    """A live line on stderr: elapsed, ok/fail/info counts, current faults."""

    def __init__(self, recorder: Recorder, faults: Callable[[], list[str]], out: Callable[[str], None]) -> None:
        self.recorder, self.faults, self.out = recorder, faults, out
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.thread = threading.Thread(target=self._run, daemon=True, name="progress")

    def line(self) -> str:
        c = self.recorder.counts
        faults = "; ".join(self.faults()) or "none"
        return (f"[{time.monotonic() - self.t0:6.1f}s] ok {c.get('ok', 0)}  fail {c.get('fail', 0)}  "
                f"info {c.get('info', 0)}  faults: {faults}")

    def _run(self) -> None:
        while not self.stop.wait(0.5 if self.tty else 5.0):
            if self.tty:
                sys.stderr.write("\r" + self.line()[:150].ljust(150))
                sys.stderr.flush()
            else:
                self.out(self.line())

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join()
        if self.tty:
            sys.stderr.write("\r" + " " * 150 + "\r")
        self.out(self.line())


def _install_signal_handlers() -> Callable[[], None]:
    """SIGTERM (and SIGINT) interrupt the main thread with Interrupted; returns a restorer."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signal.Signals(signum).name)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    return lambda: [signal.signal(s, h) for s, h in old.items()]


def final_reads(workload: Any, clients: list[NodeClient], recorder: Recorder, first_process: int,
                deadline_s: float) -> None:
    """One final read per node, retried until it succeeds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    for i, http in enumerate(clients):
        process = first_process + i
        client = workload.client(http, i)
        while True:
            op = workload.final_op(http.node)
            recorder.record(process, "invoke", op.f, op.value)
            try:
                done = client.invoke(op)
            except Exception as e:  # noqa: BLE001 - recorded as unknown
                done = Completion("info", op.value, http.node.name, f"{type(e).__name__}: {e}")
            recorder.record(process, done.type, op.f, done.value, done.node or http.node.name, done.error)
            if done.type == "info":
                process += len(clients) + 1000
            if done.type == "ok" or time.monotonic() > deadline:
                break
            time.sleep(0.5)


def run_test(cfg: TestConfig, out: Callable[[str], None] = print) -> RunOutcome:
    """Runs one test; returns where it is and the combined verdict."""
    workload_cls = workloads.get(cfg.workload)
    opts = workload_options(cfg)
    run_dir = make_run_dir(cfg)
    run_id = new_run_id()
    journal = Journal(run_id)
    journal.add("run", run_dir=str(run_dir.resolve()))
    runtime = runtimes.get(cfg.runtime)(run_id, cfg.nodes, runtime_options(cfg), subnet=cfg.subnet,
                                        journal=journal, run_dir=run_dir, log=out)
    recorder: Recorder | None = None
    schedule: NemesisSchedule | None = None
    cluster: Cluster | None = None
    interrupted = False
    restore = _install_signal_handlers()
    t_start = time.monotonic()
    try:
        out(f"run {run_dir}")
        out(f"setting up {cfg.nodes} nodes ({cfg.runtime})...")
        runtime.setup()
        chosen = nemesis_options(cfg)
        cluster = Cluster(runtime.nodes, run_dir, replication_factor=cfg.replication_factor, defects=cfg.defects,
                          faketime=any("faketime" in nemeses.get(n).needs for n in chosen))
        fault_ctx = FaultContext(runtime.nodes, cluster)
        active = [nemeses.get(n)(o, fault_ctx) for n, o in chosen.items()]
        for nem in active:
            nem.check_supported()  # before any server starts: refuse what this machine cannot do
        workload = workload_cls(opts, RunContext(cluster.addresses, cfg.concurrency, cfg.client_mode,
                                                 cfg.failover_writes, cfg.seed))
        workload.validate()
        cluster.database_record = workload.database_record()
        write_test_json(run_dir, cfg, cluster, {"run_id": run_id})
        cluster.start()
        out(f"cluster up in {time.monotonic() - t_start:.1f} s: "
            + ", ".join(f"{a.name}={a.url} ({a.tag})" for a in cluster.addresses))
        if len(cluster.holders) < len(cluster.addresses):  # --replication-factor below --nodes
            out("database on " + ", ".join(a.name for a in cluster.holders) + " only")
            workload.run = replace(workload.run, nodes=cluster.holders)
        clients = [NodeClient(a, cluster.database, cfg.request_timeout) for a in cluster.holders]
        workload.setup(clients)

        recorder = Recorder(run_dir / "history.jsonl")
        fault_ctx.journal = FaultJournal(run_dir / "faults.jsonl")
        fault_ctx.now = recorder.now
        schedule = NemesisSchedule(active, recorder, cfg.nemesis_interval, cfg.seed, log=out)
        progress = _Progress(recorder, lambda: schedule.current if schedule else [], out)

        topology = Topology(cluster.addresses)  # one "DocumentStore" shared by the workers
        worker_https = [make_client(cfg.client_mode, cluster.holders, w, cluster.database, cfg.request_timeout,
                                    topology, cfg.failover_writes) for w in range(cfg.concurrency)]
        worker_clients = [workload.client(http, w) for w, http in enumerate(worker_https)]
        workers = Workers(cfg.concurrency)
        out(f"main phase: {cfg.time_limit:g} s, {cfg.concurrency} workers, nemesis {'+'.join(cfg.nemesis)}")
        progress.start()
        if active:
            schedule.start()
        try:
            run_phase(recorder, worker_clients, workload.source(), workers, seed=cfg.seed,
                      time_limit=cfg.time_limit, rate=cfg.rate, backoff=lambda w: worker_https[w].take_backoff())
        finally:
            schedule.stop()  # heal phase: every fault healed
        if schedule.error is not None:
            raise schedule.error
        out(f"healed; recovering for {cfg.recovery_time:g} s")
        time.sleep(cfg.recovery_time)
        out("final reads from every node")
        final_reads(workload, clients, recorder, max(workers.process) + 1, deadline_s=max(10.0, cfg.recovery_time))
        progress.finish()
    except Interrupted as e:
        interrupted = True
        out(f"interrupted ({e}): healing and tearing down")
    finally:
        if schedule is not None:
            schedule.stop()
        if recorder is not None:
            recorder.close()
        if cfg.leave_db_running and not interrupted and cluster is not None:
            journal.add("up", run_dir=str(run_dir.resolve()))  # so `harness down` finds it
            out("leaving the cluster running (--leave-db-running):")
            for a in cluster.addresses:
                out(f"  {a.name} ({a.tag}): {a.url}   e.g. curl {a.url}/cluster/topology")
            out(f"  stop it with: harness down {run_id}   (or harness clean)")
        else:
            if cluster is not None:
                cluster.stop()
            runtime.teardown()
        restore()
    duration = time.monotonic() - t_start

    if (run_dir / "history.jsonl").is_file():
        write_edn(run_dir / "history.jsonl", run_dir / "history.edn")  # for Jepsen's own tools
    result = check_run(run_dir)
    counts = dict(recorder.counts) if recorder else {}
    _update_test_json(run_dir, {"duration_s": round(duration, 3), "interrupted": interrupted, "counts": counts})
    write_outputs(run_dir, cfg.results_dir, out)
    return RunOutcome(run_dir, result, counts, interrupted)


def write_outputs(run_dir: Path, results_dir: Path, out: Callable[[str], None]) -> None:
    """report.html and junit.xml for the run, and the regenerated results/index.html."""
    from unkindness.harness.report import write_index, write_junit, write_report

    t0 = time.monotonic()
    write_report(run_dir)
    write_junit(run_dir)
    write_index(results_dir)
    out(f"report written in {time.monotonic() - t0:.1f} s")


def _update_test_json(run_dir: Path, fields: dict) -> None:
    p = run_dir / "test.json"
    data = json.loads(p.read_text()) if p.exists() else {}
    data.update(fields)
    p.write_text(json.dumps(data, indent=2, default=str) + "\n")


def check_run(run_dir: Path) -> dict:
    """Checks the recorded history with the workload's checks (from test.json); writes results.json."""
    hist = run_dir / "history.jsonl"
    test = json.loads((run_dir / "test.json").read_text()) if (run_dir / "test.json").exists() else {}
    if not hist.exists() or hist.stat().st_size == 0:
        result = {"valid": "unknown", "summary": "no history was recorded", "results": {}}
    else:
        events = load(hist).events
        checks = workloads.checks_for(test) or []
        result = checking.run_checks(events, [(c.checker, c.options) for c in checks])
        note = workloads.note_for(test, result)
        if note:
            result["note"] = note
    (run_dir / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result
