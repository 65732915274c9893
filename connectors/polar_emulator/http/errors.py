"""HTTP errors of the emulator: the prepared-response exception and Polar's 401/403 bodies."""

from starlette.responses import JSONResponse, Response


class EmulatorHTTPError(Exception):
    """Raised by handlers to answer with a prepared response (turned into it by the app)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


INVALID_TOKEN_DESCRIPTION = (
    "The access token provided is expired, revoked, malformed, or invalid for other reasons."
)
INSUFFICIENT_SCOPE_DESCRIPTION = (
    "The request requires higher privileges than provided by the access token."
)
_JSON_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def unauthorized_response() -> JSONResponse:
    """401 for a request without usable credentials."""
    return JSONResponse(
        {"error": "Unauthorized", "detail": "Unauthorized"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="polar"'},
    )


def invalid_token_response() -> JSONResponse:
    """401 for an expired, revoked, unknown or malformed access token."""
    challenge = (
        f'Bearer realm="polar", error="invalid_token", '
        f'error_description="{INVALID_TOKEN_DESCRIPTION}"'
    )
    return JSONResponse(
        {"error": "invalid_token", "error_description": INVALID_TOKEN_DESCRIPTION},
        status_code=401,
        headers={"WWW-Authenticate": challenge, **_JSON_NO_STORE},
    )


def insufficient_scope_response(accepted_scopes: set[str]) -> JSONResponse:
    """403 when the token holds none of the scopes the endpoint accepts."""
    scope = " ".join(sorted(accepted_scopes))
    challenge = (
        f'Bearer realm="polar", scope="{scope}", error="insufficient_scope", '
        f'error_description="{INSUFFICIENT_SCOPE_DESCRIPTION}"'
    )
    return JSONResponse(
        {"error": "insufficient_scope", "error_description": INSUFFICIENT_SCOPE_DESCRIPTION},
        status_code=403,
        headers={"WWW-Authenticate": challenge, **_JSON_NO_STORE},
    )
