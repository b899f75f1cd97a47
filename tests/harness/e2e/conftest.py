"""Fixtures of the end-to-end tests; their helpers are in tests/support/harness_runs.py."""

import os

import pytest


@pytest.fixture(autouse=True)
def _needs_netns(netns_required):
    """Every test here runs real namespaces."""


@pytest.fixture
def env(state_dir):
    """The environment for harness subprocesses: the test's private journal directory."""
    return {**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)}
