"""Thread-safe counters served by `GET /__emulator__/stats`."""

import threading
from collections import Counter

GRANT_TYPES = ("authorization_code", "refresh_token")
_SCALARS = (
    "invalid_grant",
    "rate_limited",
    "injected_failures",
    "dropped_connections",
    "stalled_after_refresh",
)


class EmulatorStats:
    """Requests per endpoint, token exchanges per grant, and fault/limit counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._exchanges: Counter[str] = Counter({grant: 0 for grant in GRANT_TYPES})
            self._scalars: Counter[str] = Counter({name: 0 for name in _SCALARS})

    def count_request(self, method: str, path: str) -> None:
        """Count one request under "METHOD path"."""
        with self._lock:
            self._requests[f"{method} {path}"] += 1

    def count_exchange(self, grant_type: str) -> None:
        """Count one successful token exchange of that grant type."""
        with self._lock:
            self._exchanges[grant_type] += 1

    def count(self, name: str) -> None:
        """Count one event (one of `_SCALARS`)."""
        if name not in _SCALARS:
            raise ValueError(f"unknown counter {name!r}")
        with self._lock:
            self._scalars[name] += 1

    def snapshot(self) -> dict[str, object]:
        """The counters as the stats path returns them."""
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "token_exchanges": dict(self._exchanges),
                **{name: self._scalars[name] for name in _SCALARS},
            }
