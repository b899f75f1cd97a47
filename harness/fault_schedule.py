"""The fault schedule (the generator's side of the nemeses): wait, fault, wait, heal, again.

Each cycle applies one fault from every configured nemesis at once (so
`partition,kill` combines them, as jepsen.nemesis.combined composes its
packages), records it in the history as a nemesis invoke/info pair, and
heals them all half an interval later. The schedule's random choices come
from the run's seed. Whatever is active when the run ends (or is
interrupted) is healed by `heal_all`. The nemeses themselves never see the
recorder.
"""

from __future__ import annotations

import random
import threading
from typing import Callable, Sequence

from unkindness.harness.history.recorder import Recorder
from unkindness.nemeses.base import Nemesis


class NemesisSchedule:
    def __init__(self, nemeses: Sequence[Nemesis], recorder: Recorder, interval: float, seed: int,
                 log: Callable[[str], None] = lambda s: None) -> None:
        self.nemeses = list(nemeses)
        self.recorder = recorder
        self.interval = interval
        self.rng = random.Random(f"{seed}/nemesis")
        self.stop_event = threading.Event()
        self.active: list[tuple[Nemesis, dict]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.log = log

    @property
    def current(self) -> list[str]:
        with self._lock:
            return [r.get("description", r["kind"]) for _, r in self.active]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nemesis", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self.stop_event.wait(self.interval / 2):
                for nem in self.nemeses:
                    self._fault(nem)
                if self.stop_event.wait(self.interval / 2):
                    break
                self.heal_all()
        except BaseException as e:  # noqa: BLE001 - surfaced by the runner after healing
            self.error = e
            self.log(f"nemesis failed: {type(e).__name__}: {e}")

    def _fault(self, nem: Nemesis) -> None:
        self.recorder.record("nemesis", "invoke", f"start-{nem.name}", None)
        record = nem.start(self.rng)
        if record is not None:
            with self._lock:
                self.active.append((nem, record))
        value = None if record is None else {k: v for k, v in record.items() if k not in ("applied_at", "healed_at")}
        self.recorder.record("nemesis", "info", f"start-{nem.name}", value)

    def heal_all(self) -> None:
        """Heals everything active, the last applied first (a node is added back only once the
        partition around it is gone); one heal failing does not stop the others; safe from any
        thread, and to call twice."""
        with self._lock:
            active, self.active = self.active, []
        failed: BaseException | None = None
        for nem, record in reversed(active):
            self.recorder.record("nemesis", "invoke", f"stop-{nem.name}", None)
            try:
                nem.heal(record)
            except Exception as e:  # noqa: BLE001 - heal the rest, then report it
                self.log(f"healing {record.get('description', nem.name)} failed: {type(e).__name__}: {e}")
                failed = failed or e
                self.recorder.record("nemesis", "info", f"stop-{nem.name}", {"id": record["id"], "kind": record["kind"],
                                                                            "error": str(e)})
                continue
            self.recorder.record("nemesis", "info", f"stop-{nem.name}", {"id": record["id"], "kind": record["kind"]})
        if failed is not None:
            raise failed

    def stop(self) -> None:
        """Stops scheduling, waits for the thread, and heals what is active."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.heal_all()
