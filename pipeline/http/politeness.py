"""Per-host politeness: a concurrency cap and a minimum interval between request starts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class HostGate:
    """At most `limit` requests to one host at a time, starting at least `interval` s apart."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._interval = 0.0
        self._next_start = 0.0

    def set_interval(self, seconds: float) -> None:
        with self._lock:
            self._interval = max(self._interval, seconds)

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._slots:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self._interval
            if start > now:
                time.sleep(start - now)
            yield
