"""The named steps of a run after its fit (each held-out analysis, then the bundle), told to a
listener as each starts and ends: ``mmcorr train`` prints them as plain lines on stderr, so a
batch-job log shows where a long run is."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Notify", "Steps"]

#: Receives one line of text per event ("analysis UMAP: started").
Notify = Callable[[str], None]


class Steps:
    """Tells ``notify`` when each step starts and ends: :meth:`start` ends the step before it,
    :meth:`end` the last one. With ``notify=None`` it does nothing.

    clock: seconds for the durations (``time.perf_counter`` unless a test hands in its own).
    """

    def __init__(self, notify: Notify | None, clock: Callable[[], float] = time.perf_counter) -> None:
        self._notify = notify
        self._clock = clock
        self._current: tuple[str, float] | None = None

    def start(self, name: str) -> None:
        self.end()
        if self._notify is not None:
            self._notify(f"{name}: started")
            self._current = (name, self._clock())

    def end(self) -> None:
        if self._current is not None and self._notify is not None:
            name, t0 = self._current
            self._notify(f"{name}: done in {self._clock() - t0:.1f} s")
        self._current = None
