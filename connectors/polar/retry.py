"""What to do after a failed attempt: how long to back off, and the error to raise when giving up.

Transient failures (5xx, network errors, timeouts, a 200 with broken JSON) back off exponentially
with full jitter; 429 waits for Polar's `Retry-After`; any other 4xx fails at once with Polar's
own message and what to do about it.
"""

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from connectors.polar.errors import InsufficientScopeError, PolarAPIError

# Polar's token shapes (polar_at_u_..., polar_rt_u_..., polar_ac_..., polar_pat_...): scrubbed
# from anything Polar echoes back, so an error message can never carry one.
_TOKEN_PATTERN = re.compile(r"polar_[a-z]+(?:_[a-z])?_[A-Za-z0-9]+")
_LOCATION_PREFIXES = ("query", "body", "path", "header")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2**n)]."""

    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    random_fraction: Callable[[], float] = random.random

    def delay(self, failed_attempts: int) -> float:
        """The wait before the next attempt, after `failed_attempts` (>= 1) failures."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (failed_attempts - 1))
        return ceiling * self.random_fraction()


def retry_after_seconds(
    response: httpx.Response, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """`Retry-After` as seconds from now, or None if absent/garbled.

    RFC 9110 allows seconds (what Polar sends) or an HTTP date (what a proxy or CDN may send);
    a date in the past means "now" (0 s).
    """
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until_http_date(value, now())
    return seconds if seconds >= 0 else None


def _seconds_until_http_date(value: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; the obsolete forms may lack the zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def polar_message(response: httpx.Response) -> str:
    """Polar's own explanation from an error body (`detail`, validation list, OAuth error)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    message = _message_from_body(body) if isinstance(body, dict) else ""
    if not message:
        message = response.text.strip()[:200] or response.reason_phrase or "no explanation given"
    return _TOKEN_PATTERN.sub("polar_***", message)


def _message_from_body(body: dict[str, Any]) -> str:
    detail = body.get("detail")
    if isinstance(detail, list):
        return "; ".join(_validation_error(item) for item in detail if isinstance(item, dict))
    if isinstance(detail, str) and detail:
        return detail
    description = body.get("error_description")
    error = body.get("error")
    if description:
        return f"{error}: {description}" if error else str(description)
    return str(error or "")


def _validation_error(item: dict[str, Any]) -> str:
    location = [str(part) for part in item.get("loc") or []]
    if location and location[0] in _LOCATION_PREFIXES:
        location = location[1:]
    message = str(item.get("msg") or item.get("type") or "invalid")
    return f"{'.'.join(location)}: {message}" if location else message


def error_for_response(response: httpx.Response) -> PolarAPIError:
    """The error to raise for a non-retryable response: status, Polar's message, what to do."""
    request = response.request
    status = response.status_code
    where = f"{request.method} {request.url.path}"
    hint = _what_to_do(response)
    message = f"Polar answered {status} to {where}: {polar_message(response)}."
    if status == 403 and _is_insufficient_scope(response):
        return InsufficientScopeError(f"{message} {hint}".strip(), scopes=required_scopes(response))
    return PolarAPIError(f"{message} {hint}".strip(), status_code=status)


def _is_insufficient_scope(response: httpx.Response) -> bool:
    challenge = response.headers.get("WWW-Authenticate", "")
    return "insufficient_scope" in challenge or "insufficient_scope" in response.text


def required_scopes(response: httpx.Response) -> tuple[str, ...]:
    """The scopes Polar's `WWW-Authenticate` challenge says the endpoint accepts (maybe none)."""
    needed = re.search(r'scope="([^"]*)"', response.headers.get("WWW-Authenticate", ""))
    return tuple(needed.group(1).split()) if needed else ()


def _what_to_do(response: httpx.Response) -> str:
    status = response.status_code
    if status == 401:
        return "The access token was refused: reconnect with `polar-metrics connect`."
    if status == 403:
        if _is_insufficient_scope(response):
            needed = required_scopes(response)
            scopes = f" ({' '.join(needed)})" if needed else ""
            return (
                f"The token lacks a required scope{scopes}: reconnect with `polar-metrics "
                "connect` and grant the requested scopes."
            )
        return "This account may not access the resource; check the organization and its role."
    if status == 404:
        return (
            "Check POLAR_ENVIRONMENT (production/sandbox/emulator URL) and the ids; Polar also "
            "answers 404 to an unsupported Polar-Version."
        )
    if status == 422:
        return "Polar rejected a parameter named above; correct it and retry."
    if 300 <= status < 400:
        return "Polar redirected (the client expects canonical paths); report this as a bug."
    return ""
