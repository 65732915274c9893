"""Dynamic client registration (RFC 7591) and client configuration (RFC 7592)."""

import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.polar_emulator.oauth.clients import AUTH_METHODS, RegisteredClient
from connectors.polar_emulator.oauth.errors import NO_STORE_HEADERS, OAuthError, invalid_client
from connectors.polar_emulator.oauth.issued_tokens import (
    CLIENT_ID_PREFIX,
    CLIENT_SECRET_PREFIX,
    REGISTRATION_TOKEN_PREFIX,
    generate_token,
)
from connectors.polar_emulator.oauth.scopes import SCOPES_SUPPORTED, parse_scope
from connectors.polar_emulator.state import EmulatorState, bearer_token

_DEFAULTS: dict[str, Any] = {
    "token_endpoint_auth_method": "client_secret_post",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": " ".join(SCOPES_SUPPORTED),
    "default_sub_type": "user",
}
_CHOICES = {
    "token_endpoint_auth_method": AUTH_METHODS,
    "default_sub_type": ("user", "organization"),
}
_OPTIONAL_TEXT = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


def _issue(
    kind: str, loc: str | tuple[str, int], msg: str, value: object, **extra: object
) -> dict[str, object]:
    where = list(loc) if isinstance(loc, tuple) else [loc]
    return {"type": kind, "loc": ["body", *where], "msg": msg, "input": value, **extra}


def _redirect_uri_issue(index: int, uri: object) -> dict[str, object] | None:
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or not parts.scheme or not parts.netloc:
        return _issue("url_parsing", ("redirect_uris", index), "Input should be a valid URL", uri)
    host = parts.hostname or ""
    try:
        local = ipaddress.IPv4Address(host).is_private
    except ValueError:
        local = host == "localhost" or host.endswith(".localhost")
    if parts.scheme == "http" and not local:
        return _issue(
            "value_error",
            ("redirect_uris", index),
            "Value error, An HTTPS URL is required.",
            uri,
            ctx={"error": {}},
        )
    return None


def validation_issues(body: dict[str, Any]) -> list[dict[str, object]]:
    """Polar-style 422 details for a client configuration body (empty = valid)."""
    issues: list[dict[str, object]] = []
    for required in ("redirect_uris", "client_name"):
        if required not in body:
            issues.append(_issue("missing", required, "Field required", body))
    uris = body.get("redirect_uris", [])
    if not isinstance(uris, list):
        issues.append(_issue("list_type", "redirect_uris", "Input should be a valid list", uris))
    else:
        issues += [i for n, uri in enumerate(uris) if (i := _redirect_uri_issue(n, uri))]
    for field, choices in _CHOICES.items():
        if field in body and body[field] not in choices:
            expected = " or ".join(repr(choice) for choice in choices)
            issues.append(
                _issue("literal_error", field, f"Input should be {expected}", body[field])
            )
    return issues


def _validation_response(issues: list[dict[str, object]]) -> Response:
    return JSONResponse({"error": "RequestValidationError", "detail": issues}, status_code=422)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthError("invalid_request")
    return body


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    metadata = {**_DEFAULTS, **{k: v for k, v in body.items() if v is not None}}
    if not set(parse_scope(metadata["scope"])) <= set(SCOPES_SUPPORTED):
        raise OAuthError("invalid_client_metadata", "Invalid claim 'scope'")
    return metadata


def _apply(client: RegisteredClient, metadata: dict[str, Any]) -> None:
    client.redirect_uris = list(metadata["redirect_uris"])
    client.token_endpoint_auth_method = metadata["token_endpoint_auth_method"]
    client.grant_types = list(metadata["grant_types"])
    client.response_types = list(metadata["response_types"])
    client.scopes = parse_scope(metadata["scope"])
    client.client_name = metadata["client_name"]
    client.default_sub_type = metadata["default_sub_type"]
    client.metadata = {key: metadata[key] for key in _OPTIONAL_TEXT if key in metadata}


def client_document(request: Request, client: RegisteredClient) -> dict[str, Any]:
    """A client's registration document (never the stored secret)."""
    return {
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "grant_types": client.grant_types,
        "response_types": client.response_types,
        "scope": " ".join(client.scopes),
        "client_name": client.client_name,
        **client.metadata,
        "default_sub_type": client.default_sub_type,
        "client_id": client.client_id,
        "client_id_issued_at": int(client.issued_at.timestamp()),
        "registration_client_uri": str(
            request.url_for("oauth2:get_client", client_id=client.client_id)
        ),
    }


async def register_client(request: Request) -> Response:
    """`POST /v1/oauth2/register`: a new client with its secret and registration token."""
    state: EmulatorState = request.app.state.emulator
    try:
        body = await _json_body(request)
        if issues := validation_issues(body):
            return _validation_response(issues)
        metadata = _metadata(body)
    except OAuthError as error:
        return error.response()
    client_id = generate_token(CLIENT_ID_PREFIX)
    secret, registration_token = (
        generate_token(CLIENT_SECRET_PREFIX),
        generate_token(REGISTRATION_TOKEN_PREFIX),
    )
    hasher = state.tokens.hasher
    client = RegisteredClient(
        client_id=client_id,
        secret_hash=hasher.hash(secret),
        redirect_uris=[],
        token_endpoint_auth_method="client_secret_post",
        scopes=[],
        issued_at=state.auth_clock(),
        registration_token_hash=hasher.hash(registration_token),
    )
    _apply(client, metadata)
    state.clients.add(client)
    document = client_document(request, client)
    document["registration_access_token"] = registration_token
    if not client.is_public:  # Polar hides the secret of public (`none`) clients
        document.update(client_secret=secret, client_secret_expires_at=0)
    return JSONResponse(document, status_code=201, headers=NO_STORE_HEADERS)


def _configured_client(state: EmulatorState, request: Request) -> RegisteredClient:
    token = bearer_token(request)
    if token is None:
        raise OAuthError(
            "access_denied", "The resource owner or authorization server denied the request"
        )
    client = state.clients.get(request.path_params["client_id"])
    if client is None or client.registration_token_hash != state.tokens.hasher.hash(token):
        raise invalid_client("The client does not exist on this server.", 401)
    return client


async def configure_client(request: Request) -> Response:
    """`GET/PUT/DELETE /v1/oauth2/register/{client_id}` with the registration access token."""
    state: EmulatorState = request.app.state.emulator
    try:
        client = _configured_client(state, request)
        if request.method == "DELETE":
            state.clients.remove(client.client_id)
            return Response(status_code=204, headers=NO_STORE_HEADERS)
        if request.method == "PUT":
            body = await _json_body(request)
            if issues := validation_issues(body):
                return _validation_response(issues)
            if body.get("client_id") != client.client_id:
                raise OAuthError("invalid_request")
            _apply(client, _metadata({k: v for k, v in body.items() if k != "client_id"}))
    except OAuthError as error:
        return error.response()
    return JSONResponse(client_document(request, client), headers=NO_STORE_HEADERS)
