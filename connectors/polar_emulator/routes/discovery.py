"""Revoke, introspect, userinfo, discovery and JWKS endpoints of the emulated OAuth server."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.polar_emulator.http.errors import invalid_token_response
from connectors.polar_emulator.oauth.client_auth import REVOCATION_METHODS, authenticate_client
from connectors.polar_emulator.oauth.errors import NO_STORE_HEADERS, OAuthError
from connectors.polar_emulator.oauth.id_tokens import ISSUER
from connectors.polar_emulator.oauth.issued_tokens import IssuedToken
from connectors.polar_emulator.oauth.scopes import SCOPES_SUPPORTED
from connectors.polar_emulator.routes.token import read_oauth_form
from connectors.polar_emulator.state import EmulatorState, bearer_token

TOKEN_TYPE_HINTS = ("access_token", "refresh_token")


def _find_any(state: EmulatorState, token: str, hint: str | None) -> tuple[IssuedToken | None, str]:
    order = ("refresh_token", "access_token") if hint == "refresh_token" else TOKEN_TYPE_HINTS
    for kind in order:
        finder = state.tokens.find_access if kind == "access_token" else state.tokens.find_refresh
        record = finder(token)
        if record is not None:
            return record, kind
    return None, ""


async def _client_and_token(request: Request) -> tuple[EmulatorState, IssuedToken | None, str]:
    state: EmulatorState = request.app.state.emulator
    form = await read_oauth_form(request)
    client = authenticate_client(state.clients, request, form, REVOCATION_METHODS)
    hint = form.get("token_type_hint")
    if hint is not None and hint not in TOKEN_TYPE_HINTS:
        raise OAuthError("unsupported_token_type", f"token_type_hint={hint} is not supported")
    token = form.get("token")
    if not token:
        raise OAuthError("invalid_request", "Missing 'token' in request.")
    record, kind = _find_any(state, str(token), hint)
    if record is not None and record.client_id != client.client_id:
        raise OAuthError("invalid_grant")
    return state, record, str(hint or kind)


async def revoke_endpoint(request: Request) -> Response:
    """RFC 7009: 200 {} even for unknown tokens; another client's token is invalid_grant."""
    try:
        state, record, hint = await _client_and_token(request)
    except OAuthError as error:
        return error.response()
    if record is not None:
        with state.tokens.lock:
            record.access_revoked = True  # either flag disables the whole row
            if hint != "access_token":
                record.refresh_revoked = True
    return JSONResponse({}, headers=NO_STORE_HEADERS)


async def introspect_endpoint(request: Request) -> Response:
    """RFC 7662: token details, or active=false once the ACCESS part expired or was revoked."""
    try:
        state, record, _ = await _client_and_token(request)
    except OAuthError as error:
        return error.response()
    if record is None or not record.access_usable(state.auth_clock()):
        return JSONResponse({"active": False}, headers=NO_STORE_HEADERS)
    body = {
        "active": True,
        "client_id": record.client_id,
        "token_type": "Bearer",
        "scope": " ".join(record.scopes),
        "sub_type": "user",
        "sub": record.user_id,
        "organizations": list(record.organization_ids),
        "aud": record.client_id,
        "iss": ISSUER,
        "exp": int(record.expires_at.timestamp()),
        "iat": int(record.issued_at.timestamp()),
    }
    return JSONResponse(body, headers=NO_STORE_HEADERS)


async def userinfo_endpoint(request: Request) -> Response:
    """OpenID userinfo: sub always; email and email_verified only with the email scope."""
    state: EmulatorState = request.app.state.emulator
    record = state.usable_record(bearer_token(request))
    if record is None:
        return invalid_token_response()
    user = state.world.users[record.user_id]
    body: dict[str, object] = {"sub": user.id}
    if "email" in record.scopes:
        body["email"] = user.email
        body["email_verified"] = user.email_verified
    return JSONResponse(body)


def discovery_document(origin: str) -> dict[str, object]:
    """Polar's OpenID configuration with endpoints on this server's origin."""
    return {
        "issuer": ISSUER,
        "authorization_endpoint": f"{origin}/oauth2/authorize",
        "token_endpoint": f"{origin}/v1/oauth2/token",
        "jwks_uri": f"{origin}/.well-known/jwks.json",
        "userinfo_endpoint": f"{origin}/v1/oauth2/userinfo",
        "registration_endpoint": f"{origin}/v1/oauth2/register",
        "scopes_supported": list(SCOPES_SUPPORTED),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "web"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "service_documentation": "https://polar.sh/docs",
        "revocation_endpoint": f"{origin}/v1/oauth2/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint": f"{origin}/v1/oauth2/introspect",
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "name", "email", "email_verified"],
    }


def request_origin(request: Request) -> str:
    """scheme://host[:port] the client used to reach this server."""
    return f"{request.url.scheme}://{request.url.netloc}"


async def openid_configuration(request: Request) -> Response:
    """`GET /.well-known/openid-configuration`."""
    return JSONResponse(discovery_document(request_origin(request)))


async def jwks(request: Request) -> Response:
    """`GET /.well-known/jwks.json`: the ID-token signing key."""
    state: EmulatorState = request.app.state.emulator
    return JSONResponse(state.signer.jwks())
