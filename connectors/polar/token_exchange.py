"""One refresh-token exchange with its bounded retries, and how long it can hold the lock.

A 429 was never processed (Polar's limiter runs before the OAuth server), so it is retried after
Retry-After, at most twice; a 5xx, timeout or dropped connection may come after Polar rotated, so
it is retried once, and an `invalid_grant` to that retry means the chain is lost. A signal that
arrived meanwhile (see `interrupts`) stops the waiting for a 429 at once: nothing was rotated.
"""

import logging
import time
from dataclasses import dataclass

from connectors.polar.errors import OAuthError, RateLimitedError
from connectors.polar.interrupts import DeferredSignals
from connectors.polar.oauth import (
    RETRY_AFTER_CAP_SECONDS,
    TOKEN_TIMEOUT,
    OAuthClient,
    TokenCallInterrupted,
    TokenRateLimited,
    TokenResponse,
    TokenServerError,
)
from connectors.polar.retry import Backoff

logger = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 2  # a 429 was not processed: safe to retry, but not forever
INTERRUPTED_RETRIES = 1  # a 5xx/timeout may have rotated: one retry tells
NO_RETRY_AFTER_WAIT_SECONDS = 1.0  # a 429 without Retry-After (not Polar's, a proxy's)
SERVER_ERROR_BACKOFF = Backoff(base_seconds=1.0)  # one short jittered wait before a 5xx retry
STORE_COMMIT_SECONDS = 30.0  # the token store's SQLite busy timeout

# The longest a refresher legitimately holds the refresh lock: every attempt running into all
# of its timeouts (connect, then sending, then reading), every allowed wait, and the commit.
_LONGEST_CALL_SECONDS = float(TOKEN_TIMEOUT.connect or 0) + 2 * float(TOKEN_TIMEOUT.read or 0)
LONGEST_HOLD_SECONDS = (
    (1 + RATE_LIMIT_RETRIES + INTERRUPTED_RETRIES) * _LONGEST_CALL_SECONDS
    + RATE_LIMIT_RETRIES * RETRY_AFTER_CAP_SECONDS
    + INTERRUPTED_RETRIES * SERVER_ERROR_BACKOFF.base_seconds
    + STORE_COMMIT_SECONDS
)
# Waiters (other refreshers, connect, disconnect, key rotation) outlast any such holder.
REFRESH_LOCK_WAIT_SECONDS = LONGEST_HOLD_SECONDS + 60.0


class RateLimitGiveUp(RateLimitedError):
    """Polar kept answering 429; `block_seconds` is how long no further exchange should start."""

    def __init__(self, message: str, block_seconds: float) -> None:
        super().__init__(message, status_code=429)
        self.block_seconds = block_seconds


def rate_limited_error(name: str, retry_after: float | None = None) -> RateLimitedError:
    """The error that says the refresh gave up on Polar's rate limit, tokens unchanged."""
    when = f"after {retry_after:.0f} s" if retry_after else "in a minute"
    return RateLimitedError(
        f"Polar kept rate-limiting (HTTP 429) the token refresh of connection {name!r}; "
        f"the stored tokens are unchanged and still valid. Retry {when} (the token "
        "endpoint's limit counts every request from this IP address).",
        status_code=429,
    )


@dataclass
class RefreshExchange:
    """The exchange of one refresh token of connection `name`, with its retries."""

    name: str
    oauth: OAuthClient
    deferred: DeferredSignals

    def run(self, refresh_token: str) -> TokenResponse:
        """The new pair, after at most 2 waits for a 429 and 1 retry after a 5xx/interruption."""
        rate_limit_waits = 0
        interruptions = 0
        while True:
            try:
                return self.oauth.refresh(refresh_token)
            except TokenRateLimited as limited:
                self._wait_out_rate_limit(limited, rate_limit_waits)
                rate_limit_waits += 1
            except TokenCallInterrupted as error:
                if interruptions >= INTERRUPTED_RETRIES:
                    raise OAuthError(
                        f"{str(error).rstrip('.')}; it failed twice, the stored tokens are "
                        "unchanged. Polar may be down or unreachable: check "
                        "https://status.polar.sh and retry later."
                    ) from None
                # Polar may have rotated before failing; one retry tells: it either succeeds
                # or answers invalid_grant (then the chain is lost: reconnect).
                interruptions += 1
                logger.warning("connection %r: %s; retrying once", self.name, error)
                if isinstance(error, TokenServerError):
                    self._sleep(SERVER_ERROR_BACKOFF.delay(1))

    def _wait_out_rate_limit(self, limited: TokenRateLimited, waits_so_far: int) -> None:
        """Sleep for Polar's Retry-After; raise when the retries are used up or it is too long."""
        wait = _rate_limit_wait(limited)
        if wait is not None and waits_so_far < RATE_LIMIT_RETRIES:
            logger.warning(
                "connection %r: token call rate-limited, retry in %.0f s", self.name, wait
            )
            self._sleep(wait)
            if not self.deferred.pending:
                return
        error = rate_limited_error(self.name, limited.retry_after)
        raise RateLimitGiveUp(str(error), RETRY_AFTER_CAP_SECONDS if wait is None else wait)

    def _sleep(self, seconds: float) -> None:
        """Sleep, but end early once a deferred signal arrived (the process is to stop)."""
        deadline = time.monotonic() + seconds
        while not self.deferred.pending and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))


def _rate_limit_wait(limited: TokenRateLimited) -> float | None:
    """Seconds to wait before retrying a 429; None when Polar asks for longer than the cap."""
    if limited.retry_after is None:
        return NO_RETRY_AFTER_WAIT_SECONDS
    return limited.retry_after if limited.retry_after <= RETRY_AFTER_CAP_SECONDS else None
