"""kill, pause and clock on real processes in real namespaces; every fault journaled, then healed."""

import random
import time

import pytest

from support.process_nodes import ask_from_host, process_nodes
from unkindness.harness.runtimes.local import find_libfaketime
from unkindness.nemeses.base import FaultContext, NemesisError
from unkindness.nemeses.clock import Clock
from unkindness.nemeses.clock import Options as ClockOptions
from unkindness.nemeses.journal import FaultJournal, read_faults
from unkindness.nemeses.kill import Kill
from unkindness.nemeses.kill import Options as KillOptions
from unkindness.nemeses.pause import Options as PauseOptions
from unkindness.nemeses.pause import Pause


def _ctx(rt, control, tmp_path):
    return FaultContext(rt.nodes, control, FaultJournal(tmp_path / "faults.jsonl"), time.monotonic_ns)


def test_kill_hits_its_targets_and_healing_restarts_them(netns, tmp_path):
    with process_nodes(tmp_path, 3) as (rt, control):
        nem = Kill(KillOptions(kill_targets=["majority"]), _ctx(rt, control, tmp_path))
        nem.check_supported()
        record = nem.start(random.Random(2))
        assert len(record["nodes"]) == 2 and record["targets"] == "majority"
        by = {n.name: n for n in rt.nodes}
        for name, node in by.items():
            assert node.running() == (name not in record["nodes"])
        nem.heal(record)
        assert all(n.running() and ask_from_host(n) for n in rt.nodes)
        assert read_faults(tmp_path / "faults.jsonl")[0]["healed_at"] is not None


def test_pause_stops_answering_until_healed(netns, tmp_path):
    with process_nodes(tmp_path, 3) as (rt, control):
        nem = Pause(PauseOptions(pause_targets=["n2"]), _ctx(rt, control, tmp_path))
        nem.check_supported()
        record = nem.start(random.Random(1))
        n2 = rt.nodes[1]
        assert record["nodes"] == ["n2"] and n2.running()
        assert ask_from_host(n2, timeout=0.5) is None  # alive, but it answers nobody
        state = open(f"/proc/{n2.proc.pid}/stat").read().rsplit(")", 1)[1].split()[0]
        assert state == "T"  # stopped
        nem.heal(record)
        assert ask_from_host(n2, timeout=2) is not None
        nem.heal(record)  # twice is harmless


def test_clock_bumps_strobes_and_resets_a_servers_wall_clock(netns, tmp_path):
    if find_libfaketime() is None:
        pytest.skip("libfaketime is not installed (make test installs faketime as root)")
    with process_nodes(tmp_path, 3, faketime=True) as (rt, control):
        nem = Clock(ClockOptions(clock_targets=["n3"], clock_faults=["bump"], clock_max_skew_ms=100_000),
                    _ctx(rt, control, tmp_path))
        nem.check_supported()
        n3 = rt.nodes[2]
        record = nem.start(random.Random(5))
        offset = record["offsets_ms"]["n3"] / 1000
        assert abs(offset) >= 0.001
        seen = ask_from_host(n3)["time"] - time.time()
        assert abs(seen - offset) < 0.5, (seen, offset)  # the server's own time.time() moved
        assert abs(ask_from_host(rt.nodes[0])["time"] - time.time()) < 0.5  # the others did not
        nem.heal(record)
        assert abs(ask_from_host(n3)["time"] - time.time()) < 0.5

        strobe = Clock(ClockOptions(clock_targets=["n3"], clock_faults=["strobe"], clock_max_skew_ms=30_000),
                       _ctx(rt, control, tmp_path))
        record = strobe.start(random.Random(2))
        delta = record["strobe"]["delta_ms"] / 1000
        offsets = set()
        deadline = time.monotonic() + 5
        while len(offsets) < 2 and time.monotonic() < deadline:
            offsets.add(round(ask_from_host(n3)["time"] - time.time()))
        assert offsets == {0, round(delta)}, (offsets, delta)  # flips between true time and true + delta
        strobe.heal(record)
        time.sleep(0.05)
        assert abs(ask_from_host(n3)["time"] - time.time()) < 0.5


def test_clock_refuses_nodes_without_libfaketime(netns, tmp_path):
    with process_nodes(tmp_path, 2) as (rt, control):
        nem = Clock(ClockOptions(), _ctx(rt, control, tmp_path))
        with pytest.raises(NemesisError, match="needs libfaketime.*apt-get install faketime"):
            nem.check_supported()
