import pytest


@pytest.fixture(autouse=True)
def _needs_netns(netns_required):
    """Every test here runs real namespaces."""
