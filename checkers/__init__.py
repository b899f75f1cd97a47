"""unkindness.checkers: see design.md, Layout."""
