"""OAuth 2.0 calls to Polar: PKCE, the authorize URL, code exchange, refresh and revoke.

Polar's app is a confidential client bound to `client_secret_post`: the client id and secret go
in the form body (HTTP Basic is refused with 401 `invalid_client`).
"""

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.polar.config import PolarEnvironment, PolarSettings
from connectors.polar.errors import OAuthError
from connectors.polar.retry import retry_after_seconds
from connectors.polar.tls import tls_context

logger = logging.getLogger(__name__)

# Exactly what the product needs: read-only, nothing that can change a Polar account.
REQUESTED_SCOPES = (
    "openid",
    "email",
    "metrics:read",
    "subscriptions:read",
    "organizations:read",
    "orders:read",
    "refunds:read",
    "products:read",
    "customers:read",
)
TOKEN_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Polar's per-minute rules answer Retry-After 60 (the full window, not the time left): waiting that
# long always reaches a new window. A longer value is a block, not worth holding a refresh for.
RETRY_AFTER_CAP_SECONDS = 60.0


class InvalidGrantError(OAuthError):
    """Polar answered `invalid_grant`: the refresh token is dead (used, revoked or unknown)."""


class TokenCallInterrupted(OAuthError):
    """The token call timed out or its connection dropped: Polar may or may not have rotated."""


class TokenServerError(TokenCallInterrupted):
    """Polar answered 5xx to a token call: it may or may not have processed (rotated) it."""


class MalformedTokenAnswer(OAuthError):
    """Polar answered 200 (so it did the exchange) with a body that is not a full token answer.

    Carries whatever could be read, so that a rotated refresh token is not thrown away.
    """

    def __init__(
        self, message: str, *, access_token: str | None, refresh_token: str | None
    ) -> None:
        super().__init__(message)
        self.access_token = access_token
        self.refresh_token = refresh_token

    def __repr__(self) -> str:
        return f"MalformedTokenAnswer({str(self)!r}, tokens=***)"


class TokenRateLimited(OAuthError):
    """Polar answered 429: its rate limiter runs before the OAuth server, so nothing was done."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair for one authorization attempt (RFC 7636, S256)."""

    verifier: str = field(repr=False)
    challenge: str

    @classmethod
    def new(cls) -> "Pkce":
        """A fresh random verifier (43 characters) and its S256 challenge."""
        verifier = secrets.token_urlsafe(32)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
        return cls(verifier=verifier, challenge=challenge)


@dataclass(frozen=True)
class TokenResponse:
    """A successful token answer; repr never shows the tokens."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    scopes: tuple[str, ...]

    def __str__(self) -> str:
        return f"TokenResponse(access_token=***, refresh_token=***, expires_in={self.expires_in})"


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth app (id and secret) talking to one Polar environment."""

    environment: PolarEnvironment
    client_id: str
    client_secret: str = field(repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)

    @classmethod
    def for_settings(cls, settings: PolarSettings) -> "OAuthClient":
        """The OAuth client of the configured Polar environment (needs id and secret)."""
        client_id, client_secret = settings.require_client()
        return cls(settings.environment, client_id, client_secret)

    def authorize_url(
        self, *, redirect_uri: str, state: str, pkce: Pkce, login_hint: str | None = None
    ) -> str:
        """The browser URL that asks the user to grant the read-only scopes; `login_hint`
        (OpenID Connect) names the account to sign in as, e.g. one of the emulator's accounts."""
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(REQUESTED_SCOPES),
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            "sub_type": "user",
        }
        if login_hint:
            query["login_hint"] = login_hint
        return f"{self.environment.authorize_url}?{urlencode(query)}"

    def exchange_code(self, *, code: str, redirect_uri: str, pkce: Pkce) -> TokenResponse:
        """Tokens for an authorization code (single use, 300 s)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        return self._token_call({**form, "code_verifier": pkce.verifier}, "code exchange")

    def refresh(self, refresh_token: str) -> TokenResponse:
        """A new token pair; Polar revokes the old refresh AND access token at once."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self._token_call(form, "token refresh")

    def revoke(self, token: str, token_type_hint: str = "refresh_token") -> None:
        """Revoke a token at Polar (a refresh token revokes its access token too)."""
        form = {"token": token, "token_type_hint": token_type_hint, **self._credentials()}
        try:
            with self._http() as http:
                response = http.post(f"{self.environment.api_base_url}/v1/oauth2/revoke", data=form)
        except httpx.HTTPError as error:
            raise OAuthError(f"could not reach Polar to revoke: {type(error).__name__}") from None
        if response.status_code != 200:
            raise OAuthError(f"Polar refused the revocation: {_describe(response)}")

    def _token_call(self, form: dict[str, str], what: str) -> TokenResponse:
        url = self.environment.token_url
        try:
            with self._http() as http:
                response = http.post(url, data={**form, **self._credentials()})
        except httpx.HTTPError as error:
            raise TokenCallInterrupted(_transport_failure(error, what, url)) from None
        body = _json(response)
        if response.status_code == 400 and body.get("error") == "invalid_grant":
            raise InvalidGrantError(f"Polar answered invalid_grant to the {what}.")
        if response.status_code == 429:
            raise TokenRateLimited(
                f"Polar rate-limited the {what} (HTTP 429); retry in a minute.",
                retry_after_seconds(response),
            )
        if response.status_code >= 500:
            raise TokenServerError(f"the {what} failed: {_describe(response)}")
        if response.status_code != 200:
            raise OAuthError(f"the {what} failed: {_describe(response)}")
        return _parse_token_response(body, what, response.headers.get("content-type", ""))

    def _credentials(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret}

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=TOKEN_TIMEOUT, transport=self.transport, verify=tls_context())


def _parse_token_response(body: dict[str, Any], what: str, content_type: str) -> TokenResponse:
    access, refresh = _text(body.get("access_token")), _text(body.get("refresh_token"))
    try:
        expires_in = int(body["expires_in"])
    except (KeyError, TypeError, ValueError):
        expires_in = None
    if access is None or refresh is None or expires_in is None:
        missing = [
            name
            for name, value in (
                ("access_token", access),
                ("refresh_token", refresh),
                ("expires_in", expires_in),
            )
            if value is None
        ]
        shape = "a JSON object" if body else f"not a JSON object ({content_type or 'no type'})"
        raise MalformedTokenAnswer(
            f"Polar answered the {what} with HTTP 200 but the body was {shape} lacking "
            f"{', '.join(missing)}",
            access_token=access,
            refresh_token=refresh,
        )
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires_in=expires_in,
        scopes=tuple(str(body.get("scope") or "").split()),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _transport_failure(error: httpx.HTTPError, what: str, url: str) -> str:
    """What went wrong on the way to or from Polar, and where to look (never the request)."""
    kind = type(error).__name__
    if isinstance(error, httpx.ProxyError):
        return (
            f"the {what} could not pass the HTTP proxy ({kind}); check HTTPS_PROXY / ALL_PROXY "
            f"and that the proxy lets {url} through."
        )
    if isinstance(error, httpx.UnsupportedProtocol):
        return f"the {what} cannot be sent to {url} ({kind}); check POLAR_ENVIRONMENT."
    if isinstance(error, httpx.ProtocolError):
        return f"the {what} got an answer from {url} that is not valid HTTP ({kind})."
    if isinstance(error, httpx.DecodingError):
        return f"the {what} got an answer from {url} that could not be decoded ({kind})."
    return f"the {what} with Polar was interrupted ({kind})."


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(response: httpx.Response) -> str:
    # Only Polar's error code and description: never echo the request (it holds the secret).
    body = _json(response)
    error = body.get("error") or body.get("detail") or "no error code"
    description = body.get("error_description")
    return f"HTTP {response.status_code} {error}" + (f" ({description})" if description else "")
