"""Errors raised by the Polar connection. Every message says what went wrong and what to do.

No message ever contains a token, a client secret or a key.
"""


class PolarError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(PolarError):
    """The environment is missing or has a malformed setting (names the variable and the fix)."""


class TokenCryptoError(PolarError):
    """A stored ciphertext cannot be decrypted: wrong key, unknown key id, tampered or moved."""


class TokenStoreError(PolarError):
    """The token store file is unreadable, corrupt or locked."""


class StaleGenerationError(TokenStoreError):
    """A write was based on an older generation of the connection row than the stored one."""


class ConnectionNotFoundError(PolarError):
    """No stored connection has this name (run `polar-metrics connect`)."""


class NeedsReauthError(PolarError):
    """Polar refused the refresh token; the user must reconnect with `polar-metrics connect`."""


class OAuthError(PolarError):
    """The OAuth flow failed (state mismatch, denied consent, unexpected scopes, bad response)."""


class PolarAPIError(PolarError):
    """Polar answered a request with an error status; carries the status and Polar's message."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class InsufficientScopeError(PolarAPIError):
    """Polar answered 403 `insufficient_scope`: the token lacks a scope the endpoint requires."""

    def __init__(self, message: str, *, scopes: tuple[str, ...] = ()) -> None:
        super().__init__(message, status_code=403)
        self.scopes = scopes


class EndpointNotServedError(PolarAPIError):
    """Polar answered 404 to a list endpoint: this Polar (or emulator) does not serve it."""


class RateLimitedError(PolarAPIError):
    """Polar kept answering 429 after the allowed number of waits."""


class InvalidRangeError(PolarError):
    """A requested date range is outside what Polar or the cache can answer."""
