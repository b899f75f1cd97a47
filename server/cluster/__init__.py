"""The cluster layer inside a node: the Raft-backed cluster state (database
records, compare-exchange values, cluster-wide transaction guards), the
``ClusterView`` built on it, and the leader's node-health watcher."""
