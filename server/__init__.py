"""unkindness.server: see design.md, Layout."""
