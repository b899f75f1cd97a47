"""Unkindness: a Jepsen-style consistency harness and the RavenDB-like cluster it tests.

The top-level folders (server/, checkers/, harness/, nemeses/, workloads/) are
mapped onto subpackages of this package by pyproject.toml's package-dir.

`load_history(path)` and `load_faults(path)` give a history (JSON lines, Jepsen
EDN, or a results folder) and a run's faults as pandas DataFrames; pandas is
imported only when they are called.
"""

__version__ = "0.1.0"


def load_history(path):  # noqa: ANN001, ANN201 - the DataFrame type lives in pandas
    """One row per operation: process, f, type, invoke/complete index and time, latency, node, value, error."""
    from unkindness.harness.history.frames import load_history as load

    return load(path)


def load_faults(path):  # noqa: ANN001, ANN201
    """A results folder's fault intervals: kind, start, end (seconds), nodes, description."""
    from unkindness.harness.history.frames import load_faults as load

    return load(path)
