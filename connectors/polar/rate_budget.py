"""A request budget shared by every thread of one client, kept under Polar's rate limit.

Polar counts requests per OAuth client (`oauth2_client:<client_id>`) in a fixed 60-second window:
500/min in production, 100/min in sandbox, and answers 429 with `Retry-After: 60` beyond it. The
bucket is shared by EVERY process and machine using the same OAuth app, which this in-process
budget cannot see; so it keeps headroom (90% of the limit by default) and the client still
honours 429 as the final word.
"""

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
DEFAULT_HEADROOM = 0.9


def budget_capacity(per_minute: int | None, headroom: float) -> int | None:
    """Requests allowed in any window: the limit less the headroom; None = unlimited."""
    return max(1, math.floor(per_minute * headroom)) if per_minute else None


class RequestBudget:
    """At most `per_minute * headroom` requests in any 60-second span; `None`/0 = unlimited.

    A sliding window is stricter than Polar's fixed window, so staying inside it never trips
    Polar's limit (from this process). `pause(seconds)` makes every thread wait, e.g. after a 429.
    """

    def __init__(
        self,
        per_minute: int | None,
        *,
        headroom: float = DEFAULT_HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = budget_capacity(per_minute, headroom)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._resume_at = 0.0

    def acquire(self) -> float:
        """Wait until one more request fits the budget, record it; gives the seconds waited."""
        waited = self._wait_out_pause()
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_for_slot(now)
                if wait <= 0:
                    self._sent.append(now)
                    return waited
            # Sleep outside the lock so other threads can check (and take freed slots).
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every caller of `acquire` for `seconds` from now (Polar said Retry-After)."""
        with self._lock:
            self._resume_at = max(self._resume_at, self._clock() + seconds)

    @property
    def paused(self) -> bool:
        """Whether a `pause` is still running."""
        with self._lock:
            return self._resume_at > self._clock()

    def _wait_out_pause(self) -> float:
        with self._lock:
            wait = self._resume_at - self._clock()
        if wait <= 0:
            return 0.0
        # One sleep, not a loop: a later 429 sets a new pause that the next attempt waits out.
        self._sleep(wait)
        return wait

    def _wait_for_slot(self, now: float) -> float:
        if self.capacity is None:
            return 0.0
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()
        if len(self._sent) < self.capacity:
            return 0.0
        return self._sent[0] + WINDOW_SECONDS - now
