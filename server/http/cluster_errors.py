"""Cluster refusals as HTTP answers, shared by the cluster handlers."""

from __future__ import annotations

from unkindness.server.cluster.raft_cluster import ClusterUnavailable, NotClusterLeader
from unkindness.server.cluster.view import ClusterError
from unkindness.server.http.errors import RAVEN, ApiError, concurrency, not_found

#: Type of the 503 answered when no majority is reachable within --cluster-timeout.
CLUSTER_UNAVAILABLE = RAVEN + "Cluster.ClusterUnavailableException"
NOT_LEADER = RAVEN + "Cluster.NotLeaderException"


def api_error(e: ClusterError) -> ApiError:
    if isinstance(e, ClusterUnavailable):
        return ApiError(503, CLUSTER_UNAVAILABLE, str(e), MaybeApplied=e.maybe_applied, LeaderTag=e.leader)
    if isinstance(e, NotClusterLeader):
        return ApiError(421, NOT_LEADER, str(e), LeaderUrl=e.leader_url)
    if e.status == 409:
        return concurrency(str(e))
    if e.status == 404:
        return not_found(str(e))
    return ApiError(e.status, "System.ArgumentException" if e.status < 500 else "System.InvalidOperationException",
                    str(e))

