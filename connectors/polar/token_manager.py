"""Single-flight token refresh of one connection.

Polar rotates the refresh token on every use and kills the previous access token at once. So a
refresh happens under the cross-process refresh lock, and under that lock the store is re-read
first: if another thread or process already rotated, its token is used and no call is made.
Otherwise the exchange happens and the new pair is committed before the lock is released.

Transient failures of the exchange are retried under the lock, never replaying a rotated token
more than once: a 429 was never processed (Polar's limiter runs before the OAuth server), so it
is retried after Retry-After, at most twice; a 5xx, timeout or dropped connection may come after
Polar rotated, so it is retried once, and an `invalid_grant` to that retry means the chain is lost.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.polar.crypto import KeyRing
from connectors.polar.errors import (
    ConfigurationError,
    ConnectionNotFoundError,
    NeedsReauthError,
    OAuthError,
    RateLimitedError,
    StaleGenerationError,
)
from connectors.polar.oauth import (
    RETRY_AFTER_CAP_SECONDS,
    InvalidGrantError,
    OAuthClient,
    TokenCallInterrupted,
    TokenRateLimited,
    TokenResponse,
    TokenServerError,
)
from connectors.polar.retry import Backoff
from connectors.polar.single_flight import LOCK_TIMEOUT_SECONDS, refresh_lock
from connectors.polar.token_store import ACTIVE, NEEDS_REAUTH, StoredConnection, TokenStore

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(seconds=60)  # refresh this long before Polar's expiry
ACCESS_FIELD = "access_token"
REFRESH_FIELD = "refresh_token"
RATE_LIMIT_RETRIES = 2  # a 429 was not processed: safe to retry, but not forever
NO_RETRY_AFTER_WAIT_SECONDS = 1.0  # a 429 without Retry-After (not Polar's, a proxy's)
SERVER_ERROR_BACKOFF = Backoff(base_seconds=1.0)  # one short jittered wait before a 5xx retry
# Waiters must outlast a holder that waits out every allowed rate-limit window.
REFRESH_LOCK_WAIT_SECONDS = LOCK_TIMEOUT_SECONDS + RATE_LIMIT_RETRIES * RETRY_AFTER_CAP_SECONDS


@dataclass(frozen=True)
class AccessState:
    """The access token a process currently uses, with its expiry."""

    token: str = field(repr=False)
    expires_at: datetime | None

    def expiring(self, now: datetime) -> bool:
        """True when the token is within the refresh margin of its expiry."""
        return self.expires_at is not None and self.expires_at - REFRESH_MARGIN <= now


def reauth_message(name: str) -> str:
    """The actionable text shown when Polar no longer accepts the connection's refresh token."""
    return (
        f"Polar no longer accepts the connection {name!r} (its refresh token was revoked or "
        f"already used); reconnect with `polar-metrics connect --connection {name}`."
    )


def encrypt_tokens(
    keyring: KeyRing, name: str, tokens: TokenResponse, now: datetime
) -> dict[str, object]:
    """The row fields that store a token answer: ciphertexts, expiry and scopes."""
    return {
        "access_token_ct": keyring.encrypt(
            tokens.access_token, connection=name, field_name=ACCESS_FIELD
        ),
        "refresh_token_ct": keyring.encrypt(
            tokens.refresh_token, connection=name, field_name=REFRESH_FIELD
        ),
        "access_token_expires_at": now + timedelta(seconds=tokens.expires_in),
    }


class TokenManager:
    """The access token of one connection in this process, refreshed single-flight."""

    def __init__(
        self,
        name: str,
        store: TokenStore,
        keyring: KeyRing,
        oauth_factory: Callable[[], OAuthClient],
        check_row: Callable[[StoredConnection], None],
    ) -> None:
        self.name = name
        self._store = store
        self._keyring = keyring
        self._oauth_factory = oauth_factory
        self._check_row = check_row
        self._cache_lock = threading.RLock()  # usable_row may run under it
        self._current: AccessState | None = None
        self._needs_reauth = False
        self._rate_limited_until = 0.0  # monotonic; no exchange before it (set after giving up)

    def __repr__(self) -> str:
        return f"TokenManager(connection={self.name!r}, token=***)"

    def token_for_request(self) -> str:
        """A usable access token: cached, or refreshed when within the margin of expiry."""
        with self._cache_lock:
            if self._needs_reauth:
                raise NeedsReauthError(reauth_message(self.name))
            if self._current is None:
                self._current = self._load()
            current = self._current
        if current.expiring(datetime.now(UTC)):
            current = self.refresh(stale_token=current.token)
        return current.token

    def after_unauthorized(self, sent_token: str) -> str | None:
        """A newer token to retry with after a 401, or None when there is none to try."""
        state = self.refresh(stale_token=sent_token)
        return state.token if state.token != sent_token else None

    def refresh(self, stale_token: str) -> AccessState:
        """The winner's token if the store moved past `stale_token`, else one exchange."""
        with refresh_lock(self._store.path, REFRESH_LOCK_WAIT_SECONDS):
            row = self.usable_row()
            stored = self._decrypt_access(row)
            if stored.token != stale_token:
                logger.info("connection %r: reusing the token another refresher stored", self.name)
                return self._remember(stored)
            if time.monotonic() < self._rate_limited_until:
                # This connection just gave up on Polar's rate limit: fail at once.
                raise self._rate_limited_error()
            tokens = self._exchange(row)
            now = datetime.now(UTC)
            # Durable commit BEFORE the lock is released and before the token is used.
            self._commit(row, encrypt_tokens(self._keyring, self.name, tokens, now))
            logger.info("connection %r: access token refreshed", self.name)
            return self._remember(
                AccessState(tokens.access_token, now + timedelta(seconds=tokens.expires_in))
            )

    def _exchange(self, row: StoredConnection) -> TokenResponse:
        refresh_token = self._keyring.decrypt(
            row.refresh_token_ct or "", connection=self.name, field_name=REFRESH_FIELD
        )
        try:
            oauth = self._oauth_factory()
        except ConfigurationError as error:
            raise ConfigurationError(
                f"connection {self.name!r} needs a token refresh, which needs the client id and "
                f"secret of the OAuth app it was connected with; the stored tokens are unchanged. "
                f"{error}"
            ) from None
        try:
            return self._exchange_with_retries(oauth, refresh_token)
        except InvalidGrantError:
            self._mark_needs_reauth(row)
            raise NeedsReauthError(reauth_message(self.name)) from None

    def _exchange_with_retries(self, oauth: OAuthClient, refresh_token: str) -> TokenResponse:
        """The new pair, after at most 2 waits for a 429 and 1 retry after a 5xx/interruption."""
        rate_limit_waits = 0
        interrupted = False
        while True:
            try:
                return oauth.refresh(refresh_token)
            except TokenRateLimited as limited:
                self._wait_out_rate_limit(limited, rate_limit_waits)
                rate_limit_waits += 1
            except TokenCallInterrupted as error:
                if interrupted:
                    raise OAuthError(
                        f"{str(error).rstrip('.')}; it failed twice, the stored tokens are "
                        "unchanged. Polar may be down or unreachable: check "
                        "https://status.polar.sh and retry later."
                    ) from None
                # Polar may have rotated before failing; one retry tells: it either succeeds
                # or answers invalid_grant (then the chain is lost: reconnect).
                interrupted = True
                logger.warning("connection %r: %s; retrying once", self.name, error)
                if isinstance(error, TokenServerError):
                    time.sleep(SERVER_ERROR_BACKOFF.delay(1))

    def _wait_out_rate_limit(self, limited: TokenRateLimited, waits_so_far: int) -> None:
        """Sleep for Polar's Retry-After; raise when the retries are used up or it is too long."""
        wait = _rate_limit_wait(limited)
        if wait is None or waits_so_far >= RATE_LIMIT_RETRIES:
            # Remember it, so other threads of this process do not each wait out the limit again.
            self._rate_limited_until = time.monotonic() + (
                RETRY_AFTER_CAP_SECONDS if wait is None else wait
            )
            raise self._rate_limited_error(limited.retry_after)
        logger.warning("connection %r: token call rate-limited, retry in %.0f s", self.name, wait)
        time.sleep(wait)

    def _rate_limited_error(self, retry_after: float | None = None) -> RateLimitedError:
        when = f"after {retry_after:.0f} s" if retry_after else "in a minute"
        return RateLimitedError(
            f"Polar kept rate-limiting (HTTP 429) the token refresh of connection {self.name!r}; "
            f"the stored tokens are unchanged and still valid. Retry {when} (the token "
            "endpoint's limit counts every request from this IP address).",
            status_code=429,
        )

    def _commit(
        self,
        row: StoredConnection,
        changes: dict[str, object],
        metadata_updates: dict[str, object] | None = None,
    ) -> None:
        # Only refresh-lock holders change tokens, but metadata writers (organization discovery)
        # do not take the lock: if one bumped the generation meanwhile, apply the token change
        # to the newer row instead of losing a pair Polar has already rotated to.
        for _ in range(10):
            metadata = {**row.metadata, **(metadata_updates or {})}
            try:
                self._store.update(row.with_changes(**changes, metadata=metadata))
                return
            except StaleGenerationError:
                fresh = self._store.read(self.name)
                if fresh is None or fresh.refresh_token_ct != row.refresh_token_ct:
                    raise
                row = fresh
        raise StaleGenerationError(f"connection {self.name!r} kept changing; retry.")

    def _mark_needs_reauth(self, row: StoredConnection) -> None:
        # The dead tokens are removed: they can never work again and should not sit on disk.
        self._commit(
            row,
            {
                "status": NEEDS_REAUTH,
                "access_token_ct": None,
                "refresh_token_ct": None,
                "access_token_expires_at": None,
            },
            {"needs_reauth_reason": reauth_message(self.name)},
        )
        with self._cache_lock:
            self._needs_reauth = True
            self._current = None
        logger.warning("connection %r: refresh token refused; marked needs_reauth", self.name)

    def verify_stored(self) -> None:
        """Raise unless the row is active and both ciphertexts decrypt (no network call)."""
        row = self.usable_row()
        self._decrypt_access(row)
        self._keyring.decrypt(
            row.refresh_token_ct or "", connection=self.name, field_name=REFRESH_FIELD
        )

    def _load(self) -> AccessState:
        return self._decrypt_access(self.usable_row())

    def usable_row(self) -> StoredConnection:
        """The stored row if it is active; else the error that says what to do."""
        row = self._store.read(self.name)
        if row is None or (row.status == ACTIVE and not row.refresh_token_ct):
            raise ConnectionNotFoundError(
                f"no connection named {self.name!r}: run `polar-metrics connect --connection "
                f"{self.name}`."
            )
        if row.status == NEEDS_REAUTH:
            with self._cache_lock:
                self._needs_reauth = True
            raise NeedsReauthError(reauth_message(self.name))
        if row.status != ACTIVE:
            raise ConnectionNotFoundError(
                f"connection {self.name!r} is disconnected; run `polar-metrics connect "
                f"--connection {self.name}` to use it again."
            )
        self._check_row(row)
        return row

    def _decrypt_access(self, row: StoredConnection) -> AccessState:
        token = self._keyring.decrypt(
            row.access_token_ct or "", connection=self.name, field_name=ACCESS_FIELD
        )
        return AccessState(token, row.access_token_expires_at)

    def _remember(self, state: AccessState) -> AccessState:
        with self._cache_lock:
            self._current = state
        return state


def _rate_limit_wait(limited: TokenRateLimited) -> float | None:
    """Seconds to wait before retrying a 429; None when Polar asks for longer than the cap."""
    if limited.retry_after is None:
        return NO_RETRY_AFTER_WAIT_SECONDS
    return limited.retry_after if limited.retry_after <= RETRY_AFTER_CAP_SECONDS else None
