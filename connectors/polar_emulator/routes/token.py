"""`POST /v1/oauth2/token`: authorization_code (with PKCE) and refresh_token (with rotation)."""

import base64
import hashlib
import hmac
import re
from urllib.parse import parse_qsl

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.polar_emulator.http.faults import DroppedConnectionResponse, StalledResponse
from connectors.polar_emulator.oauth.client_auth import authenticate_client
from connectors.polar_emulator.oauth.clients import RegisteredClient
from connectors.polar_emulator.oauth.errors import NO_STORE_HEADERS, OAuthError
from connectors.polar_emulator.oauth.issued_tokens import AuthorizationCode, IssuedToken
from connectors.polar_emulator.oauth.scopes import parse_scope
from connectors.polar_emulator.state import EmulatorState

VERIFIER_PATTERN = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
OAuthForm = ImmutableMultiDict[str, str]
INVALID_SCOPE = "The requested scope is invalid, unknown, or malformed."


async def read_oauth_form(request: Request) -> OAuthForm:
    """The form body; Polar's OAuth endpoints accept only application/x-www-form-urlencoded."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        raise OAuthError(
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded, not JSON.",
        )
    return await read_urlencoded(request)


async def read_urlencoded(request: Request) -> OAuthForm:
    """An application/x-www-form-urlencoded body as form data (no multipart dependency)."""
    text = (await request.body()).decode("utf-8", errors="replace")
    return ImmutableMultiDict(parse_qsl(text, keep_blank_values=True))


def s256_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_pkce(code: AuthorizationCode, form: OAuthForm, client: RegisteredClient) -> None:
    """Check the code_verifier against the challenge of the authorization request."""
    verifier = form.get("code_verifier")
    if client.is_public and not verifier:
        raise OAuthError("invalid_request", "Missing 'code_verifier'")
    if not code.code_challenge:
        if verifier:
            raise OAuthError(
                "invalid_request",
                "The authorization request had no 'code_challenge', "
                "but a 'code_verifier' was provided.",
            )
        return
    if not verifier:
        raise OAuthError("invalid_request", "Missing 'code_verifier'")
    if not VERIFIER_PATTERN.match(str(verifier)):
        raise OAuthError("invalid_request", "Invalid 'code_verifier'")
    method = code.code_challenge_method or "plain"
    expected = s256_challenge(str(verifier)) if method == "S256" else str(verifier)
    if not hmac.compare_digest(expected, code.code_challenge):
        raise OAuthError("invalid_grant", "Code challenge failed.")


def token_response(
    state: EmulatorState,
    access: str,
    refresh: str,
    record: IssuedToken,
    id_token: str | None = None,
) -> JSONResponse:
    """The 200 token response with Authlib's no-store headers."""
    body: dict[str, object] = {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": int((record.expires_at - record.issued_at).total_seconds()),
        "refresh_token": refresh,
        "scope": " ".join(record.scopes),
    }
    if id_token:
        body["id_token"] = id_token
    return JSONResponse(body, headers=NO_STORE_HEADERS)


def _require_grant(client: RegisteredClient, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise OAuthError(
            "unauthorized_client", f"The client is not authorized to use 'grant_type={grant_type}'"
        )


def exchange_code(state: EmulatorState, form: OAuthForm, client: RegisteredClient) -> Response:
    """Authorization-code grant: single-use code, redirect_uri match, PKCE, optional id_token."""
    _require_grant(client, "authorization_code")
    code_value = form.get("code")
    if code_value is None:
        raise OAuthError("invalid_request", "Missing 'code' in request.")
    now = state.auth_clock()
    with state.tokens.lock:  # validate and consume atomically: a code is used at most once
        code = state.tokens.find_code(str(code_value), client.client_id)
        if code is None or code.expired(now):
            raise OAuthError("invalid_grant", "Invalid 'code' in request.")
        if code.redirect_uri and form.get("redirect_uri") != code.redirect_uri:
            raise OAuthError("invalid_grant", "Invalid 'redirect_uri' in request.")
        verify_pkce(code, form, client)
        state.tokens.delete_code(code)
    user = state.world.users.get(code.user_id)
    if user is None:
        raise OAuthError("invalid_grant", "There is no 'user' for this code.")
    access, refresh, record = state.tokens.issue(
        client_id=client.client_id,
        user_id=code.user_id,
        scopes=code.scopes,
        organization_ids=code.organization_ids,
        now=now,
        lifetime_seconds=state.access_token_lifetime("authorization_code"),
    )
    id_token = None
    if "openid" in code.scopes:
        with_email = "email" in code.scopes
        id_token = state.signer.id_token(
            user_id=user.id,
            client_id=client.client_id,
            now=now,
            nonce=code.nonce,
            email=user.email if with_email else None,
            email_verified=user.email_verified if with_email else None,
        )
    state.stats.count_exchange("authorization_code")
    return token_response(state, access, refresh, record, id_token)


def _narrowed_scopes(record: IssuedToken, requested: str | None) -> tuple[str, ...]:
    if not requested:
        return record.scopes
    scopes = parse_scope(requested)
    if not set(scopes) <= set(record.scopes):
        raise OAuthError("invalid_scope", INVALID_SCOPE)
    return tuple(scopes)


def exchange_refresh(state: EmulatorState, form: OAuthForm, client: RegisteredClient) -> Response:
    """Refresh grant with rotation: the old refresh AND access token die at once."""
    _require_grant(client, "refresh_token")
    refresh_value = form.get("refresh_token")
    if refresh_value is None:
        raise OAuthError("invalid_request", "Missing 'refresh_token' in request.")
    with state.tokens.lock:  # one winner per refresh token under concurrency
        old = state.tokens.find_refresh(str(refresh_value))
        if old is None or old.revoked or old.client_id != client.client_id:
            state.stats.count("invalid_grant")
            raise OAuthError("invalid_grant")
        scopes = _narrowed_scopes(old, form.get("scope"))
        if old.user_id not in state.world.users:
            raise OAuthError("invalid_request", "There is no 'user' for this token.")
        access, refresh, record = state.tokens.issue(
            client_id=client.client_id,
            user_id=old.user_id,
            scopes=scopes,
            organization_ids=old.organization_ids,
            now=state.auth_clock(),
            lifetime_seconds=state.access_token_lifetime("refresh_token"),
        )
        old.refresh_revoked = True
    state.stats.count_exchange("refresh_token")
    if state.faults.take_drop_after_refresh():
        state.stats.count("dropped_connections")
        return DroppedConnectionResponse()
    stall = state.faults.take_stall_after_refresh()
    if stall:  # rotated already: the old refresh token is dead while the answer is held back
        state.stats.count("stalled_after_refresh")
        return StalledResponse(token_response(state, access, refresh, record), stall)
    return token_response(state, access, refresh, record)


async def token_endpoint(request: Request) -> Response:
    """Exchange a code or a refresh token for new tokens, as Polar's Authlib server does."""
    state: EmulatorState = request.app.state.emulator
    try:
        form = await read_oauth_form(request)
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise OAuthError("unsupported_grant_type", f"grant_type={grant_type} is not supported")
        client = authenticate_client(state.clients, request, form)
        if grant_type == "authorization_code":
            return exchange_code(state, form, client)
        return exchange_refresh(state, form, client)
    except OAuthError as error:
        return error.response()
