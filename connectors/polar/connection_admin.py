"""Administration of stored connections: disconnect (revoke + forget) and key rotation."""

import logging
from dataclasses import dataclass

from connectors.polar.config import DEFAULT_CONNECTION, PolarSettings
from connectors.polar.crypto import KeyRing
from connectors.polar.errors import ConnectionNotFoundError, PolarError
from connectors.polar.oauth import OAuthClient
from connectors.polar.single_flight import refresh_lock
from connectors.polar.token_exchange import REFRESH_LOCK_WAIT_SECONDS
from connectors.polar.token_manager import ACCESS_FIELD, REFRESH_FIELD
from connectors.polar.token_store import INACTIVE, StoredConnection, TokenStore

logger = logging.getLogger(__name__)

REMOVE_APP_HINT = (
    "To remove the app from your Polar account as well, open https://polar.sh/settings "
    "(Developers > Authorized applications) and revoke it there."
)


@dataclass(frozen=True)
class DisconnectOutcome:
    """What `disconnect` did at Polar."""

    revoked: bool
    detail: str  # why the revocation failed, when it did


def disconnect(settings: PolarSettings, name: str = DEFAULT_CONNECTION) -> DisconnectOutcome:
    """Revoke at Polar, delete the ciphertexts and mark the connection `inactive`."""
    store = TokenStore(settings.token_store_path)
    with refresh_lock(store.path, REFRESH_LOCK_WAIT_SECONDS):
        row = store.read(name)
        if row is None:
            raise ConnectionNotFoundError(f"no connection named {name!r}; nothing to disconnect.")
        outcome = _revoke_stored(settings, row)
        row = store.read(name) or row  # metadata writers do not take the lock
        store.update(
            row.with_changes(
                status=INACTIVE,
                access_token_ct=None,
                refresh_token_ct=None,
                access_token_expires_at=None,
            )
        )
    store.scrub()
    return outcome


def _revoke_stored(settings: PolarSettings, row: StoredConnection) -> DisconnectOutcome:
    if not row.refresh_token_ct:
        return DisconnectOutcome(False, "no tokens were stored (already disconnected).")
    try:
        keyring = KeyRing.parse(settings.token_keys)
        refresh = keyring.decrypt(
            row.refresh_token_ct, connection=row.name, field_name=REFRESH_FIELD
        )
        OAuthClient.for_settings(settings).revoke(refresh, "refresh_token")
    except PolarError as error:
        logger.warning("connection %r: revocation at Polar failed", row.name)
        return DisconnectOutcome(False, str(error))
    return DisconnectOutcome(True, "")


def rotate_keys(settings: PolarSettings, only: str | None = None) -> list[str]:
    """Re-encrypt every stored token under the primary key; the names of rewritten connections."""
    keyring = KeyRing.parse(settings.token_keys)
    store = TokenStore(settings.token_store_path)
    rewritten = []
    with refresh_lock(store.path, REFRESH_LOCK_WAIT_SECONDS):
        for row in store.all():
            if only is not None and row.name != only:
                continue
            changes = {
                column: _reencrypt(keyring, row.name, field_name, getattr(row, column))
                for column, field_name in (
                    ("access_token_ct", ACCESS_FIELD),
                    ("refresh_token_ct", REFRESH_FIELD),
                )
                if getattr(row, column)
            }
            if changes:
                store.update(row.with_changes(**changes))
                rewritten.append(row.name)
    store.scrub()
    return rewritten


def _reencrypt(keyring: KeyRing, name: str, field_name: str, envelope: str) -> str:
    plain = keyring.decrypt(envelope, connection=name, field_name=field_name)
    return keyring.encrypt(plain, connection=name, field_name=field_name)
