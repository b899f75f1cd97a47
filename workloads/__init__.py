"""unkindness.workloads: see design.md, Layout."""
