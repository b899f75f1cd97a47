"""unkindness.nemeses: see design.md, Layout."""
