"""Client authentication at the token, revoke and introspect endpoints, as Authlib does it."""

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote

from starlette.requests import Request

from connectors.polar_emulator.oauth.clients import RegisteredClient, RegisteredClients
from connectors.polar_emulator.oauth.errors import UNKNOWN_CLIENT, OAuthError, invalid_client

TOKEN_METHODS = ("client_secret_basic", "client_secret_post", "none")
REVOCATION_METHODS = ("client_secret_basic", "client_secret_post")


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from an HTTP Basic Authorization header, if any."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def _known(registry: RegisteredClients, client_id: str, status: int) -> RegisteredClient:
    client = registry.get(client_id)
    if client is None:
        raise invalid_client(UNKNOWN_CLIENT, status)
    return client


def _try_method(
    method: str, registry: RegisteredClients, request: Request, form: Mapping[str, str]
) -> RegisteredClient | None:
    if method == "client_secret_basic":
        client_id, secret = basic_credentials(request) or ("", "")
        if client_id and secret:
            client = _known(registry, client_id, 401)
            return client if registry.check_secret(client, secret) else None
        return None
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if method == "client_secret_post" and client_id and secret:
        client = _known(registry, client_id, 400)
        return client if registry.check_secret(client, secret) else None
    if method == "none" and client_id and not secret:
        return _known(registry, client_id, 400)
    return None


def authenticate_client(
    registry: RegisteredClients,
    request: Request,
    form: Mapping[str, str],
    methods: tuple[str, ...] = TOKEN_METHODS,
) -> RegisteredClient:
    """The authenticated client; each client may use only its one registered method."""
    for method in methods:
        client = _try_method(method, registry, request, form)
        if client is not None and client.token_endpoint_auth_method == method:
            return client
    description = f"The client cannot authenticate with methods: {list(methods)}"
    status = 401 if "client_secret_basic" in methods else 400
    raise OAuthError("invalid_client", description, status=status, basic_challenge=True)
