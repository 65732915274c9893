"""`PolarClient`: organizations (all pages), metrics and metrics limits from Polar's API.

One client is shared by a thread pool of concurrent metrics calls: httpx.Client is thread-safe,
the connection pool is sized for the pool, and the request budget is shared by all threads.
Authentication is any `httpx.Auth` (the OAuth connection refreshes tokens inside it).
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from importlib import metadata
from typing import Any

import httpx
import orjson

from connectors.polar.config import PolarSettings
from connectors.polar.errors import PolarAPIError, RateLimitedError
from connectors.polar.rate_budget import RequestBudget
from connectors.polar.records import MetricsResponse, Organization
from connectors.polar.retry import Backoff, error_for_response, retry_after_seconds
from connectors.polar.shared_budget import SharedRequestBudget, shared_budget_for
from connectors.polar.tls import tls_context

logger = logging.getLogger(__name__)

# Polar's metrics calls can take ~15 s (polar issue #7720); the SDK's 5 s default is too short.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Enough connections for POLAR_METRICS_CONCURRENCY (at most 64) so threads never queue for one.
POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=64)
PAGE_LIMIT = 100  # Polar clamps larger values to 100 anyway
# A Retry-After longer than this is a block, not a window: fail with it instead of hanging.
MAX_RETRY_AFTER_SECONDS = 120.0

QueryParams = list[tuple[str, str]]


def _user_agent() -> str:
    try:
        version = metadata.version("polar-metrics")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"polar-metrics/{version} (+httpx {httpx.__version__})"


class _Transient(Exception):
    """A failed attempt worth retrying; `reason` is safe to log (no token, no header)."""

    def __init__(
        self, reason: str, status_code: int | None = None, *, rate_limited: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.rate_limited = rate_limited


class PolarClient:
    """Typed access to the Polar API endpoints this product reads."""

    def __init__(
        self,
        api_base_url: str,
        auth: httpx.Auth | None,
        *,
        rate_limit_per_minute: int | None = None,
        timeout: httpx.Timeout | None = None,
        max_attempts: int = 5,
        transport: httpx.BaseTransport | None = None,
        polar_version: str = "2026-04",
        sleep: Callable[[float], None] = time.sleep,
        budget: RequestBudget | SharedRequestBudget | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        # Given: the deployment's shared budget (`for_connection`); else this client's own.
        self.budget = budget or RequestBudget(rate_limit_per_minute, sleep=sleep)
        self.backoff = Backoff()
        self._sleep = sleep
        # Requests sent per path, retries included (each one drew from the budget).
        self._sent: Counter[str] = Counter()
        self._sent_lock = threading.Lock()
        self._sent_here = threading.local()  # the same, per thread (one organization's sync)
        self._http = httpx.Client(
            base_url=api_base_url.rstrip("/"),
            auth=auth,
            timeout=timeout or DEFAULT_TIMEOUT,
            limits=POOL_LIMITS,
            transport=transport,
            verify=tls_context(),
            follow_redirects=False,  # canonical paths only; a redirect is a bug to surface
            headers={
                "Polar-Version": polar_version,
                "User-Agent": _user_agent(),
                "Accept": "application/json",
            },
        )

    @classmethod
    def for_connection(
        cls, settings: PolarSettings, connection_name: str, auth: httpx.Auth, **options: Any
    ) -> "PolarClient":
        """A client of a stored connection, drawing on the request budget every process of
        this deployment shares for the OAuth app (see shared_budget.py)."""
        budget = shared_budget_for(settings, connection_name)
        return cls(settings.environment.api_base_url, auth, budget=budget, **options)

    def list_organizations(self) -> list[Organization]:
        """Every organization the token can see, across all pages, in Polar's order."""
        organizations: dict[str, Organization] = {}
        page = 1
        while True:
            body = self._get_json(
                "/v1/organizations/", [("page", str(page)), ("limit", str(PAGE_LIMIT))]
            )
            items = body.get("items") or []
            for item in items:
                organization = Organization.from_api(item)
                # An organization created between two page reads shifts the offsets: keep one.
                organizations.setdefault(organization.id, organization)
            max_page = int((body.get("pagination") or {}).get("max_page") or 0)
            if not items or page >= max_page:
                return list(organizations.values())
            page += 1

    def get_metrics(
        self,
        *,
        start_date: date,
        end_date: date,
        interval: str = "day",
        timezone: str = "UTC",
        organization_ids: Sequence[str] = (),
        metrics: Sequence[str] | None = None,
    ) -> MetricsResponse:
        """One metrics call: periods, totals, definitions (several org ids summed by Polar)."""
        params: QueryParams = [
            ("start_date", start_date.isoformat()),
            ("end_date", end_date.isoformat()),
            ("interval", interval),
            ("timezone", timezone),
        ]
        params += [("organization_id", org_id) for org_id in organization_ids]
        params += [("metrics", slug) for slug in metrics or ()]
        response, body = self._request("/v1/metrics/", params)
        return MetricsResponse.from_api(body, raw_body=response.text)

    def get_metrics_limits(self) -> dict[str, Any]:
        """Polar's advertised date limits: `min_date` and per-interval `min_days`/`max_days`."""
        return self._get_json("/v1/metrics/limits", [])

    def get_json(self, path: str, params: QueryParams) -> dict[str, Any]:
        """GET a JSON object from `path` with the retries, timeouts and budget of every call."""
        return self._request(path, params)[1]

    def requests_sent(self, path: str, *, this_thread: bool = False) -> int:
        """Requests (retries included) sent to `path` so far, by every thread or this one."""
        if this_thread:
            return int(self._thread_counter()[path])
        with self._sent_lock:
            return self._sent[path]

    def _thread_counter(self) -> Counter[str]:
        counter = getattr(self._sent_here, "counter", None)
        if counter is None:
            counter = self._sent_here.counter = Counter()
        return counter

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "PolarClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _get_json(self, path: str, params: QueryParams) -> dict[str, Any]:
        return self._request(path, params)[1]

    def _request(self, path: str, params: QueryParams) -> tuple[httpx.Response, dict[str, Any]]:
        """GET `path` and its JSON body, retrying transient failures and 429 within the bound."""
        last_failure = _Transient("no attempt made")
        for attempt in range(1, self.max_attempts + 1):
            self.budget.acquire()
            with self._sent_lock:
                self._sent[path] += 1
            self._thread_counter()[path] += 1
            try:
                return self._attempt(path, params)
            except _Transient as transient:
                last_failure = transient
            if attempt < self.max_attempts:
                self._wait_before_retry(path, attempt, last_failure)
        raise self._give_up(path, last_failure)

    def _attempt(self, path: str, params: QueryParams) -> tuple[httpx.Response, dict[str, Any]]:
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as error:
            raise _Transient(f"timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise _Transient(f"network error ({type(error).__name__})") from None
        except httpx.RequestError as error:  # e.g. a garbled gzip body (DecodingError)
            raise _Transient(f"unreadable response ({type(error).__name__})") from None
        status = response.status_code
        if status == 429:
            self._honour_retry_after(response)
            raise _Transient("rate limited (429)", status, rate_limited=True)
        if status >= 500 or status == 408:
            raise _Transient(f"server error ({status})", status)
        if status != 200:
            raise error_for_response(response)
        return response, _json_object(response)

    def _honour_retry_after(self, response: httpx.Response) -> None:
        retry_after = retry_after_seconds(response)
        if retry_after is None:
            return  # no hint: the ordinary backoff applies
        if retry_after > MAX_RETRY_AFTER_SECONDS:
            raise RateLimitedError(
                f"Polar rate-limited {response.request.url.path} and asks to wait "
                f"{retry_after:.0f} s: try again later.",
                status_code=429,
            )
        # Every thread of this client waits, not just this one: the bucket is shared.
        self.budget.pause(retry_after)

    def _wait_before_retry(self, path: str, attempt: int, failure: _Transient) -> None:
        if failure.rate_limited and self.budget.paused:
            logger.warning("GET %s %s; waiting for Retry-After", path, failure.reason)
            return  # the budget's pause is the wait, taken by the next acquire()
        delay = self.backoff.delay(attempt)
        logger.warning("GET %s %s; retry %d in %.2f s", path, failure.reason, attempt, delay)
        self._sleep(delay)

    def _give_up(self, path: str, failure: _Transient) -> PolarAPIError:
        attempts = f"{self.max_attempts} attempt{'s' if self.max_attempts > 1 else ''}"
        if failure.rate_limited:
            return RateLimitedError(
                f"Polar kept answering 429 (rate limited) to GET {path} after {attempts}. Polar "
                "counts requests per OAuth app across every process using it: lower "
                "POLAR_RATE_LIMIT_PER_MINUTE or POLAR_METRICS_CONCURRENCY, or retry in a minute.",
                status_code=429,
            )
        url = f"{str(self._http.base_url).rstrip('/')}{path}"  # never the query or a token
        hint = (
            " If this is not the Polar you meant, check POLAR_ENVIRONMENT."
            if failure.status_code is None
            else ""
        )
        return PolarAPIError(
            f"GET {url} failed after {attempts}; the last one: {failure.reason}. Polar may be "
            f"down or slow: check https://status.polar.sh and retry later.{hint}",
            status_code=failure.status_code,
        )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object; a truncated or garbled body is worth another try."""
    try:
        body = orjson.loads(response.content)  # an orders page is ~450 KB: 3x json.loads
    except ValueError:
        body = None
    if not isinstance(body, dict):
        status = response.status_code
        raise _Transient(f"malformed JSON in a {status} response", status)
    return body
