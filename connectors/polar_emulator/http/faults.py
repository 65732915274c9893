"""Faults injected at run time through `/__emulator__/faults` (thread-safe, count-limited)."""

import asyncio
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from connectors.polar_emulator.http.errors import EmulatorHTTPError
from connectors.polar_emulator.http.stats import EmulatorStats

FAIL_STATUSES = (429, 500, 502, 503)


@dataclass
class PathFault:
    """A fault for the next `count` requests whose path starts with `path_prefix`."""

    count: int
    path_prefix: str = "/v1/"
    status: int = 500
    retry_after: int = 1
    retry_after_as_date: bool = False  # RFC 9110's other form, as proxies and CDNs send it
    seconds: float = 0.0

    def take(self, path: str) -> bool:
        """Use up one occurrence if the path matches; gives whether it applies."""
        if self.count <= 0 or not path.startswith(self.path_prefix):
            return False
        self.count -= 1
        return True


@dataclass
class OrganizationFault:
    """Metrics requests that include this organization fail with `status`."""

    organization_id: str
    status: int
    count: int | None  # None = always


def failure_response(status: int, retry_after: int = 1, as_date: bool = False) -> Response:
    """What an injected failure looks like: 429 like Polar's limiter, else a JSON error."""
    if status == 429:
        value = str(retry_after)
        if as_date:
            value = formatdate(time.time() + retry_after, usegmt=True)
        return Response(status_code=429, headers={"Retry-After": value})
    names = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    return JSONResponse({"detail": names.get(status, "Error")}, status_code=status)


class FaultState:
    """Every configured fault; the API middleware and handlers consume them."""

    def __init__(self, stats: EmulatorStats) -> None:
        self._lock = threading.Lock()
        self._stats = stats
        self.clear()

    def clear(self) -> None:
        """Remove every fault and run-time override."""
        with self._lock:
            self.latency_ms: int | None = None
            self.fail_next: PathFault | None = None
            self.malformed_json_next: PathFault | None = None
            self.timeout_next: PathFault | None = None
            self.drop_after_refresh_next = 0
            self.stall_after_refresh_next: PathFault | None = None
            self.fail_organization: OrganizationFault | None = None
            self.access_token_lifetime: int | None = None
            self.rate_limit_overridden = False  # True once set at run time (None = off)
            self.rate_limit_override: int | None = None

    def rate_limit(self, configured: int | None) -> int | None:
        """The per-minute limit in force: the run-time override if set, else the configured one."""
        return self.rate_limit_override if self.rate_limit_overridden else configured

    def _take(self, fault: PathFault | None, path: str) -> PathFault | None:
        with self._lock:
            return fault if fault is not None and fault.take(path) else None

    def take_failure(self, path: str) -> PathFault | None:
        """The fail_next fault if it applies to this request."""
        return self._take(self.fail_next, path)

    def take_malformed(self, path: str) -> bool:
        """Whether this response must be truncated JSON."""
        return self._take(self.malformed_json_next, path) is not None

    def take_timeout(self, path: str) -> float:
        """Seconds to stall this request before answering (0 = none)."""
        fault = self._take(self.timeout_next, path)
        return fault.seconds if fault else 0.0

    def take_stall_after_refresh(self) -> float:
        """Seconds to hold back the answer of this committed refresh (0 = none)."""
        fault = self._take(self.stall_after_refresh_next, "/v1/oauth2/token")
        return fault.seconds if fault else 0.0

    def take_drop_after_refresh(self) -> bool:
        """Whether this committed refresh must lose its response."""
        with self._lock:
            if self.drop_after_refresh_next <= 0:
                return False
            self.drop_after_refresh_next -= 1
            return True

    def check_organizations(self, organization_ids: list[str]) -> None:
        """Raise the configured failure when a request covers the failing organization."""
        with self._lock:
            fault = self.fail_organization
            if fault is None or fault.organization_id not in organization_ids:
                return
            if fault.count is not None:
                if fault.count <= 0:
                    return
                fault.count -= 1
        self._stats.count("injected_failures")
        raise EmulatorHTTPError(failure_response(fault.status))


class DroppedConnectionResponse(Response):
    """Starts a response and never finishes it: the server then closes the connection."""

    def __init__(self, promised_length: int = 512) -> None:
        super().__init__(status_code=200, media_type="application/json")
        self.headers["content-length"] = str(promised_length)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # Returning here without the body makes uvicorn abort the connection: the client
        # sees a broken response although the server already committed the work.


class StalledResponse(Response):
    """Sends `response` only after `seconds`: the work is already committed (rotated) meanwhile."""

    def __init__(self, response: Response, seconds: float) -> None:
        super().__init__()
        self._response = response
        self._seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(self._seconds)  # async: other requests keep flowing
        await self._response(scope, receive, send)
