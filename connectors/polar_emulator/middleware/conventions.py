"""Polar's HTTP conventions as ASGI middleware: versions, headers, body limits, rate limit."""

import json
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.polar_emulator.http.errors import invalid_token_response
from connectors.polar_emulator.http.rate_limit import RATE_WINDOW_SECONDS
from connectors.polar_emulator.state import EmulatorState

SUPPORTED_VERSIONS = ("2026-04", "2026-10")
DEFAULT_VERSION = "2026-04"
CONTROL_PREFIX = "/__emulator__"
MAX_BODY_BYTES = 10 * 1024 * 1024
DEPRECATION_NOTICE = "The API root has moved from /api/v1 to /v1. Please update your integration."
_LEGACY_ROOT = re.compile(r"^/api/v1")
_VERSION_PATTERN = re.compile(r"(\d{4})-(\d{2})")


def is_control(scope: Scope) -> bool:
    """Whether the request targets the test-only control paths (exempt from conventions)."""
    return scope["path"].startswith(CONTROL_PREFIX)


def _is_frontend(scope: Scope) -> bool:
    return scope["path"].startswith("/oauth2/")


def _state(scope: Scope) -> EmulatorState:
    return scope["app"].state.emulator


def _json_error(status: int, body: dict[str, object]) -> Response:
    payload = json.dumps(body).encode()
    return Response(payload, status_code=status, media_type="application/json")


def resolve_version(header: str | None) -> str | None:
    """The API version a request asks for (default when absent); None if unsupported."""
    if not header:
        return DEFAULT_VERSION
    match = _VERSION_PATTERN.fullmatch(header)
    if match is None:
        return None
    version = f"{match.group(1)}-{int(match.group(2)):02d}"
    return version if version in SUPPORTED_VERSIONS else None


class BodyLimitMiddleware:
    """411 without Content-Length on POST/PUT/PATCH, 413 above 10 MiB (Polar's limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not is_control(scope):
            length = Headers(scope=scope).get("content-length")
            if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                body = {"error": "LengthRequired", "detail": "A Content-Length header is required."}
                return await _json_error(411, body)(scope, receive, send)
            if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
                detail = (
                    f"Request body exceeded the maximum allowed size of {MAX_BODY_BYTES} bytes."
                )
                body = {"error": "RequestBodyTooLarge", "detail": detail}
                return await _json_error(413, body)(scope, receive, send)
        await self.app(scope, receive, send)


class PolarHeadersMiddleware:
    """Counts requests, rewrites /api/v1, checks and echoes Polar-Version, adds Cache-Control."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_control(scope):
            return await self.app(scope, receive, send)
        scope["path"], rewritten = _LEGACY_ROOT.subn("/v1", scope["path"])
        _state(scope).stats.count_request(scope["method"], scope["path"])
        version = resolve_version(Headers(scope=scope).get("polar-version"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if version is not None:
                    headers["Polar-Version"] = version
                if "cache-control" not in headers:
                    headers["Cache-Control"] = "private, no-store"
                if rewritten:
                    headers["X-Polar-Deprecation-Notice"] = DEPRECATION_NOTICE
            await send(message)

        if version is None:  # Polar answers 404 for every path, without echoing a version
            return await _json_error(404, {"detail": "Not Found"})(
                scope, receive, send_with_headers
            )
        await self.app(scope, receive, send_with_headers)


def rate_identity(scope: Scope, state: EmulatorState) -> str:
    """Polar's bucket key: the OAuth client of the bearer token, else the client IP."""
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        record = state.tokens.find_access(token.strip())
        if record is not None:
            return f"oauth2_client:{record.client_id}"
        return f"pending_auth:{state.tokens.hasher.hash(token.strip())}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


class RateLimitMiddleware:
    """429 with an empty body and Retry-After: 60 over the per-minute budget (before auth)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1"):
            state = _state(scope)
            limit = state.faults.rate_limit(state.config.rate_limit_per_minute)
            if limit is not None and not state.limiter.allow(rate_identity(scope, state), limit):
                state.stats.count("rate_limited")
                headers = {"Retry-After": str(RATE_WINDOW_SECONDS)}
                return await Response(status_code=429, headers=headers)(scope, receive, send)
        await self.app(scope, receive, send)


class BearerTokenMiddleware:
    """Rejects an unusable bearer access token before routing, like Polar's auth middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The authorize page belongs to the polar.sh frontend, not to the API host.
        if scope["type"] == "http" and not is_control(scope) and not _is_frontend(scope):
            scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
            token = token.strip()
            # Registration access tokens are checked by the registration endpoints themselves.
            if scheme.lower() == "bearer" and token and not token.startswith("polar_crt_"):
                if _state(scope).usable_record(token) is None:
                    return await invalid_token_response()(scope, receive, send)
        await self.app(scope, receive, send)
