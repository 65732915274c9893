"""OAuth error responses shaped like Authlib's (Polar's OAuth server library)."""

from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.responses import JSONResponse, RedirectResponse, Response

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
CANNOT_AUTHENTICATE = f"The client cannot authenticate with methods: {TOKEN_AUTH_METHODS}"
UNKNOWN_CLIENT = "The client does not exist on this server."


class OAuthError(Exception):
    """An OAuth protocol error; `response()` renders it as Authlib would."""

    def __init__(
        self,
        error: str,
        description: str | None = None,
        status: int = 400,
        basic_challenge: bool = False,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status
        self.basic_challenge = basic_challenge
        self.redirect_uri: str | None = None  # set when the error may go back to the client
        self.state: str | None = None

    def body(self) -> dict[str, str]:
        """The JSON body: error, and error_description only when there is one."""
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body

    def response(self) -> Response:
        """The JSON error response with Authlib's no-store headers."""
        headers = dict(NO_STORE_HEADERS)
        if self.basic_challenge and self.status == 401:
            description = (self.description or "").replace('"', "|")
            headers["WWW-Authenticate"] = (
                f'Basic error="{self.error}", error_description="{description}"'
            )
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def invalid_client(description: str, status: int) -> OAuthError:
    """invalid_client as Authlib raises it (a 401 carries a Basic challenge)."""
    return OAuthError("invalid_client", description, status=status, basic_challenge=True)


def redirect_with(redirect_uri: str, params: dict[str, str | None]) -> Response:
    """302 to the client's redirect URI with the given query parameters appended."""
    parts = urlsplit(redirect_uri)
    extra = urlencode({key: value for key, value in params.items() if value is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return RedirectResponse(location, status_code=302)


def redirect_error(redirect_uri: str, error: OAuthError, state: str | None) -> Response:
    """An authorization error delivered to the client: 302 with error, description, state."""
    return redirect_with(
        redirect_uri,
        {"error": error.error, "error_description": error.description, "state": state},
    )
