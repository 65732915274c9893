"""Fixtures for emulator tests: emulators served over real loopback HTTP, and an OAuth helper."""

import base64
import contextlib
import hashlib
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from connectors.polar.tls import tls_context
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import RunningEmulator, run_emulator

REDIRECT_URI = "http://127.0.0.1:8976/callback"
PRODUCT_SCOPES = (
    "openid email metrics:read subscriptions:read organizations:read orders:read refunds:read "
    "products:read customers:read"
)


@dataclass
class StandInUser:
    id: str
    email: str
    email_verified: bool
    organization_ids: list[str]


@dataclass
class StandInOrganization:
    id: str
    name: str
    slug: str
    status: str
    default_presentment_currency: str
    created_at: datetime = field(default_factory=lambda: datetime(2023, 1, 1, tzinfo=UTC))


class StandInWorld:
    """Only used while the simulation's world.py does not exist yet (same interface)."""

    def __init__(self, config: EmulatorConfig) -> None:
        user = StandInUser(str(uuid.uuid4()), "founder@example.com", True, [])
        self.users: dict[str, StandInUser] = {user.id: user}
        self.organizations: dict[str, StandInOrganization] = {}
        self.primary_user_id: str | None = user.id
        for name, currency in (("Acme", "usd"), ("Beta", "eur")):
            self.add_organization(name, "active", currency)

    def add_organization(self, name: str, status: str, currency: str) -> StandInOrganization:
        org = StandInOrganization(str(uuid.uuid4()), name, name.lower(), status, currency)
        self.organizations[org.id] = org
        self.users[self.primary_user_id or ""].organization_ids.append(org.id)
        return org

    def set_organization_status(self, org_id: str, status: str) -> None:
        self.organizations[org_id].status = status

    def visible_organizations(self, user_id: str, down_scope: list[str]) -> list:
        return [
            self.organizations[org_id]
            for org_id in self.users[user_id].organization_ids
            if self.organizations[org_id].status != "blocked"
            and (not down_scope or org_id in down_scope)
        ]


def world_for(config: EmulatorConfig) -> object:
    """The real simulated world when available, else the stand-in."""
    try:
        from connectors.polar_emulator.business.world import build_world
    except ModuleNotFoundError:
        return StandInWorld(config)
    return build_world(config)


StartEmulator = Callable[..., RunningEmulator]


@pytest.fixture
def start_emulator() -> Iterator[StartEmulator]:
    """Start emulators on 127.0.0.1 (free port) with config overrides; stopped at teardown."""
    with contextlib.ExitStack() as stack:

        def start(**overrides: object) -> RunningEmulator:
            config = EmulatorConfig(**{"auto_approve": True, **overrides})  # type: ignore[arg-type]
            return stack.enter_context(run_emulator(config, world=world_for(config)))

        yield start


@pytest.fixture
def emulator(start_emulator: StartEmulator) -> RunningEmulator:
    """One auto-approving emulator with the default scenario."""
    return start_emulator()


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class OAuthHelper:
    """Drives the emulator's OAuth endpoints the way a client application does."""

    running: RunningEmulator
    http: httpx.Client

    def authorize(self, **params: str) -> httpx.Response:
        """GET the authorize page with the demo client's defaults overridden by `params`."""
        query = {
            "client_id": self.running.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": PRODUCT_SCOPES,
            "state": "st4te",
            **params,
        }
        return self.http.get("/oauth2/authorize", params={k: v for k, v in query.items() if v})

    @staticmethod
    def redirect_params(response: httpx.Response) -> dict[str, str]:
        """The query parameters of a 302 redirect to the client."""
        assert response.status_code == 302, response.text
        query = urlsplit(response.headers["location"]).query
        return {key: values[0] for key, values in parse_qs(query).items()}

    def code(self, **params: str) -> tuple[str, str]:
        """An authorization code with an S256 challenge; gives (code, verifier)."""
        verifier, challenge = pkce_pair()
        response = self.authorize(code_challenge=challenge, code_challenge_method="S256", **params)
        return self.redirect_params(response)["code"], verifier

    def token(self, data: dict[str, str], **kwargs: object) -> httpx.Response:
        """POST the token endpoint with the demo client's credentials in the body."""
        body = {"client_id": self.running.client_id, "client_secret": self.running.client_secret}
        return self.http.post("/v1/oauth2/token", data={**body, **data}, **kwargs)  # type: ignore[arg-type]

    def connect(self, **params: str) -> dict[str, object]:
        """A full authorization-code + PKCE exchange; gives the token response."""
        code, verifier = self.code(**params)
        response = self.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            }
        )
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, refresh_token: str) -> httpx.Response:
        """A refresh_token exchange."""
        return self.token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def stats(self) -> dict[str, object]:
        """The emulator's counters."""
        return self.http.get("/__emulator__/stats").json()

    def faults(self, **settings: object) -> None:
        """Configure faults through the control path."""
        response = self.http.post("/__emulator__/faults", json=settings)
        assert response.status_code == 200, response.text

    def encoded(self, **params: str) -> str:
        """A query string (for hand-built URLs)."""
        return urlencode(params)


@pytest.fixture
def oauth(emulator: RunningEmulator) -> Iterator[OAuthHelper]:
    """An OAuthHelper bound to the default emulator."""
    with httpx.Client(base_url=emulator.base_url, timeout=10, verify=tls_context()) as http:
        yield OAuthHelper(emulator, http)


def bearer(token: object) -> dict[str, str]:
    """The Authorization header of an access token."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_header() -> Callable[[object], dict[str, str]]:
    """Builds `Authorization: Bearer` headers."""
    return bearer
