"""Transient failures of Polar's token endpoint: 429, 5xx, unreachable; no rotated-token replay.

The emulator injects 429/503 before its OAuth server runs (as Polar's rate limiter does). A 5xx
that comes AFTER Polar rotated (a gateway losing the answer) cannot be injected there, so a
gateway transport in front of the emulator forwards the real exchange and answers 502 instead.
"""

import dataclasses
import time
from typing import Any

import httpx
import pytest

from connectors.polar.config import PolarEnvironment, PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.crypto import KeyRing
from connectors.polar.errors import ConfigurationError, NeedsReauthError, OAuthError, PolarError
from connectors.polar.oauth import OAuthClient
from connectors.polar.token_store import TokenStore
from tests.connectors.polar.conftest import Emulated, free_port

TOKEN_PATH = "/v1/oauth2/token"


def api_call(connection: PolarConnection, emulator: Emulated) -> httpx.Response:
    """One authenticated API call through the connection's refreshing auth."""
    with httpx.Client(auth=connection.http_auth(), timeout=30) as http:
        return http.get(f"{emulator.base_url}/v1/oauth2/userinfo")


def token_row(settings: PolarSettings) -> tuple[Any, ...]:
    """Status, generation and both ciphertexts: what a failed refresh must leave as it was."""
    row = TokenStore(settings.token_store_path).read("default")
    assert row is not None
    return (row.status, row.generation, row.access_token_ct, row.refresh_token_ct)


def stored_tokens(settings: PolarSettings) -> list[str]:
    """The plaintext access and refresh tokens in the store (test-side decryption)."""
    row = TokenStore(settings.token_store_path).read("default")
    assert row is not None
    ring = KeyRing.parse(settings.token_keys)
    return [
        ring.decrypt(ciphertext or "", connection="default", field_name=name)
        for name, ciphertext in (
            ("access_token", row.access_token_ct),
            ("refresh_token", row.refresh_token_ct),
        )
    ]


def assert_no_token_in(error: BaseException, tokens: list[str]) -> None:
    """Neither stored token nor any Polar token shape appears in the error."""
    text = str(error)
    assert not any(token in text for token in tokens)
    assert "polar_rt_" not in text and "polar_at_" not in text


def fail_token_calls(emulator: Emulated, count: int, status: int, retry_after: int = 1) -> None:
    """Make the next `count` token calls fail before the OAuth server sees them."""
    fault = {"count": count, "status": status, "retry_after": retry_after}
    emulator.control("POST", "faults", {"fail_next": {**fault, "path_prefix": TOKEN_PATH}})


class LosingGateway(httpx.BaseTransport):
    """A load balancer in front of Polar that loses the first `count` token answers (502)."""

    def __init__(self, count: int) -> None:
        self.remaining = count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward for real; swap a token answer for a 502 while `remaining` lasts."""
        with httpx.HTTPTransport() as upstream:
            response = upstream.handle_request(request)
            content = response.read()
        if request.url.path == TOKEN_PATH and self.remaining > 0:
            self.remaining -= 1
            return httpx.Response(502, json={"detail": "Bad Gateway"})
        return httpx.Response(response.status_code, headers=response.headers, content=content)


def route_token_calls(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> None:
    """Build every OAuth client with `changes` (a transport, another environment)."""
    real = OAuthClient.for_settings.__func__  # type: ignore[attr-defined]

    def for_settings(cls: type[OAuthClient], settings: PolarSettings) -> OAuthClient:
        return dataclasses.replace(real(cls, settings), **changes)

    monkeypatch.setattr(OAuthClient, "for_settings", classmethod(for_settings))


def test_a_429_waits_for_retry_after_then_the_refresh_completes(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    generation = token_row(settings)[1]
    fail_token_calls(emulator, 1, 429, retry_after=1)
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    started = time.monotonic()
    assert api_call(connected, emulator).status_code == 200
    assert time.monotonic() - started >= 1.0  # Polar's Retry-After was honoured
    assert emulator.token_calls() - calls == 2
    assert emulator.stats()["invalid_grant"] == 0
    assert token_row(settings)[:2] == ("active", generation + 1)


def test_a_token_endpoint_that_keeps_rate_limiting_fails_after_two_retries_tokens_kept(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    before, tokens = token_row(settings), stored_tokens(settings)
    fail_token_calls(emulator, 3, 429, retry_after=0)
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    with pytest.raises(PolarError, match="429") as failed:
        api_call(connected, emulator)
    assert not isinstance(failed.value, NeedsReauthError)
    assert "unchanged" in str(failed.value) and "Retry" in str(failed.value)
    assert_no_token_in(failed.value, tokens)
    assert emulator.token_calls() - calls == 3
    assert token_row(settings) == before
    # The limit has passed: the same connection refreshes normally.
    assert api_call(connected, emulator).status_code == 200
    assert connected.status == "active"


def test_a_retry_after_beyond_the_cap_fails_at_once_and_this_process_does_not_hammer(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    before = token_row(settings)
    fail_token_calls(emulator, 1, 429, retry_after=3600)  # a block, not a window
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    started = time.monotonic()
    with pytest.raises(PolarError, match="429"):
        api_call(connected, emulator)
    # The next caller of this connection fails at once too, without asking Polar again.
    with pytest.raises(PolarError, match="429"):
        api_call(connected, emulator)
    assert time.monotonic() - started < 5
    assert emulator.token_calls() - calls == 1
    assert token_row(settings) == before
    # Another process (here: a fresh connection object) is not held back by this one's memory.
    assert api_call(PolarConnection.open(settings), emulator).status_code == 200


def test_a_503_whose_retry_succeeds_keeps_the_chain_alive(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    generation = token_row(settings)[1]
    fail_token_calls(emulator, 1, 503)
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    assert api_call(connected, emulator).status_code == 200
    assert emulator.token_calls() - calls == 2
    assert emulator.stats()["token_exchanges"]["refresh_token"] == 1
    assert token_row(settings)[:2] == ("active", generation + 1)


def test_two_5xx_fail_the_refresh_with_the_status_and_keep_the_tokens(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    before, tokens = token_row(settings), stored_tokens(settings)
    fail_token_calls(emulator, 2, 500)
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    with pytest.raises(OAuthError, match="500") as failed:
        api_call(connected, emulator)
    assert "retry later" in str(failed.value)
    assert_no_token_in(failed.value, tokens)
    assert emulator.token_calls() - calls == 2  # one retry, no more
    assert token_row(settings) == before
    assert api_call(connected, emulator).status_code == 200


def test_a_502_after_polar_rotated_ends_in_needs_reauth_without_a_loop(
    monkeypatch: pytest.MonkeyPatch,
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    route_token_calls(monkeypatch, transport=LosingGateway(1))
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    with pytest.raises(NeedsReauthError, match="polar-metrics connect"):
        api_call(connected, emulator)
    stats = emulator.stats()
    assert emulator.token_calls() - calls == 2  # the lost exchange and one retry
    assert stats["invalid_grant"] == 1
    assert connected.status == "needs_reauth"
    with pytest.raises(NeedsReauthError):
        api_call(connected, emulator)
    assert emulator.token_calls() - calls == 2


def test_an_unreachable_token_endpoint_is_tried_twice_and_the_tokens_are_kept(
    monkeypatch: pytest.MonkeyPatch,
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    before, tokens = token_row(settings), stored_tokens(settings)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    route_token_calls(monkeypatch, environment=PolarEnvironment("emulator", dead, dead, None))
    emulator.control("POST", "expire-access-tokens")
    with pytest.raises(OAuthError, match="ConnectError") as failed:
        api_call(connected, emulator)
    assert "failed twice" in str(failed.value) and "retry later" in str(failed.value)
    assert_no_token_in(failed.value, tokens)
    assert token_row(settings) == before
    monkeypatch.undo()
    assert api_call(connected, emulator).status_code == 200


def test_a_missing_client_secret_at_refresh_names_it_and_keeps_the_tokens(
    env: dict[str, str], settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    before = token_row(settings)
    without_secret = PolarSettings.from_env({**env, "POLAR_CLIENT_SECRET": ""})
    connection = PolarConnection.open(without_secret)
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    with pytest.raises(ConfigurationError, match="POLAR_CLIENT_SECRET") as failed:
        api_call(connection, emulator)
    assert "token refresh" in str(failed.value) and "unchanged" in str(failed.value)
    assert env["POLAR_CLIENT_SECRET"] not in str(failed.value)
    assert emulator.token_calls() == calls
    assert token_row(settings) == before
    assert api_call(connected, emulator).status_code == 200
