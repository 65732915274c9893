"""Registered OAuth clients: the demo client made at start and dynamically registered ones."""

import hmac
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime

from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.oauth.issued_tokens import (
    CLIENT_ID_PREFIX,
    CLIENT_SECRET_PREFIX,
    TokenHasher,
    generate_token,
)
from connectors.polar_emulator.oauth.scopes import READ_ONLY_SCOPES, SCOPES_SUPPORTED

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


@dataclass
class RegisteredClient:
    """One OAuth client; secrets are kept as hashes only."""

    client_id: str
    secret_hash: str | None
    redirect_uris: list[str]
    token_endpoint_auth_method: str
    scopes: list[str]
    issued_at: datetime
    client_name: str = "Polar Metrics demo"
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code", "refresh_token"])
    response_types: list[str] = field(default_factory=lambda: ["code"])
    default_sub_type: str = "user"
    registration_token_hash: str | None = None
    metadata: dict[str, object] = field(default_factory=dict)  # client_uri, logo_uri, ...

    def __repr__(self) -> str:
        method = self.token_endpoint_auth_method
        return f"RegisteredClient(client_id={self.client_id!r}, method={method!r})"

    @property
    def is_public(self) -> bool:
        """Public clients (method `none`) have no secret and must use PKCE."""
        return self.token_endpoint_auth_method == "none"

    def allowed_scopes(self, requested: list[str]) -> list[str]:
        """Requested scopes the client is registered for (others are silently dropped)."""
        return [scope for scope in requested if scope in self.scopes]


def _demo_credentials(config: EmulatorConfig) -> tuple[str, str]:
    # Derived from the seed so restarts with the same flags keep the same printed client.
    rng = random.Random(f"polar-emulator-demo-client-{config.seed}")
    client_id = config.client_id or generate_token(CLIENT_ID_PREFIX, rng)
    client_secret = config.client_secret or generate_token(CLIENT_SECRET_PREFIX, rng)
    return client_id, client_secret


class RegisteredClients:
    """Thread-safe client table keyed by client_id."""

    def __init__(self, hasher: TokenHasher) -> None:
        self.hasher = hasher
        self._clients: dict[str, RegisteredClient] = {}
        self._lock = threading.Lock()

    def add(self, client: RegisteredClient) -> None:
        """Register or replace a client."""
        with self._lock:
            self._clients[client.client_id] = client

    def get(self, client_id: str | None) -> RegisteredClient | None:
        """The client with that id, if registered."""
        with self._lock:
            return self._clients.get(client_id or "")

    def remove(self, client_id: str) -> None:
        """Forget a client (RFC 7592 DELETE)."""
        with self._lock:
            self._clients.pop(client_id, None)

    def check_secret(self, client: RegisteredClient, secret: str) -> bool:
        """Whether the secret is the client's (constant-time comparison of hashes)."""
        if client.secret_hash is None:
            return False
        return hmac.compare_digest(client.secret_hash, self.hasher.hash(secret))

    def create_demo_client(self, config: EmulatorConfig, now: datetime) -> tuple[str, str]:
        """Register the demo client (all read-only scopes); gives its id and secret."""
        client_id, client_secret = _demo_credentials(config)
        scopes = [scope for scope in SCOPES_SUPPORTED if scope in READ_ONLY_SCOPES]
        self.add(
            RegisteredClient(
                client_id=client_id,
                secret_hash=self.hasher.hash(client_secret),
                redirect_uris=list(config.redirect_uris),
                token_endpoint_auth_method="client_secret_post",
                scopes=scopes,
                issued_at=now,
            )
        )
        return client_id, client_secret
