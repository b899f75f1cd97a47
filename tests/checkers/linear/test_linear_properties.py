"""Property tests: the checker against simulated histories and a brute-force oracle."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from support.linear_oracle import SPECS, CasRegisterSpec, Spec, arbitrary_register, brute_force, perturbed, simulate
from unkindness.checkers.linear import check

MODEL_SPECS = [
    ("register", SPECS["register"]()),
    ("cas-register", CasRegisterSpec(True)),
    ("cas-register", CasRegisterSpec(False)),
    ("kv", SPECS["kv"]()),
    ("set", SPECS["set"]()),
    ("mutex", SPECS["mutex"]()),
    ("cmpxchg", SPECS["cmpxchg"]()),
]
IDS = [f"{m}-{'|'.join(f'{k}={v}' for k, v in s.options.items())}" if s.options else m for m, s in MODEL_SPECS]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

pytestmark = pytest.mark.timeout(120)


def run(model: str, spec: Spec, history: list[dict]) -> dict:
    return check(history, model, time_limit=30, **spec.options)


@pytest.mark.parametrize("model,spec", MODEL_SPECS, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_histories_of_a_sequential_object_are_accepted(model, spec, data):
    history = data.draw(simulate(spec, max_ops=20, max_procs=5))
    r = run(model, spec, history)
    assert r["valid"] is True, r.get("explanation")


@pytest.mark.parametrize("model,spec", [ms for ms in MODEL_SPECS if ms[0] != "mutex"],
                         ids=[i for (m, _), i in zip(MODEL_SPECS, IDS) if m != "mutex"])
@SETTINGS
@given(data=st.data())
def test_one_impossible_read_is_rejected(model, spec, data):
    history = data.draw(simulate(spec, max_ops=20, max_procs=5))
    reads = [e for e in history if e["type"] == "ok" and spec.mutate(
        {"f": e["f"], "inv": e["value"], "out": e["value"]}) is not None]
    assume(reads)
    target = data.draw(st.sampled_from(reads))
    target["value"] = spec.mutate({"f": target["f"], "inv": target["value"], "out": target["value"]})
    r = run(model, spec, history)
    assert r["valid"] is False
    assert r["op"]["complete_index"] == target["index"] or r["op"]["value"] is not None


@pytest.mark.parametrize("model,spec", MODEL_SPECS, ids=IDS)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_small_histories_agree_with_brute_force(model, spec, data):
    history = data.draw(simulate(spec, max_ops=8, max_procs=4))
    if data.draw(st.integers(0, 3)):
        history = data.draw(perturbed(spec, history))
    expected = brute_force(spec, history)
    assert run(model, spec, history)["valid"] is expected


@pytest.mark.parametrize("observes", [True, False])
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_arbitrary_cas_register_histories_agree_with_brute_force(observes, data):
    """Stresses the reductions (unobserved values, dropped info writes, failed cas)."""
    history = data.draw(arbitrary_register())
    spec = CasRegisterSpec(observes)
    assert run("cas-register", spec, history)["valid"] is brute_force(spec, history)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_kv_histories_agree_with_brute_force(data):
    """Stresses the search's reach pruning (a get's value must still be reachable by appends)."""
    spec = SPECS["kv"]()
    history = data.draw(simulate(spec, max_ops=9, max_procs=5))
    if data.draw(st.integers(0, 2)):
        history = data.draw(perturbed(spec, history))
    assert run("kv", spec, history)["valid"] is brute_force(spec, history)
