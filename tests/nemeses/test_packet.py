"""packet: loss through iptables' statistic match, rate through tbf, delay refused without netem."""

import random
import sys
import time

import pytest

from support.process_nodes import process_nodes
from unkindness.nemeses.base import FaultContext, NemesisError
from unkindness.nemeses.journal import FaultJournal
from unkindness.nemeses.packet import CHAIN, Options, Packet, netem_missing

UDP_SINK = ("import socket, sys, time\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 9000)); s.settimeout(1.5)\n"
            "n = 0\n"
            "try:\n"
            "    while True:\n"
            "        s.recv(64); n += 1\n"
            "except OSError:\n"
            "    print(n)\n")
UDP_SOURCE = ("import socket, sys, time\n"
              "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
              "for i in range(400):\n"
              "    s.sendto(b'x', (sys.argv[1], 9000)); time.sleep(0.001)\n")


def delivered(src, dst) -> int:
    import subprocess
    sink = subprocess.Popen(["ip", "netns", "exec", dst.ns, sys.executable, "-c", UDP_SINK, dst.ip],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    src.exec([sys.executable, "-c", UDP_SOURCE, dst.ip], timeout=20)
    return int(sink.communicate(timeout=20)[0])


def _nem(rt, control, tmp_path, **kw):
    nem = Packet(Options(**kw), FaultContext(rt.nodes, control, FaultJournal(tmp_path / "f.jsonl"), time.monotonic_ns))
    return nem


def test_loss_drops_a_share_between_the_targets_and_the_rest_and_heals(netns, tmp_path):
    with process_nodes(tmp_path, 3) as (rt, control):
        n1, n2, n3 = rt.nodes
        nem = _nem(rt, control, tmp_path, packet_targets=["n2"], packet_faults=["loss"], packet_loss=0.5)
        nem.check_supported()
        assert delivered(n1, n2) == 400
        record = nem.start(random.Random(1))
        assert record["fault"] == "loss" and record["nodes"] == ["n2"]
        lossy = delivered(n1, n2)
        assert 100 < lossy < 300, lossy  # about half
        assert delivered(n1, n3) == 400  # n1 <-> n3 untouched
        nem.heal(record)
        assert all(n.exec(["iptables", "-S", CHAIN]).stdout.strip() == f"-N {CHAIN}" for n in rt.nodes)
        assert delivered(n1, n2) == 400


def test_rate_puts_a_tbf_on_the_targets_interface_and_heals(netns, tmp_path):
    with process_nodes(tmp_path, 2) as (rt, control):
        nem = _nem(rt, control, tmp_path, packet_targets=["n1"], packet_faults=["rate"], packet_rate="500kbit")
        nem.check_supported()
        record = nem.start(random.Random(1))
        shown = rt.nodes[0].exec(["tc", "qdisc", "show", "dev", "eth0"]).stdout
        assert "tbf" in shown and "500Kbit" in shown
        nem.heal(record)
        assert "tbf" not in rt.nodes[0].exec(["tc", "qdisc", "show", "dev", "eth0"]).stdout


def test_delay_is_used_where_netem_exists_and_refused_by_name_where_it_does_not(netns, tmp_path):
    with process_nodes(tmp_path, 2) as (rt, control):
        nem = _nem(rt, control, tmp_path, packet_faults=["delay"])
        if netem_missing(rt.nodes[0]) is None:
            nem.check_supported()
            record = nem.start(random.Random(1))
            assert "netem" in rt.nodes[int(record["nodes"][0][1:]) - 1].exec(["tc", "qdisc", "show"]).stdout
            nem.heal(record)
        else:
            with pytest.raises(NemesisError, match="netem.*--packet-faults loss,rate"):
                nem.check_supported()


def test_bad_rates_and_targets_are_refused():
    with pytest.raises(NemesisError, match="expected a tc rate"):
        Packet.validate(Options(packet_rate="fast"), ["n1", "n2"])
    with pytest.raises(NemesisError, match="--packet-targets"):
        Packet.validate(Options(packet_targets=["n7"]), ["n1", "n2"])
