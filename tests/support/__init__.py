"""Shared test code: launchers and builders used by more than one test folder (a real package)."""
