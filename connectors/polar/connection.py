"""`PolarConnection`: a named, stored Polar connection and the authenticated access it gives.

Also the life cycle around it: `connect` (browser authorization + storage + organization
discovery), `disconnect` (revoke + delete the ciphertexts) and `rotate_keys`.
"""

from collections.abc import Callable
from datetime import datetime

import httpx

from connectors.polar.bearer_auth import PolarBearerAuth
from connectors.polar.client import PolarClient
from connectors.polar.config import DEFAULT_CONNECTION, PolarSettings
from connectors.polar.connect_flow import authorize_in_browser
from connectors.polar.connection_admin import (
    REMOVE_APP_HINT,
    DisconnectOutcome,
    disconnect,
    rotate_keys,
)
from connectors.polar.crypto import KeyRing
from connectors.polar.errors import (
    ConfigurationError,
    ConnectionNotFoundError,
    PolarError,
    StaleGenerationError,
    TokenStoreError,
)
from connectors.polar.oauth import OAuthClient
from connectors.polar.records import Organization
from connectors.polar.single_flight import refresh_lock
from connectors.polar.token_exchange import REFRESH_LOCK_WAIT_SECONDS
from connectors.polar.token_manager import REFRESH_FIELD, TokenManager
from connectors.polar.token_store import StoredConnection, TokenStore

__all__ = [
    "REMOVE_APP_HINT",
    "DisconnectOutcome",
    "PolarConnection",
    "connect",
    "disconnect",
    "rotate_keys",
]


class PolarConnection:
    """One stored connection: its state, organizations and a refreshing `httpx.Auth`."""

    def __init__(self, settings: PolarSettings, name: str, keyring: KeyRing) -> None:
        self.name = name
        self._settings = settings
        self._keyring = keyring
        self._store = TokenStore(settings.token_store_path)
        self._manager = TokenManager(
            name, self._store, keyring, lambda: OAuthClient.for_settings(settings), self._check_row
        )
        self._auth = PolarBearerAuth(self._manager)

    def __repr__(self) -> str:
        return f"PolarConnection(name={self.name!r}, store={str(self._store.path)!r}, tokens=***)"

    @classmethod
    def open(cls, settings: PolarSettings, name: str = DEFAULT_CONNECTION) -> "PolarConnection":
        """The stored connection `name`; ConnectionNotFoundError if there is none."""
        keyring = KeyRing.parse(settings.token_keys)
        connection = cls(settings, name, keyring)
        connection._row()
        return connection

    @property
    def status(self) -> str:
        """`active`, `needs_reauth` or `inactive`, as stored right now."""
        return self._row().status

    def http_auth(self) -> httpx.Auth:
        """Bearer auth that refreshes single-flight before expiry and on a 401."""
        return self._auth

    def ensure_usable(self) -> None:
        """Return if the connection can make calls; else raise an error that says what to do."""
        self._manager.verify_stored()

    def organizations(self) -> list[Organization]:
        """The organizations discovered at the last refresh (all statuses)."""
        items = self._row().metadata.get("organizations") or []
        return [Organization.from_api(item) for item in items]

    def save_organizations(self, organizations: list[Organization]) -> None:
        """Store the discovered organizations in the connection metadata."""
        items = [organization.to_dict() for organization in organizations]
        for _ in range(5):  # a concurrent refresh bumps the generation: re-read and retry
            row = self._row()
            try:
                self._store.update(
                    row.with_changes(metadata={**row.metadata, "organizations": items})
                )
                return
            except StaleGenerationError:
                continue
        raise StaleGenerationError(f"connection {self.name!r} kept changing; retry.")

    def discover_organizations(self) -> list[Organization]:
        """Every organization the connection sees (all pages), saved in the metadata.

        The listing itself is `PolarClient.list_organizations`, the one place that reads them.
        """
        with PolarClient.for_connection(self._settings, self.name, self._auth) as client:
            organizations = client.list_organizations()
        self.save_organizations(organizations)
        return organizations

    def access_token_expires_at(self) -> datetime | None:
        """When the stored access token expires (None when there is none)."""
        return self._row().access_token_expires_at

    def environment_name(self) -> str:
        """`production`, `sandbox` or `emulator`: where the connection was made."""
        return self._row().environment

    def granted_scopes(self) -> tuple[str, ...]:
        """The scopes Polar granted."""
        return self._row().granted_scopes

    def needs_reauth_reason(self) -> str | None:
        """Why the connection needs a reconnect, when it does."""
        return self._row().metadata.get("needs_reauth_reason")

    def _row(self) -> StoredConnection:
        row = self._store.read(self.name)
        if row is None:
            raise ConnectionNotFoundError(
                f"no connection named {self.name!r} in {self._store.path}: run "
                f"`polar-metrics connect --connection {self.name}`."
            )
        return row

    def _check_row(self, row: StoredConnection) -> None:
        stored_api = row.metadata.get("api_base_url")
        if stored_api and stored_api != self._settings.environment.api_base_url:
            raise ConfigurationError(
                f"connection {self.name!r} was made against {stored_api}, but POLAR_ENVIRONMENT "
                f"points at {self._settings.environment.api_base_url}; tokens do not carry over. "
                "Set POLAR_ENVIRONMENT back, or connect under another --connection name."
            )


def connect(
    settings: PolarSettings,
    name: str = DEFAULT_CONNECTION,
    *,
    open_browser: bool = True,
    port: int = 8976,
    on_url: Callable[[str], None] | None = None,
    timeout: float = 300,
    login_hint: str | None = None,
) -> PolarConnection:
    """Authorize in the browser, store the tokens encrypted, discover the organizations."""
    keyring = KeyRing.parse(settings.token_keys)
    oauth = OAuthClient.for_settings(settings)
    row = authorize_in_browser(
        oauth,
        keyring,
        name,
        open_browser=open_browser,
        port=port,
        on_url=on_url,
        timeout=timeout,
        login_hint=login_hint,
    )
    store = TokenStore(settings.token_store_path)
    try:
        with refresh_lock(store.path, REFRESH_LOCK_WAIT_SECONDS):
            store.create(row)
    except TokenStoreError as error:
        # The user approved: never leave live tokens that nothing holds.
        revoked = revoke_unsaved(oauth, keyring, row)
        raise TokenStoreError(f"{error} The approval could not be stored; {revoked}") from None
    store.scrub()  # the previous row's ciphertexts (a reconnect) leave the write-ahead log
    connection = PolarConnection(settings, name, keyring)
    connection.discover_organizations()
    return connection


def revoke_unsaved(oauth: OAuthClient, keyring: KeyRing, row: StoredConnection) -> str:
    """Revoke the tokens of an approval that could not be stored; says what happened."""
    refresh = keyring.decrypt(
        row.refresh_token_ct or "", connection=row.name, field_name=REFRESH_FIELD
    )
    try:
        oauth.revoke(refresh, "refresh_token")
    except PolarError as error:
        return (
            f"revoking its tokens at Polar failed too ({error}): revoke the app at "
            "https://polar.sh/settings (Developers > Authorized applications), then connect again."
        )
    return "its tokens were revoked at Polar. Run `polar-metrics connect` again."
