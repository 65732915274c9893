"""The `httpx.Auth` of a Polar connection: bearer token, refreshed single-flight."""

from collections.abc import Generator

import httpx

from connectors.polar.token_manager import TokenManager


class PolarBearerAuth(httpx.Auth):
    """Bearer auth for Polar: refreshes before expiry and once on a 401 (thread-safe)."""

    requires_response_body = False

    def __init__(self, manager: TokenManager) -> None:
        self._manager = manager

    def __repr__(self) -> str:
        return f"PolarBearerAuth(connection={self._manager.name!r}, token=***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with the current token; after a 401 retry once with a newer or refreshed one."""
        token = self._manager.token_for_request()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        newer = self._manager.after_unauthorized(token)
        if newer is not None:
            request.headers["Authorization"] = f"Bearer {newer}"
            yield request
