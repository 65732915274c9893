"""Polar's HTTP conventions over loopback: versions, headers, redirects, errors, limits, auth."""

import asyncio
import socket

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.polar_emulator import EmulatorConfig, create_app
from connectors.polar_emulator.server import RunningEmulator
from tests.connectors.polar_emulator.conftest import OAuthHelper

INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed, or invalid for other reasons."
    ),
}


def _add_metrics_probe(running: RunningEmulator) -> None:
    """A /v1 route that enforces metrics:read through the real authenticate()."""

    async def probe(request: Request) -> JSONResponse:
        grant = request.app.state.emulator.authenticate(request, {"metrics:read"})
        return JSONResponse({"user_id": grant.user_id, "scopes": sorted(grant.scopes)})

    running.app.router.routes.append(Route("/v1/probe/", probe))


def test_version_header_is_echoed_and_defaults_to_2026_04(oauth: OAuthHelper) -> None:
    assert oauth.http.get("/.well-known/openid-configuration").headers["polar-version"] == "2026-04"
    newer = oauth.http.get(
        "/.well-known/openid-configuration", headers={"Polar-Version": "2026-10"}
    )
    assert newer.headers["polar-version"] == "2026-10"


@pytest.mark.parametrize("version", ["2025-01", "2027-01", "latest", "2026-4"])
def test_unsupported_version_is_404_for_every_path(oauth: OAuthHelper, version: str) -> None:
    for path in ("/.well-known/openid-configuration", "/v1/oauth2/userinfo"):
        response = oauth.http.get(path, headers={"Polar-Version": version})
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_responses_default_to_private_no_store(oauth: OAuthHelper) -> None:
    response = oauth.http.get("/.well-known/openid-configuration")
    assert response.headers["cache-control"] == "private, no-store"


def test_legacy_api_root_is_rewritten_with_a_deprecation_notice(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    response = oauth.http.get(
        "/api/v1/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200
    assert "moved from /api/v1 to /v1" in response.headers["x-polar-deprecation-notice"]


def test_non_canonical_trailing_slash_redirects_307(oauth: OAuthHelper) -> None:
    _add_metrics_probe(oauth.running)
    response = oauth.http.get("/v1/probe")
    assert response.status_code == 307
    assert response.headers["location"].endswith("/v1/probe/")
    token = oauth.http.post("/v1/oauth2/token/", content=b"")
    assert token.status_code == 307 and token.headers["location"].endswith("/v1/oauth2/token")


def test_unknown_route_is_polars_404(oauth: OAuthHelper) -> None:
    response = oauth.http.get("/v1/nothing-here/")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_post_without_content_length_is_411(emulator: RunningEmulator) -> None:
    host, port = emulator.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(
            b"POST /v1/oauth2/token HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        reply = raw.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 411")
    assert '{"error": "LengthRequired", "detail": "A Content-Length header is required."}' in reply


def test_body_over_10_mib_is_413(oauth: OAuthHelper) -> None:
    response = oauth.http.post("/v1/oauth2/token", content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "RequestBodyTooLarge"


def test_missing_credentials_is_401_unauthorized(oauth: OAuthHelper) -> None:
    _add_metrics_probe(oauth.running)
    response = oauth.http.get("/v1/probe/")
    assert (response.status_code, response.json()) == (
        401,
        {"error": "Unauthorized", "detail": "Unauthorized"},
    )
    assert response.headers["www-authenticate"] == 'Bearer realm="polar"'


def test_unknown_token_is_401_invalid_token_on_any_path(oauth: OAuthHelper) -> None:
    for path in ("/v1/probe/", "/v1/anything/"):
        response = oauth.http.get(path, headers={"Authorization": "Bearer polar_at_u_forged"})
        assert (response.status_code, response.json()) == (401, INVALID_TOKEN)
        assert response.headers["www-authenticate"].startswith(
            'Bearer realm="polar", error="invalid_token", error_description="'
        )


def test_expired_access_token_is_401_invalid_token(oauth: OAuthHelper) -> None:
    _add_metrics_probe(oauth.running)
    tokens = oauth.connect()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert oauth.http.get("/v1/probe/", headers=headers).status_code == 200
    oauth.http.post("/__emulator__/expire-access-tokens")
    assert oauth.http.get("/v1/probe/", headers=headers).json() == INVALID_TOKEN


def test_token_without_the_accepted_scope_is_403_insufficient_scope(oauth: OAuthHelper) -> None:
    _add_metrics_probe(oauth.running)
    tokens = oauth.connect(scope="organizations:read")
    response = oauth.http.get(
        "/v1/probe/", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 403
    description = "The request requires higher privileges than provided by the access token."
    assert response.json() == {"error": "insufficient_scope", "error_description": description}
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="polar", scope="metrics:read", error="insufficient_scope"'
    )


def test_rate_limit_is_per_oauth_client_with_empty_429(start_emulator) -> None:
    running = start_emulator(rate_limit_per_minute=3)
    _add_metrics_probe(running)
    with httpx.Client(base_url=running.base_url) as http:
        helper = OAuthHelper(running, http)
        tokens = helper.connect()  # the token request itself counts for this IP
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        statuses = [http.get("/v1/probe/", headers=headers).status_code for _ in range(4)]
        limited = http.get("/v1/probe/", headers=headers)
        other_identity = http.get("/v1/probe/")  # no bearer: keyed by IP, its own window
        stats = helper.stats()
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429 and limited.content == b""
    assert limited.headers["retry-after"] == "60"
    assert other_identity.status_code == 401
    assert stats["rate_limited"] == 2


def test_business_routes_enforce_scopes_and_canonical_slashes(oauth: OAuthHelper) -> None:
    tokens = oauth.connect(scope="organizations:read")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert oauth.http.get("/v1/organizations/", headers=headers).status_code == 200
    redirect = oauth.http.get("/v1/organizations", headers=headers)
    assert redirect.status_code == 307
    assert redirect.headers["location"].endswith("/v1/organizations/")
    metrics = oauth.http.get("/v1/metrics/limits", headers=headers)
    assert metrics.status_code == 403
    assert 'scope="metrics:read"' in metrics.headers["www-authenticate"]


def test_app_also_serves_in_process_through_httpx_asgi_transport() -> None:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(EmulatorConfig(scenario="single")))
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            return await client.get("/.well-known/openid-configuration")

    response = asyncio.run(fetch())
    assert response.status_code == 200
    assert response.json()["token_endpoint"] == "http://emulator/v1/oauth2/token"
    assert response.headers["polar-version"] == "2026-04"
