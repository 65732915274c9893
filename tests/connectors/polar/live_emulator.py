"""The client tests' emulator: a running emulator plus an access token obtained by hand.

The token comes from the OAuth code flow done by hand with httpx (the emulator auto-approves), so
these tests depend on the emulator, not on the connection code. The fixtures are in conftest.py.
"""

import base64
import hashlib
import secrets
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from connectors.polar.tls import tls_context

SCOPES = "metrics:read organizations:read"


class BearerToken(httpx.Auth):
    """A fixed access token (the connection's refreshing auth is tested elsewhere)."""

    def __init__(self, access_token: str) -> None:
        self._access_token = access_token

    def __repr__(self) -> str:
        return "BearerToken(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._access_token}"
        yield request


@dataclass
class LiveEmulator:
    """A running emulator plus a valid access token for its demo client."""

    running: Any  # connectors.polar_emulator.server.RunningEmulator
    auth: BearerToken

    @property
    def base_url(self) -> str:
        """The emulator's origin, e.g. http://127.0.0.1:54321."""
        return str(self.running.base_url).rstrip("/")

    def set_faults(self, **faults: Any) -> None:
        """Inject faults through the test-only control path."""
        httpx.post(
            f"{self.base_url}/__emulator__/faults", json=faults, verify=tls_context()
        ).raise_for_status()

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        httpx.delete(
            f"{self.base_url}/__emulator__/faults", verify=tls_context()
        ).raise_for_status()


def obtain_access_token(base_url: str, client_id: str, client_secret: str) -> str:
    """Authorization code + PKCE (S256) by hand: authorize, read the code, exchange it."""
    redirect_uri = "http://127.0.0.1:8976/callback"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(16)
    authorize = httpx.get(
        f"{base_url}/oauth2/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        },
    )
    assert authorize.status_code == 302, authorize.text
    query = parse_qs(urlsplit(authorize.headers["Location"]).query)
    assert query["state"] == [state]
    token = httpx.post(
        f"{base_url}/v1/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])
