"""The membership nemesis refuses what would cost the cluster its majority."""

import pytest

from unkindness.nemeses.base import NemesisError
from unkindness.nemeses.membership import Membership, Options


def test_one_node_at_a_time_on_clusters_that_keep_a_majority():
    Membership.validate(Options(membership_targets=["one", "leader", "n2"]), ["n1", "n2", "n3"])
    with pytest.raises(NemesisError, match="at least 3 nodes"):
        Membership.validate(Options(), ["n1", "n2"])
    with pytest.raises(NemesisError, match="remove one node at a time"):
        Membership.validate(Options(membership_targets=["majority"]), ["n1", "n2", "n3"])
    with pytest.raises(NemesisError, match="--membership-targets"):
        Membership.validate(Options(membership_targets=["n9"]), ["n1", "n2", "n3"])
