"""Time and memory budgets shared by every partition of one check.

Past either budget the search stops and the answer is "unknown" with what was
explored, so a check never hangs and never grows until the kernel kills it.
Memory is the search's own memo, estimated from its entry count and the size
of a sample entry (cheap enough to do every 1024 steps, unlike tracemalloc).
"""

from __future__ import annotations

import time
from typing import Any, Callable

from unkindness.checkers.linear.search import OutOfBudget, entry_bytes

PROGRESS_EVERY_S = 0.25


class Budget:
    def __init__(self, time_limit: float | None, memory_limit_mb: float | None,
                 progress: Callable[[dict], None] | None, keys_total: int) -> None:
        for name, v in (("time_limit", time_limit), ("memory_limit_mb", memory_limit_mb)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
                raise ValueError(f"{name} must be a positive number of {'seconds' if name == 'time_limit' else 'MB'}, got {v!r}")
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.started = time.monotonic()
        self.deadline = None if time_limit is None else self.started + time_limit
        self.memory_limit = None if memory_limit_mb is None else memory_limit_mb * 1024 * 1024
        self.progress = progress
        self.last_progress = self.started
        self.keys_total = keys_total
        self.keys_done = 0
        self.explored_done = 0  # configurations explored in finished partitions
        self.peak_estimate = 0

    def tick(self, explored: int, bitset: int, state: Any) -> None:
        """Called from inside a search; raises OutOfBudget past a limit."""
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline:
            raise OutOfBudget(f"time limit of {self.time_limit:g} s reached")
        est = explored * entry_bytes(bitset, state)
        self.peak_estimate = max(self.peak_estimate, est)
        if self.memory_limit is not None and est > self.memory_limit:
            raise OutOfBudget(
                f"memory limit of {self.memory_limit_mb:g} MB reached (the search memo held about "
                f"{est / 1048576:.1f} MB in {explored} configurations)"
            )
        if self.progress is not None and now - self.last_progress >= PROGRESS_EVERY_S:
            self.last_progress = now
            self.report(explored)

    def before_partition(self) -> None:
        """Refuses to start another partition once the time is up."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfBudget(f"time limit of {self.time_limit:g} s reached")

    def reserve(self, nbytes: int, what: str) -> None:
        """Refuses a fixed allocation (e.g. the real-time masks) beyond the memory budget."""
        if self.memory_limit is not None and nbytes > self.memory_limit:
            raise OutOfBudget(
                f"memory limit of {self.memory_limit_mb:g} MB reached ({what} alone would take about "
                f"{nbytes / 1048576:.1f} MB)"
            )

    def finished_partition(self, explored: int) -> None:
        self.keys_done += 1
        self.explored_done += explored

    def report(self, explored_now: int = 0) -> None:
        if self.progress is not None:
            self.progress({"explored": self.explored_done + explored_now,
                           "keys_done": self.keys_done, "keys_total": self.keys_total})

    def elapsed(self) -> float:
        return time.monotonic() - self.started
