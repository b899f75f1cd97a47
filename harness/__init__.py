"""unkindness.harness: see design.md, Layout."""
