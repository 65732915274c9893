"""The steps of `connect` before storage: browser authorization and the scope check.

Organization discovery, the step after, is `PolarConnection.discover_organizations`.
"""

import logging
import secrets
import webbrowser
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from connectors.polar.config import PolarEnvironment
from connectors.polar.crypto import KeyRing
from connectors.polar.errors import OAuthError, PolarError
from connectors.polar.oauth import (
    REQUESTED_SCOPES,
    MalformedTokenAnswer,
    OAuthClient,
    Pkce,
    TokenResponse,
)
from connectors.polar.redirect_receiver import RedirectReceiver
from connectors.polar.tls import tls_context
from connectors.polar.token_manager import encrypt_tokens
from connectors.polar.token_store import ACTIVE, StoredConnection

logger = logging.getLogger(__name__)

# Without these the pipeline cannot run at all; the others only enrich.
ESSENTIAL_SCOPES = ("metrics:read", "organizations:read")
REACHABILITY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def check_polar_answers(environment: PolarEnvironment) -> None:
    """Raise a clear error unless Polar serves its OIDC discovery document (one cheap GET).

    Checked before the browser opens, so a Polar that is down or unreachable is reported at
    once instead of after the whole browser timeout.
    """
    url = f"{environment.api_base_url}/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=REACHABILITY_TIMEOUT, verify=tls_context())
    except httpx.HTTPError as error:
        problem = f"it could not be reached ({type(error).__name__})"
    else:
        if response.status_code == 200:
            return
        problem = f"it answered HTTP {response.status_code}"
    raise OAuthError(
        f"Polar ({environment.name}) is unreachable: GET {url}: {problem}. Nothing was opened "
        "or stored; check POLAR_ENVIRONMENT, your network and https://status.polar.sh, then "
        "connect again."
    )


def authorize_in_browser(
    oauth: OAuthClient,
    keyring: KeyRing,
    name: str,
    *,
    open_browser: bool,
    port: int,
    on_url: Callable[[str], None] | None,
    timeout: float,
    login_hint: str | None = None,
) -> StoredConnection:
    """A new (unsaved) connection row from one authorization-code + PKCE attempt."""
    check_polar_answers(oauth.environment)
    state = secrets.token_urlsafe(32)  # single use: one per attempt
    pkce = Pkce.new()
    with RedirectReceiver(port, state) as receiver:
        url = oauth.authorize_url(
            redirect_uri=receiver.redirect_uri, state=state, pkce=pkce, login_hint=login_hint
        )
        if on_url is not None:
            on_url(url)
        else:
            logger.warning("Open this URL to connect Polar: %s", url)
        if open_browser:
            webbrowser.open(url)
        code = receiver.wait_for_code(timeout)
        redirect_uri = receiver.redirect_uri
    try:
        tokens = oauth.exchange_code(code=code, redirect_uri=redirect_uri, pkce=pkce)
    except MalformedTokenAnswer as malformed:
        if malformed.refresh_token:  # never leave a live token nothing holds
            _revoke_quietly(oauth, malformed.refresh_token)
        raise OAuthError(
            f"{malformed}; nothing was stored and the approval's code is used up: run "
            "`polar-metrics connect` again."
        ) from None
    check_granted_scopes(oauth, tokens)
    now = datetime.now(UTC)
    return StoredConnection(
        name=name,
        status=ACTIVE,
        environment=oauth.environment.name,
        access_token_ct=None,
        refresh_token_ct=None,
        access_token_expires_at=None,
        granted_scopes=tokens.scopes,
        metadata={"api_base_url": oauth.environment.api_base_url, "organizations": []},
        generation=0,
        created_at=now,
        updated_at=now,
    ).with_changes(**encrypt_tokens(keyring, name, tokens, now))


def check_granted_scopes(oauth: OAuthClient, tokens: TokenResponse) -> None:
    """Return if Polar granted read-only access that suffices; else revoke and raise."""
    granted = set(tokens.scopes)
    unexpected = sorted(granted - set(REQUESTED_SCOPES))
    missing = sorted(set(ESSENTIAL_SCOPES) - granted)
    if not unexpected and not missing:
        return
    _revoke_quietly(oauth, tokens.refresh_token)
    if unexpected:
        problem = f"Polar granted scopes this tool never asked for: {', '.join(unexpected)}"
    else:
        problem = f"Polar did not grant the required scopes: {', '.join(missing)}"
    raise OAuthError(
        f"{problem}. The tokens were revoked and nothing was stored; check the scopes of your "
        "OAuth app at https://polar.sh/settings and connect again."
    )


def _revoke_quietly(oauth: OAuthClient, refresh_token: str) -> None:
    try:
        oauth.revoke(refresh_token, "refresh_token")
    except PolarError:
        logger.warning("could not revoke the refused tokens at Polar")
