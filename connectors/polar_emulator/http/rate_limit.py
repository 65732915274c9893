"""Polar's rate-limit algorithm: fixed windows per identity, started by the first request."""

import threading
import time

RATE_WINDOW_SECONDS = 60


class FixedWindowLimiter:
    """Per-identity fixed windows of 60 s, each started by its first request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def allow(self, identity: str, limit: int) -> bool:
        """Count one request; False once the identity used up its window."""
        now = time.monotonic()
        with self._lock:
            started, used = self._windows.get(identity, (now, 0))
            if now - started >= RATE_WINDOW_SECONDS:
                started, used = now, 0
            self._windows[identity] = (started, used + 1)
            return used < limit

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()
