"""Helpers for the simulation/API tests: a connected API session over real loopback HTTP."""

import base64
import contextlib
import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from connectors.polar.tls import tls_context
from connectors.polar_emulator.server import RunningEmulator

FIXED_NOW = datetime(2026, 11, 28, 15, 30, tzinfo=UTC)  # a Saturday afternoon: today is partial
TODAY = FIXED_NOW.date()
REDIRECT_URI = "http://127.0.0.1:8976/callback"
NINE_SCOPES = (
    "openid email metrics:read subscriptions:read organizations:read orders:read refunds:read "
    "products:read customers:read"
)


def access_token(http: httpx.Client, running: RunningEmulator, scope: str, **extra: str) -> str:
    """An access token from the auto-approving authorize page (code + PKCE S256)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    authorize = http.get(
        "/oauth2/authorize",
        params={
            "client_id": running.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": scope,
            "state": "s",
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            **extra,
        },
    )
    assert authorize.status_code == 302, authorize.text
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    token = http.post(
        "/v1/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": running.client_id,
            "client_secret": running.client_secret,
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


@dataclass
class ApiSession:
    """An emulator plus an HTTP client carrying a bearer token for the primary user."""

    running: RunningEmulator
    http: httpx.Client

    @property
    def world(self) -> Any:
        """The emulator's world (for ids the API itself does not list)."""
        return self.running.state.world

    def metrics(self, **params: Any) -> httpx.Response:
        """`GET /v1/metrics/` with these query parameters (lists become repeated keys)."""
        return self.http.get("/v1/metrics/", params=params)

    def metrics_ok(self, **params: Any) -> dict[str, Any]:
        """The JSON of a metrics call that must succeed."""
        response = self.metrics(**params)
        assert response.status_code == 200, response.text
        return response.json()

    def organizations(self, **params: Any) -> httpx.Response:
        """`GET /v1/organizations/` with these query parameters."""
        return self.http.get("/v1/organizations/", params=params)

    def visible_ids(self) -> list[str]:
        """Ids of the organizations the token lists, in the API's order."""
        return [item["id"] for item in self.organizations(limit=100).json()["items"]]


@contextlib.contextmanager
def api_session(
    start_emulator: Callable[..., RunningEmulator],
    scope: str = NINE_SCOPES,
    authorize: dict[str, str] | None = None,
    **config: Any,
) -> Iterator[ApiSession]:
    """A running emulator (fixed clock unless `now` is given) and a client holding a token."""
    running = start_emulator(**{"now": FIXED_NOW, "rate_limit_per_minute": None, **config})
    with httpx.Client(base_url=running.base_url, timeout=30, verify=tls_context()) as http:
        token = access_token(http, running, scope, **(authorize or {}))
        http.headers["Authorization"] = f"Bearer {token}"
        yield ApiSession(running, http)


def days_back(days: int) -> str:
    """The ISO date `days` before the fixed today."""
    return (TODAY - timedelta(days=days)).isoformat()


def daily_window(days: int = 90, end: date = TODAY) -> dict[str, str]:
    """Parameters of a daily call over the last `days` days up to `end` (inclusive)."""
    start = end - timedelta(days=days - 1)
    return {"start_date": start.isoformat(), "end_date": end.isoformat(), "interval": "day"}
