"""The set workload's client: what a read reports from document ids."""

from __future__ import annotations

import pytest

from unkindness.harness.client import NodeAddress, NodeClient, put_command
from unkindness.harness.generator import Invocation
from unkindness.workloads.set_workload import PREFIX, SetClient, element_of

pytestmark = pytest.mark.timeout(60)


def test_elements_come_from_ids_and_strangers_stay_visible() -> None:
    assert element_of(f"{PREFIX}42") == 42
    assert element_of("Elements/7") == 7  # ids are case-insensitive
    assert element_of(f"{PREFIX}x") == f"{PREFIX}x"  # not a number: reported, not dropped
    assert element_of("other/1") == "other/1"


def test_adds_then_a_read_against_a_real_node(one_node) -> None:
    url, _ = one_node
    http = NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0)
    client = SetClient(http)
    for n in (3, 1, 2):
        assert client.invoke(Invocation("add", n)).type == "ok"
    again = client.invoke(Invocation("add", 2))  # a replayed add must not pass as new
    assert again.type == "fail"
    http.batch([put_command("other/1", {"value": 99}, "Others", "")])  # not an element
    read = client.invoke(Invocation("read", None))
    assert (read.type, read.value, read.node) == ("ok", [1, 2, 3], "n1")
