"""Unkindness: a Jepsen-style consistency harness and the RavenDB-like cluster it tests.

The top-level folders (server/, checkers/, harness/, nemeses/, workloads/) are
mapped onto subpackages of this package by pyproject.toml's package-dir.
"""

__version__ = "0.1.0"
