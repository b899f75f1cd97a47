"""The `harness` command line (Jepsen's conventions).

Exit codes, everywhere: 0 valid, 1 anomaly found, 2 unknown, 254 bad
arguments or input, 255 harness error. Bad input is one clear line on stderr,
never a traceback (set UNKINDNESS_DEBUG=1 to see one for harness errors).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click

from unkindness import nemeses, workloads
from unkindness.harness import checking, runtimes
from unkindness.harness.history import files as history_files
from unkindness.harness import options as options_mod
from unkindness.harness.client import CLIENT_MODES, FAILOVER_WRITES

EXIT_VALID, EXIT_INVALID, EXIT_UNKNOWN, EXIT_BAD_INPUT, EXIT_HARNESS_ERROR = 0, 1, 2, 254, 255


class BadInput(click.ClickException):
    """Bad arguments or input files: exit 254 with one line."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def verdict_exit(valid: Any) -> int:
    return {True: EXIT_VALID, False: EXIT_INVALID}.get(valid, EXIT_UNKNOWN)


def verdict_word(valid: Any) -> str:
    return {True: "VALID", False: "INVALID"}.get(valid, "UNKNOWN")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="unkindness", prog_name="harness")
def cli() -> None:
    """Unkindness: a Jepsen-style consistency harness.

    \b
    Exit codes: 0 valid, 1 anomaly found, 2 unknown, 254 bad arguments or
    input, 255 harness error.
    """


class _ProgressLine:
    """Progress of a long check on stderr: live on a terminal, sparse in logs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def __call__(self, info: dict) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < (0.5 if self.tty else 5.0) or now - self.start < 1.0:
            return
        self.last = now
        parts = [f"{now - self.start:5.1f}s"]
        if "keys_total" in info:
            parts.append(f"keys {info.get('keys_done', 0)}/{info['keys_total']}")
        if "explored" in info:
            parts.append(f"{info['explored']:,} states explored")
        line = "checking: " + ", ".join(parts)
        if self.tty:
            click.echo("\r" + line.ljust(70), err=True, nl=False)
            self.shown = True
        else:
            click.echo(line, err=True)

    def done(self) -> None:
        if self.shown:
            click.echo("\r" + " " * 70 + "\r", err=True, nl=False)


def _resolve_target(path: Path) -> tuple[Path, dict | None]:
    """A history file, or a results folder's history and its test.json."""
    if not path.exists():
        raise BadInput(f"{path}: no such file or folder")
    if path.is_dir():
        if (path / "latest").is_dir() and not (path / "history.jsonl").exists():
            path = (path / "latest").resolve()
        hist = path / "history.jsonl"
        if not hist.is_file():
            raise BadInput(f"{path}: a results folder holds history.jsonl, and this one does not")
        return hist, _test_json(path) or {}
    if path.parent.joinpath("test.json").is_file() and path.name in ("history.jsonl", "history.edn"):
        return path, _test_json(path.parent) or {}  # a run's own history: checked with its workload's checks
    return path, None


def _test_json(folder: Path) -> dict | None:
    tj = folder / "test.json"
    if not tj.is_file():
        return None
    try:
        test = json.loads(tj.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"{tj}: not valid JSON ({e})") from None
    if not isinstance(test, dict):
        raise BadInput(f"{tj}: expected a JSON object")
    return test


def _stored_checks(test: dict) -> list[tuple[str, dict]] | None:
    """A results folder's checks: its workload's (from its options), else what test.json recorded."""
    checks = workloads.checks_for(test)
    if checks is not None:
        return [(c.checker, c.options) for c in checks]
    recorded = test.get("checks")
    if isinstance(recorded, list) and all(isinstance(c, dict) and isinstance(c.get("checker"), str)
                                          for c in recorded):
        return [(c["checker"], dict(c.get("options") or {})) for c in recorded]
    return None


def _counts(events: list[dict]) -> str:
    from collections import Counter

    c = Counter(e.get("type") for e in events if e.get("process") != "nemesis")
    ops = c.get("invoke", 0)
    return f"{ops} ops: {c.get('ok', 0)} ok, {c.get('fail', 0)} fail, {c.get('info', 0)} info"


def _print_result(result: dict, names: list[str]) -> None:
    click.echo(f"{verdict_word(result.get('valid'))}")
    for name in names:
        r = result.get("results", {}).get(name, {})
        word = verdict_word(r.get("valid")).lower()
        summary = r.get("summary") or ""
        click.echo(f"  {name:<13} {word:<8} {summary}")
        if r.get("valid") is not True and r.get("explanation"):
            for line in str(r["explanation"]).splitlines():
                click.echo(f"      {line}")
        if r.get("valid") == "unknown" and r.get("reason"):
            click.echo(f"      why unknown: {r['reason']}")
    if result.get("note"):
        click.echo(f"  note: {result['note']}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--model", "-m", help="Linearizability model: register, cas-register, cmpxchg, kv, set, mutex. "
              "Implies --checker linearizable.")
@click.option("--checker", "-c", "checkers", multiple=True,
              help="Checker to run (repeatable): linearizable, bank, set, convergence, cart, list-append, "
              "origin-prefix, pool, stats. "
              "Default: the workload's checkers for a results folder, else judged from the operations.")
@click.option("--init", "init_json", help="Initial model value as JSON, e.g. 'null' or '0'.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Seconds the linearizability search may take before answering unknown.")
@click.option("--consistency-model", help="For list-append: the model to check against (default strict-serializable).")
@click.option("--semantics", type=click.Choice(["jepsen", "porcupine"]),
              help="How to read ops tools read differently. jepsen (Knossos, Elle): a failed op never happened, "
              "a nil register read is unknown, a nil list-append read is the empty list. porcupine: a failed cas "
              "observes the register did not hold its old value, a nil read read nil. Default: jepsen for EDN, "
              "porcupine for a bare JSON-lines history, a results folder's recorded reading.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@click.option("--write/--no-write", default=True, show_default=True,
              help="For a results folder: rewrite its results.json, report.html and junit.xml.")
def check(path: Path, model: str | None, checkers: tuple[str, ...], init_json: str | None,
          time_limit: float | None, consistency_model: str | None, semantics: str | None, as_json: bool,
          quiet: bool, write: bool) -> None:
    """Check a history again: a JSON-lines history, a Jepsen history.edn, or a results folder.

    \b
    Examples:
      harness check results/latest
      harness check history.edn --model cas-register
      harness check history.jsonl --checker bank --checker stats
      harness check etcd_000.jsonl --model cas-register --init null --time-limit 30
      harness check knossos-history.edn --model cas-register --init 0 --semantics jepsen
    """
    opts = checking.CheckOptions(model=model, time_limit=time_limit, consistency_model=consistency_model)
    if init_json is not None:
        try:
            opts.init = json.loads(init_json)
        except json.JSONDecodeError as e:
            raise BadInput(f"--init must be JSON (e.g. null, 0, \"x\"): {e.msg} at column {e.colno}") from None
        opts.init_given = True
    if model is not None:
        from unkindness.checkers.models import MODELS

        if model not in MODELS:
            raise BadInput(f"unknown model {model!r}; choose from {', '.join(sorted(MODELS))}")

    hist_path, test = _resolve_target(path)
    try:
        loaded = history_files.load(hist_path)
    except history_files.BadHistoryFile as e:
        raise BadInput(str(e)) from None
    events = loaded.events
    if semantics is not None:
        opts.semantics = semantics
    elif test is None:  # a bare file: its own tool's reading (a results folder's checks carry theirs)
        opts.semantics = "jepsen" if loaded.format == "edn" else "porcupine"

    try:
        names = [checking.canonical(c) for c in checkers]
        stored = _stored_checks(test) if test else None
        if names:  # the user's choice; a stored run still lends each checker its reading
            by_name = {checking.canonical(n): o for n, o in stored or []}
            checks = [(n, by_name.get(n, {})) for n in names]
        elif stored:
            checks = stored
        else:
            checks = [(n, {}) for n in checking.infer_checkers(events, opts)]
        if model and all(n != "linearizable" for n, _ in checks):
            checks.insert(0, ("linearizable", {}))
    except (checking.CheckSetupError, ValueError) as e:
        raise BadInput(str(e)) from None
    names = [n for n, _ in checks]

    progress = _ProgressLine(enabled=not quiet)
    try:
        result = checking.run_checks(events, checks, progress, overrides=opts.as_options())
    except (checking.CheckSetupError, ValueError) as e:
        # Checkers raise ValueError (HistoryError included) for malformed op values.
        progress.done()
        msg = loaded.locate(e) if hasattr(e, "index") else f"{hist_path}: {e}"
        raise BadInput(msg) from None
    progress.done()
    if test:
        note = workloads.note_for(test, result)
        if note:
            result["note"] = note

    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        click.echo(f"{hist_path} ({loaded.format}, {_counts(events)})")
        _print_result(result, names)
    if test is not None and write and path.is_dir():
        from unkindness.harness.report import write_junit, write_report

        run_dir = hist_path.parent
        (run_dir / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        report = write_report(run_dir)
        write_junit(run_dir)
        if not as_json:
            click.echo(f"wrote {run_dir / 'results.json'}, {report} and junit.xml")
    sys.exit(verdict_exit(result.get("valid")))


def _csv(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _concurrency(ctx: click.Context, param: click.Parameter, value: str) -> str:
    v = value.strip()
    if not (v.isdigit() or (v.endswith("n") and v[:-1].isdigit())) or v in ("0", "0n"):
        raise click.BadParameter(f"expected a number like 10 or a multiple of the node count like 2n, got {value!r}")
    return v


def _run_options(fn: Any) -> Any:
    """The options every run takes, for `test` and `test-all` alike (flags of the parts included)."""
    opts = [
        click.option("--nodes", "-n", "nodes", default=5, show_default=True, type=click.IntRange(1, 50),
                     help="How many nodes."),
        click.option("--runtime", default="netns", show_default=True, type=click.Choice(runtimes.names()),
                     help="Where nodes live: netns (network namespaces on this machine, as root), docker "
                     "(a container per node from the Dockerfile), ssh (machines in --nodes-file), local (processes on "
                     "loopback addresses: no partitions; see docs/runtimes.md)."),
        click.option("--time-limit", default=30.0, show_default=True, type=click.FloatRange(min=0.1),
                     help="Seconds of the main phase (setup and teardown excluded)."),
        click.option("--concurrency", default="10", show_default=True, callback=_concurrency,
                     help="Worker threads: a number, or a multiple of the node count like 2n."),
        click.option("--rate", type=click.FloatRange(min=0, min_open=True),
                     help="Total ops/s (default: as fast as possible)."),
        click.option("--seed", type=click.IntRange(min=0),
                     help="Makes the op and fault schedules reproducible (default: random, recorded)."),
        click.option("--test-count", default=1, show_default=True, type=click.IntRange(1, 1000),
                     help="Run each test this many times; `test` stops at the first run that is not valid."),
        click.option("--defect", "defects", multiple=True,
                     help="Server defect switch to turn on (repeatable); see unkindness-server --help."),
        click.option("--nemesis-interval", default=10.0, show_default=True, type=click.FloatRange(min=0.2),
                     help="Seconds per fault cycle: fault for half of it, healed for the other half."),
        click.option("--recovery-time", default=5.0, show_default=True, type=click.FloatRange(min=0),
                     help="Seconds to wait after healing before the final reads."),
        click.option("--replication-factor", type=click.IntRange(min=1),
                     help="Database replication factor (default: all nodes)."),
        click.option("--client-mode", default="pinned", show_default=True, type=click.Choice(list(CLIENT_MODES)),
                     help="pinned: worker i talks only to node i mod N (Jepsen's way); preferred: every request to "
                     "the first database member that answers, failing over along the topology (the official "
                     "client's documented intent); round-robin: each request to the next member (what the "
                     "official Python client does, writes included)."),
        click.option("--failover-writes", default="allow", show_default=True, type=click.Choice(list(FAILOVER_WRITES)),
                     help="preferred/round-robin: allow lets writes fail over like reads; refuse sends writes only "
                     "to the primary (the first member) and fails them while it is unreachable, as in seed 000's "
                     "read-only failover."),
        click.option("--request-timeout", default=5.0, show_default=True, type=click.FloatRange(min=0.1),
                     help="Hard timeout of every client request, seconds."),
        click.option("--subnet", help="Private subnet for the test network, e.g. 10.250.7.0/24 (default: a free "
                     "/24 in 10.250/16 for netns, 10.251/16 for docker, 127.100-249/16 for local)."),
        click.option("--results-dir", default="results", show_default=True,
                     type=click.Path(file_okay=False, path_type=Path)),
        options_mod.click_options((w.name, w.Options) for w in workloads.all_workloads()),
        options_mod.click_options((f"nemesis {n.name}", n.Options) for n in nemeses.all_nemeses()),
        options_mod.click_options((f"runtime {r}", runtimes.get(r).Options) for r in runtimes.names()),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


WORKLOAD_DESTS = options_mod.flags_of(w.Options for w in workloads.all_workloads())
RUNTIME_DESTS = options_mod.flags_of(runtimes.get(r).Options for r in runtimes.names())


def _check_run_args(nemesis: list[str], defects: tuple[str, ...], replication_factor: int | None,
                    nodes: int) -> list[str]:
    """The nemesis list, cleaned; bad names are bad input."""
    from unkindness.server.defects import DEFECTS

    for n in nemesis:
        if n != "none" and n not in nemeses.REGISTRY:
            raise BadInput(f"unknown nemesis {n!r}; choose from none, {', '.join(nemeses.names())}")
    for d in defects:
        if d not in DEFECTS:
            raise BadInput(f"unknown defect {d!r}; choose from {', '.join(DEFECTS)}")
    if replication_factor and replication_factor > nodes:
        raise BadInput(f"--replication-factor {replication_factor} is more than --nodes {nodes}")
    return list(dict.fromkeys(n for n in nemesis if n != "none")) or ["none"]


def _config(workload: str, nemesis: list[str], part_flags: dict[str, Any], run: dict[str, Any],
            *, strict: bool = True) -> Any:
    """One TestConfig from the run options and the parts' flags (validated: bad input is exit 254).
    `strict`: a flag of a part this run does not use is an error (not so in a matrix)."""
    from unkindness.harness.runner import TestConfig

    nodes = run["nodes"]
    conc = run["concurrency"]
    workers = int(conc[:-1]) * nodes if conc.endswith("n") else int(conc)
    wflags = {k: v for k, v in part_flags.items() if k in WORKLOAD_DESTS}
    rflags = {k: v for k, v in part_flags.items() if k in RUNTIME_DESTS}
    nflags = {k: v for k, v in part_flags.items() if k not in WORKLOAD_DESTS and k not in RUNTIME_DESTS}
    runtime_opts = _runtime_options(run["runtime"], rflags)
    if not strict:
        own = options_mod.flags_of([workloads.get(workload).Options])
        wflags = {k: v for k, v in wflags.items() if k in own}
        used = options_mod.flags_of(nemeses.get(n).Options for n in nemesis if n != "none")
        nflags = {k: v for k, v in nflags.items() if k in used}
    opts = _workload_options(workload, wflags, nodes, workers, run["client_mode"], run["failover_writes"])
    nemesis_opts = _nemesis_options(nemesis, nflags, nodes)
    seed = run["seed"]
    return TestConfig(
        workload=workload, nemesis=nemesis, nodes=nodes, runtime=run["runtime"], runtime_options=runtime_opts,
        time_limit=run["time_limit"],
        concurrency=workers, rate=run["rate"], seed=seed if seed is not None else random.randrange(2**31),
        defects=list(run["defects"]), nemesis_interval=run["nemesis_interval"], nemesis_options=nemesis_opts,
        recovery_time=run["recovery_time"], request_timeout=run["request_timeout"],
        replication_factor=run["replication_factor"], client_mode=run["client_mode"],
        failover_writes=run["failover_writes"], workload_options=opts, subnet=run["subnet"],
        results_dir=run["results_dir"], leave_db_running=run.get("leave_db_running", False),
        command=" ".join(["harness", *sys.argv[1:]]))


RUN_KEYS = ("nodes", "runtime", "time_limit", "concurrency", "rate", "seed", "test_count", "defects",
            "nemesis_interval", "recovery_time", "replication_factor", "client_mode", "failover_writes",
            "request_timeout", "subnet", "results_dir", "leave_db_running")


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(run options, the parts' flags) from a command's keyword arguments."""
    run = {k: v for k, v in kwargs.items() if k in RUN_KEYS}
    return run, {k: v for k, v in kwargs.items() if k not in RUN_KEYS}


@cli.command("test")
@click.option("--workload", "-w", required=True, type=click.Choice(workloads.names()), help="What the clients do.")
@click.option("--nemesis", default="none", show_default=True, callback=_csv,
              help="Faults, comma-separated to combine: none, " + ", ".join(nemeses.names()) + ".")
@click.option("--leave-db-running", is_flag=True, help="Keep the cluster up after the run, to poke at it.")
@_run_options
def test_cmd(workload: str, nemesis: list[str], **kwargs: Any) -> None:
    """Run a test: start a cluster, drive a workload under faults, check the history.

    \b
    Examples:
      harness test --workload bank --nemesis partition --nodes 5
      harness test --workload set --nemesis kill --time-limit 60 --seed 7
      harness test --workload register --nemesis kill --kill-targets all,majority
      harness test --workload set --nemesis partition,kill --defect ack-before-fsync
    """
    from unkindness.harness.runner import run_test
    from unkindness.harness.runtimes.base import RuntimeError_
    from unkindness.nemeses.base import NemesisError

    run, part_flags = _split(kwargs)
    nemesis = _check_run_args(nemesis, run["defects"], run["replication_factor"], run["nodes"])
    cfg0 = _config(workload, nemesis, part_flags, run)
    code = EXIT_VALID
    for i in range(run["test_count"]):
        cfg = cfg0 if i == 0 else _config(workload, nemesis, part_flags, run)
        try:
            outcome = run_test(cfg, out=lambda s: click.echo(s, err=True))
        except (RuntimeError_, NemesisError, ValueError) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_HARNESS_ERROR)
        _print_summary(outcome)
        code = verdict_exit(outcome.result.get("valid"))
        if outcome.interrupted:
            sys.exit(130)
        if code != EXIT_VALID:
            break
    sys.exit(code)


@cli.command("test-all")
@click.option("--workloads", default=",".join(workloads.names()), show_default=True,
              help="Workloads, comma-separated; options after a colon: bank:txn-mode=cluster-wide.")
@click.option("--nemeses", default="none", show_default=True,
              help="Nemeses, comma-separated; x+y combines them in one run: partition,kill,partition+kill.")
@_run_options
def test_all_cmd(workloads: str, nemeses: str, **kwargs: Any) -> None:  # noqa: F811 - click names
    """Run a matrix of tests (every workload under every nemesis set): the nightly CI job's command.

    Prints a line per run and a summary table; writes results/test-all/<time>/ with summary.md,
    summary.json and one junit.xml for all runs, and exits with the worst verdict. Ctrl-C heals the
    run in flight and stops the matrix.

    \b
    Examples:
      harness test-all --workloads set,register --nemeses partition,kill,partition+kill
      harness test-all --workloads bank:txn-mode=cluster-wide,cart --nemeses pause,clock --test-count 3
    """
    from unkindness import nemeses as nemesis_registry
    from unkindness import workloads as workload_registry
    from unkindness.harness import matrix
    from unkindness.harness.runner import run_test
    from unkindness.harness.runtimes.base import RuntimeError_
    from unkindness.nemeses.base import NemesisError

    run, part_flags = _split(kwargs)
    try:
        cells = matrix.cells(matrix.parse_workloads(workloads, workload_registry.names()),
                             matrix.parse_nemeses(nemeses, nemesis_registry.names()))
    except matrix.MatrixError as e:
        raise BadInput(str(e)) from None
    for c in cells:
        _check_run_args(c.nemesis, run["defects"], run["replication_factor"], run["nodes"])
        own = options_mod.flags_of([workload_registry.get(c.workload).Options])
        unknown = sorted(set(c.flags) - own)
        if unknown:
            raise BadInput(f"--workloads: {unknown[0].replace('_', '-')} is not an option of workload {c.workload}")
    used = options_mod.flags_of([*(workload_registry.get(c.workload).Options for c in cells),
                                 *(nemesis_registry.get(n).Options for c in cells for n in c.nemesis if n != "none"),
                                 runtimes.get(run["runtime"]).Options])
    stray = sorted(k for k, v in part_flags.items() if v is not None and k not in used)
    if stray:
        raise BadInput(f"--{stray[0].replace('_', '-')} belongs to no workload or nemesis of this matrix, nor to "
                       f"--runtime {run['runtime']}")
    plans = [(c, _config(c.workload, c.nemesis, {**part_flags, **c.flags}, run, strict=False))
             for c in cells for _ in range(run["test_count"])]
    started, rows = matrix.now(), []
    tty = sys.stderr.isatty()
    for i, (cell, cfg) in enumerate(plans, 1):
        if i > 1:
            cfg = _config(cell.workload, cell.nemesis, {**part_flags, **cell.flags}, run, strict=False)
        tag = f"[{i}/{len(plans)}] {cell.label}"

        def out(line: str, tag: str = tag) -> None:
            if tty:
                click.echo("\r" + f"{tag}: {line}"[:150].ljust(150), err=True, nl=False)
            else:
                click.echo(f"{tag}: {line}", err=True)

        try:
            outcome = run_test(cfg, out=out)
        except (RuntimeError_, NemesisError, ValueError) as e:
            rows.append(matrix.Row(cell.label.split(" / ")[0], "+".join(cell.nemesis), "ERROR", summary=str(e)))
            click.echo(("\r" if tty else "") + f"{tag}: ERROR {e}", err=True)
            continue
        test = json.loads((outcome.run_dir / "test.json").read_text())
        verdict = "INTERRUPTED" if outcome.interrupted else verdict_word(outcome.result.get("valid"))
        rows.append(matrix.Row(cell.label.split(" / ")[0], "+".join(cell.nemesis), verdict, dict(outcome.counts),
                               test.get("duration_s"), str(outcome.run_dir), outcome.result.get("summary", ""),
                               test.get("reproduce", "")))
        c = outcome.counts
        click.echo(("\r" + " " * 150 + "\r" if tty else "") + f"{tag}: {verdict} ({c.get('ok', 0)} ok, "
                   f"{c.get('fail', 0)} fail, {c.get('info', 0)} info) {outcome.run_dir}", err=True)
        if outcome.interrupted:
            break
    folder = matrix.write_summary(run["results_dir"], rows, started, " ".join(["harness", *sys.argv[1:]]))
    from unkindness.harness.report import write_index

    write_index(run["results_dir"])
    verdict = matrix.worst(rows)
    tally = {}
    for r in rows:
        tally[r.verdict] = tally.get(r.verdict, 0) + 1
    planned = "" if len(rows) == len(plans) else f" ({len(plans)} planned)"
    click.echo(f"\n{verdict}, the worst of {len(rows)} runs{planned}: "
               + ", ".join(f"{n} {v}" for v, n in sorted(tally.items(), key=lambda kv: -kv[1])))
    click.echo(matrix.table_markdown(rows, run["results_dir"]))
    click.echo(f"summary: {folder / 'summary.md'}   junit: {folder / 'junit.xml'}")
    sys.exit(matrix.EXIT.get(verdict, EXIT_HARNESS_ERROR))


def _workload_options(name: str, flags: dict[str, Any], nodes: int, workers: int, client_mode: str,
                      failover_writes: str) -> Any:
    """The chosen workload's options from the flags typed; a flag that belongs only to
    other workloads, or a combination the workload cannot judge, is bad input."""
    from unkindness.harness.client import NodeAddress
    from unkindness.harness.db import tag_for
    from unkindness.workloads.base import RunContext

    cls = workloads.get(name)
    own = options_mod.flags_of([cls.Options])
    foreign = sorted(k for k, v in flags.items() if v is not None and k not in own)
    if foreign:
        flag = "--" + foreign[0].replace("_", "-")
        takes = ", ".join("--" + d.replace("_", "-") for d in sorted(own)) or "no options of its own"
        raise BadInput(f"{flag} is not an option of workload {name} (it takes {takes})")
    try:
        opts = options_mod.build(cls.Options, flags, name)
        run = RunContext([NodeAddress(f"n{i + 1}", "", tag_for(i)) for i in range(nodes)], workers, client_mode,
                         failover_writes)
        cls(opts, run).validate()
    except ValueError as e:
        raise BadInput(str(e)) from None
    return opts


def _runtime_options(name: str, flags: dict[str, Any]) -> Any:
    """The runtime's options; a flag of another runtime is bad input."""
    cls = runtimes.get(name)
    own = options_mod.flags_of([cls.Options])
    stray = sorted(k for k, v in flags.items() if v is not None and k not in own)
    if stray:
        raise BadInput(f"--{stray[0].replace('_', '-')} is an option of another runtime, not of --runtime {name}")
    try:
        return options_mod.build(cls.Options, flags, f"runtime {name}")
    except ValueError as e:
        raise BadInput(str(e)) from None


def _nemesis_options(chosen: list[str], flags: dict[str, Any], nodes: int) -> dict[str, Any]:
    """Each chosen nemesis's options from the flags typed; a flag of a nemesis the run does not
    use, or a target this cluster does not have, is bad input."""
    from unkindness.nemeses.base import NemesisError

    classes = [nemeses.get(n) for n in chosen if n != "none"]
    owned = {d: c.name for c in nemeses.all_nemeses() for d in options_mod.flags_of([c.Options])}
    used = options_mod.flags_of(c.Options for c in classes)
    stray = sorted(k for k, v in flags.items() if v is not None and k not in used)
    if stray:
        flag = "--" + stray[0].replace("_", "-")
        raise BadInput(f"{flag} is an option of nemesis {owned.get(stray[0], '?')}, which this run does not use "
                       f"(--nemesis {','.join(chosen)})")
    names = [f"n{i + 1}" for i in range(nodes)]
    out = {}
    try:
        for cls in classes:
            out[cls.name] = options_mod.build(cls.Options, flags, f"nemesis {cls.name}")
            cls.validate(out[cls.name], names)
    except (ValueError, NemesisError) as e:
        raise BadInput(str(e)) from None
    return out


def _print_summary(outcome: Any) -> None:
    r = outcome.result
    c = outcome.counts
    click.echo("")
    click.echo(f"{verdict_word(r.get('valid'))}: {r.get('summary', '')}")
    for name, sub in (r.get("results") or {}).items():
        click.echo(f"  {name:<13} {verdict_word(sub.get('valid')).lower():<8} {sub.get('summary', '')}")
        if sub.get("valid") is False and sub.get("explanation"):
            for line in str(sub["explanation"]).splitlines():
                click.echo(f"      {line}")
    if r.get("note"):
        click.echo(f"  note: {r['note']}")
    click.echo(f"ops: {c.get('ok', 0)} ok, {c.get('fail', 0)} fail, {c.get('info', 0)} info")
    click.echo(f"results: {outcome.run_dir}  (history.jsonl, faults.jsonl, results.json, test.json, nodes/)")
    click.echo(f"reproduce: {json.loads((outcome.run_dir / 'test.json').read_text()).get('reproduce', '')}")


@cli.command()
@click.option("--nodes", "-n", default=3, show_default=True, type=click.IntRange(1, 50), help="How many nodes.")
@click.option("--defect", "defects", multiple=True, help="Server defect switch to turn on (repeatable).")
@click.option("--replication-factor", type=click.IntRange(min=1), help="Database replication factor (default: all nodes).")
@click.option("--subnet", help="Private subnet for the test network (default: as for harness test).")
@click.option("--runtime", default="netns", show_default=True, type=click.Choice(runtimes.names()),
              help="Where nodes live (see harness test --help).")
@click.option("--results-dir", default="results", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@options_mod.click_options((f"runtime {r}", runtimes.get(r).Options) for r in runtimes.names())
def up(nodes: int, defects: tuple[str, ...], replication_factor: int | None, subnet: str | None,
       runtime: str, results_dir: Path, **runtime_flags: Any) -> None:
    """Start a cluster to poke at by hand, print its URLs, and leave it running.

    \b
    Example:
      harness up --nodes 3
      curl http://10.250.7.1:8080/cluster/topology
      harness down
    """
    from datetime import datetime, timezone

    from unkindness.harness.db import Cluster
    from unkindness.harness.resources import Journal, new_run_id
    from unkindness.harness.runtimes.base import RuntimeError_
    from unkindness.server.defects import DEFECTS

    runtime_opts = _runtime_options(runtime, runtime_flags)
    for d in defects:
        if d not in DEFECTS:
            raise BadInput(f"unknown defect {d!r}; choose from {', '.join(DEFECTS)}")
    run_id = new_run_id()
    run_dir = results_dir / "up" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(run_id)
    journal.add("up", run_dir=str(run_dir.resolve()))
    rt = runtimes.get(runtime)(run_id, nodes, runtime_opts, subnet=subnet, journal=journal, run_dir=run_dir,
                               log=lambda m: click.echo(m, err=True))
    try:
        rt.setup()
        cluster = Cluster(rt.nodes, run_dir, replication_factor=replication_factor, defects=list(defects))
        cluster.start()
    except (RuntimeError_, ValueError) as e:
        rt.teardown()
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_HARNESS_ERROR)
    except BaseException:
        rt.teardown()
        raise
    (run_dir / "cluster.json").write_text(json.dumps({
        "run_id": run_id, "database": cluster.database,
        "nodes": [{"name": a.name, "tag": a.tag, "url": a.url} for a in cluster.addresses]}, indent=2) + "\n")
    click.echo(f"cluster {run_id} is up ({nodes} nodes, {runtime}, database {cluster.database!r})")
    for a in cluster.addresses:
        click.echo(f"  {a.name} ({a.tag})  {a.url}")
    click.echo(f"server logs: {rt.nodes[0].log_file} (and so on) on each node")
    click.echo(f"stop it with: harness down {run_id}")


@cli.command()
@click.argument("run_ids", nargs=-1)
def down(run_ids: tuple[str, ...]) -> None:
    """Stop clusters started with `harness up` (all of them, or the given ids)."""
    from unkindness.harness.resources import journals, read_entries

    known = {p.stem for p in journals()}
    found = 0
    for path in journals():
        entries = list(read_entries(path))
        if not any(e["kind"] == "up" for e in entries) or (run_ids and path.stem not in run_ids):
            continue
        found += 1
        for item in runtimes.clean_entries(entries):
            click.echo(f"removed {item}")
        path.unlink(missing_ok=True)
        click.echo(f"cluster {path.stem} is down")
    missing = set(run_ids) - known  # ids asked for before this command stopped any
    if missing or not found:
        raise BadInput(f"no running cluster {', '.join(sorted(missing))}" if missing else "no cluster started by harness up is running")


@cli.command()
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--bind", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--results-dir", default="results", show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def serve(port: int, bind: str, results_dir: Path) -> None:
    """Browse results/: the index of runs and each run's report (rendered on demand)."""
    from unkindness.harness.report import serve as do_serve

    if not results_dir.is_dir():
        raise BadInput(f"{results_dir}: no such folder (run harness test first, or pass --results-dir)")
    click.echo(f"serving {results_dir.resolve()} at http://{bind}:{port}/  (Ctrl-C stops)", err=True)
    try:
        do_serve(results_dir, port=port, bind=bind)
    except OSError as e:
        raise BadInput(f"cannot listen on {bind}:{port}: {e.strerror}") from None


@cli.command()
@click.option("--force", is_flag=True, help="Also remove runs whose harness is still running.")
def clean(force: bool) -> None:
    """Remove every namespace, link, iptables rule, server process, container and network runs left behind.

    Works from the runs' journals (in /run/unkindness), so it also cleans up
    after a harness that was killed with SIGKILL. Safe to run at any time.
    """
    from unkindness.harness.clean import clean as do_clean
    from unkindness.harness.runtimes.base import RuntimeError_

    try:
        removed, skipped = do_clean(force)
    except RuntimeError_ as e:
        raise BadInput(str(e)) from None
    for item in removed:
        click.echo(f"removed {item}")
    for item in skipped:
        click.echo(f"skipped {item}")
    click.echo(f"clean: removed {len(removed)} item(s)" if removed else "clean: nothing to remove")


@cli.group()
def lab() -> None:
    """Local SSH hosts (namespaces running sshd) to try --runtime ssh on one machine."""


@lab.command("up")
@click.option("--nodes", "-n", default=5, show_default=True, type=click.IntRange(1, 50), help="How many hosts.")
@click.option("--dir", "directory", default="lab", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="The lab's folder (keys, known_hosts, nodes.txt); must be empty or absent.")
@click.option("--subnet", help="Private subnet for the hosts (default: a free /24 in 10.250/16).")
@click.option("--sudo-login", is_flag=True, help="Log in as a user of the lab's own with passwordless sudo, "
              "not as root (root cannot log in then), as on many real machines.")
def lab_up(nodes: int, directory: Path, subnet: str | None, sudo_login: bool) -> None:
    """Start NODES SSH hosts on this machine and print the nodes file that names them.

    \b
    Example:
      harness lab up --nodes 5
      harness test --runtime ssh --nodes-file lab/nodes.txt --workload register --nemesis partition,kill
      harness lab down
    """
    from unkindness.harness.runtimes import ssh_lab
    from unkindness.harness.runtimes.base import RuntimeError_

    try:
        made = ssh_lab.up(nodes, directory, subnet, sudo_login)
    except RuntimeError_ as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_HARNESS_ERROR)
    click.echo(f"lab {made.run_id} is up: {nodes} SSH hosts ({', '.join(made.ips)}), {made.login} logs in with "
               f"{made.dir / 'id_ed25519'}" + (" and runs commands through sudo" if made.login != "root" else ""))
    click.echo(f"nodes file: {made.nodes_file}")
    click.echo(f"  harness test --runtime ssh --nodes-file {made.nodes_file} --nodes {nodes} --workload register "
               "--nemesis partition,kill")
    click.echo(f"  ssh -i {made.dir / 'id_ed25519'} -o UserKnownHostsFile={made.dir / 'known_hosts'} "
               f"{made.login}@{made.ips[0]}")
    click.echo("stop it with: harness lab down")


@lab.command("down")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Only the lab in this folder (default: every lab).")
def lab_down(directory: Path | None) -> None:
    """Remove labs: their hosts, sshds, whatever runs left on them, and their folders."""
    from unkindness.harness.runtimes import ssh_lab
    from unkindness.harness.runtimes.base import RuntimeError_

    try:
        removed = ssh_lab.down(directory)
    except RuntimeError_ as e:
        raise BadInput(str(e)) from None
    for item in removed:
        click.echo(f"removed {item}")
    click.echo("lab down")


def main(argv: list[str] | None = None) -> None:
    """Entry point: maps every outcome onto the documented exit codes."""
    try:
        rv = cli.main(args=argv, prog_name="harness", standalone_mode=False)
    except click.exceptions.UsageError as e:
        msg = e.format_message()
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        click.echo(f"error: {msg}{hint}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback for users
        click.echo(f"harness error: {type(e).__name__}: {e}", err=True)
        if os.environ.get("UNKINDNESS_DEBUG"):
            traceback.print_exc()
        else:
            click.echo("(set UNKINDNESS_DEBUG=1 for the traceback)", err=True)
        sys.exit(EXIT_HARNESS_ERROR)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
