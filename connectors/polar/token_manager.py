"""Single-flight token refresh of one connection.

Polar rotates the refresh token on every use and kills the previous access token at once. So a
refresh happens under the cross-process refresh lock, and under that lock the store is re-read
first: if another thread or process already rotated, its token is used and no call is made.
Otherwise the exchange happens (with its retries: `token_exchange`) and the new pair is
committed before the lock is released, with SIGINT/SIGTERM held back until it is (`interrupts`)
and the commit in a `finally`, so an interrupt cannot lose a pair Polar has already rotated to.
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
    StaleGenerationError,
)
from connectors.polar.interrupts import interrupts_deferred
from connectors.polar.oauth import (
    InvalidGrantError,
    MalformedTokenAnswer,
    OAuthClient,
    TokenResponse,
)
from connectors.polar.single_flight import refresh_lock
from connectors.polar.token_exchange import (
    REFRESH_LOCK_WAIT_SECONDS,
    RateLimitGiveUp,
    RefreshExchange,
    rate_limited_error,
)
from connectors.polar.token_store import ACTIVE, NEEDS_REAUTH, StoredConnection, TokenStore

logger = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(seconds=60)  # refresh this long before Polar's expiry
ACCESS_FIELD = "access_token"
REFRESH_FIELD = "refresh_token"


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
                raise rate_limited_error(self.name)
            with interrupts_deferred() as deferred:
                received: TokenResponse | None = None
                now = datetime.now(UTC)
                try:
                    exchange = RefreshExchange(self.name, self._oauth(), deferred)
                    received = self._exchange(row, exchange)
                finally:
                    # In a `finally`: whatever interrupts us now, Polar has rotated to this pair.
                    if received is not None:
                        now = datetime.now(UTC)
                        self._commit(row, encrypt_tokens(self._keyring, self.name, received, now))
            logger.info("connection %r: access token refreshed", self.name)
            return self._remember(
                AccessState(received.access_token, now + timedelta(seconds=received.expires_in))
            )

    def _oauth(self) -> OAuthClient:
        try:
            return self._oauth_factory()
        except ConfigurationError as error:
            raise ConfigurationError(
                f"connection {self.name!r} needs a token refresh, which needs the client id and "
                f"secret of the OAuth app it was connected with; the stored tokens are unchanged. "
                f"{error}"
            ) from None

    def _exchange(self, row: StoredConnection, exchange: RefreshExchange) -> TokenResponse:
        refresh_token = self._keyring.decrypt(
            row.refresh_token_ct or "", connection=self.name, field_name=REFRESH_FIELD
        )
        try:
            return exchange.run(refresh_token)
        except InvalidGrantError:
            self._mark_needs_reauth(row, reauth_message(self.name))
            raise NeedsReauthError(reauth_message(self.name)) from None
        except RateLimitGiveUp as limited:
            # Remembered, so other threads of this process do not each wait out the limit again.
            self._rate_limited_until = time.monotonic() + limited.block_seconds
            raise
        except MalformedTokenAnswer as malformed:
            raise self._keep_what_can_be_kept(row, malformed) from None

    def _keep_what_can_be_kept(
        self, row: StoredConnection, malformed: MalformedTokenAnswer
    ) -> OAuthError:
        """Store the rotated refresh token of a broken 200 if it is readable; the error to raise."""
        if malformed.refresh_token is None:
            reason = (
                f"{malformed}; Polar has already rotated the refresh token of connection "
                f"{self.name!r} and its answer did not carry the new one, so the chain is lost: "
                f"reconnect with `polar-metrics connect --connection {self.name}`."
            )
            self._mark_needs_reauth(row, reason)
            return NeedsReauthError(reason)
        changes: dict[str, object] = {
            "refresh_token_ct": self._keyring.encrypt(
                malformed.refresh_token, connection=self.name, field_name=REFRESH_FIELD
            ),
            "access_token_expires_at": datetime.now(UTC) - REFRESH_MARGIN,  # refresh at next use
        }
        if malformed.access_token is not None:
            changes["access_token_ct"] = self._keyring.encrypt(
                malformed.access_token, connection=self.name, field_name=ACCESS_FIELD
            )
        self._commit(row, changes)
        with self._cache_lock:
            self._current = None
        return OAuthError(
            f"{malformed}. The new refresh token it carried is stored, so connection "
            f"{self.name!r} stays usable: run the command again (the next call refreshes)."
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

    def _mark_needs_reauth(self, row: StoredConnection, reason: str) -> None:
        # The dead tokens are removed: they can never work again and should not sit on disk.
        self._commit(
            row,
            {
                "status": NEEDS_REAUTH,
                "access_token_ct": None,
                "refresh_token_ct": None,
                "access_token_expires_at": None,
            },
            {"needs_reauth_reason": reason},
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
