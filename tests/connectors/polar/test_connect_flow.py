"""`connect` in process: scope checks, reconnect after needs_reauth, environment mismatch."""

from dataclasses import replace

import httpx
import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.errors import (
    ConfigurationError,
    ConnectionNotFoundError,
    NeedsReauthError,
    OAuthError,
)
from connectors.polar.oauth import OAuthClient, TokenResponse
from connectors.polar.token_store import TokenStore
from tests.connectors.polar.conftest import Emulated, connect_in_process


def test_a_granted_write_scope_is_refused_revoked_and_nothing_is_stored(
    monkeypatch: pytest.MonkeyPatch, settings: PolarSettings, emulator: Emulated
) -> None:
    # Our request asks for read scopes only, so no honest server grants a write scope: widen
    # the REAL answer on its way back to prove the check, the revocation and the empty store.
    issued: list[TokenResponse] = []
    real_exchange = OAuthClient.exchange_code

    def exchange_with_write_scope(self: OAuthClient, **kwargs: object) -> TokenResponse:
        tokens = real_exchange(self, **kwargs)  # type: ignore[arg-type]
        issued.append(tokens)
        return replace(tokens, scopes=(*tokens.scopes, "orders:write"))

    monkeypatch.setattr(OAuthClient, "exchange_code", exchange_with_write_scope)
    with pytest.raises(OAuthError, match="orders:write.*revoked and nothing was stored"):
        connect_in_process(settings, emulator)
    refresh = httpx.post(
        f"{emulator.base_url}/v1/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": issued[0].refresh_token,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
        },
    )
    assert refresh.status_code == 400 and refresh.json() == {"error": "invalid_grant"}
    assert TokenStore(settings.token_store_path).read("default") is None


def test_reconnect_after_needs_reauth_makes_the_connection_active_again(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    emulator.control("POST", "revoke-all")
    emulator.control("POST", "expire-access-tokens")
    with (
        pytest.raises(NeedsReauthError, match="reconnect"),
        httpx.Client(auth=PolarConnection.open(settings).http_auth()) as http,
    ):
        http.get(f"{emulator.base_url}/v1/oauth2/userinfo")
    assert connected.status == "needs_reauth"
    again = connect_in_process(settings, emulator)
    assert again.status == "active"
    again.ensure_usable()
    assert len(again.organizations()) > 0


def test_opening_an_unknown_connection_says_how_to_connect(settings: PolarSettings) -> None:
    with pytest.raises(ConnectionNotFoundError, match="polar-metrics connect --connection nope"):
        PolarConnection.open(settings, "nope")


def test_a_connection_is_not_used_against_another_polar(
    env: dict[str, str], connected: PolarConnection
) -> None:
    elsewhere = PolarSettings.from_env({**env, "POLAR_ENVIRONMENT": "sandbox"})
    with pytest.raises(ConfigurationError, match="tokens do not carry over"):
        PolarConnection.open(elsewhere).ensure_usable()
