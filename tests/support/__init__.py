"""Shared test code, imported as ``support.NAME`` (pytest puts tests/ on the path; the benchmarks
import it as ``tests.support.NAME``): launchers of servers and clusters (server_procs,
process_nodes, docker_engine), `harness test` runs (harness_runs), the report's
DevTools driver (browser), builders of histories and results folders (synthetic_runs,
listappend_builders), the seed's carts (seed_listings), Raft's simulator (raft_sim), replication
helpers (repl_helpers) and the brute-force linearizability oracle (linear_oracle)."""
