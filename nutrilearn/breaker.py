"""A per-process circuit breaker: after an outside system failed, skip calling it for a while."""

import threading
import time


class Breaker:
    """Open for some seconds after a failure; thread-safe. Used where a request must never wait on an outside system."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open_until = 0.0  # time.monotonic() from which calls are tried again

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def open(self, *, seconds: float) -> bool:
        """Skip calls for ``seconds``; returns whether this call opened it (it was not open already)."""
        with self._lock:
            now = time.monotonic()
            opened = now >= self._open_until
            self._open_until = max(self._open_until, now + seconds)
        return opened

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0
