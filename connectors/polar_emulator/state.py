"""The state of one emulator instance, shared by every route through `app.state.emulator`."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.http.errors import (
    EmulatorHTTPError,
    insufficient_scope_response,
    invalid_token_response,
    unauthorized_response,
)
from connectors.polar_emulator.http.faults import FaultState
from connectors.polar_emulator.http.rate_limit import FixedWindowLimiter
from connectors.polar_emulator.http.stats import EmulatorStats
from connectors.polar_emulator.oauth.clients import RegisteredClients
from connectors.polar_emulator.oauth.id_tokens import IdTokenSigner
from connectors.polar_emulator.oauth.issued_tokens import AccessGrant, IssuedToken, IssuedTokens


def bearer_token(request: Request) -> str | None:
    """The bearer token of the Authorization header, if that is its scheme."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


class EmulatorState:
    """Config, world, tokens, clients, faults and stats of one running emulator."""

    def __init__(self, config: EmulatorConfig, world: Any) -> None:
        self.config = config
        self.world = world
        self.stats = EmulatorStats()
        self.faults = FaultState(self.stats)
        self.tokens = IssuedTokens()
        self.clients = RegisteredClients(self.tokens.hasher)
        self.signer = IdTokenSigner()
        self.limiter = FixedWindowLimiter()
        self._started = time.monotonic()
        self.clock_shift = timedelta(0)  # tests move time forward (code expiry) through this
        self.business_shift = timedelta(0)  # `/__emulator__/clock`: the business only
        self.demo_client_id, self._demo_client_secret = self.clients.create_demo_client(
            config, self.auth_clock()
        )

    def __repr__(self) -> str:
        return f"EmulatorState(scenario={self.config.scenario!r}, client={self.demo_client_id!r})"

    @property
    def demo_client_secret(self) -> str:
        """The demo client's secret (a fake credential, printed by the CLI)."""
        return self._demo_client_secret

    def clock(self) -> datetime:
        """Aware UTC now of the business: fixed or real time, plus the test and clock shifts."""
        base = self.config.now.astimezone(UTC) if self.config.now else datetime.now(UTC)
        return base + self.clock_shift + self.business_shift

    def advance_business(self, days: float) -> datetime:
        """Move the simulated business forward; tokens and codes keep their own time."""
        self.business_shift += timedelta(days=days)
        return self.clock()

    def auth_clock(self) -> datetime:
        """Aware UTC now for OAuth lifetimes: runs in real time even from a fixed `config.now`.

        The world's clock stays frozen for reproducible numbers, but codes and tokens must
        still expire while a test or demo waits.
        """
        elapsed = timedelta(seconds=time.monotonic() - self._started)
        base = self.config.now.astimezone(UTC) + elapsed if self.config.now else datetime.now(UTC)
        return base + self.clock_shift

    def access_token_lifetime(self, grant_type: str) -> int:
        """Seconds a new access token lives: run-time override, else Polar's per-grant value."""
        override = self.faults.access_token_lifetime
        if override is not None:
            return override
        if grant_type == "authorization_code":
            return self.config.access_token_lifetime_code
        return self.config.access_token_lifetime_refresh

    def usable_record(self, token: str | None) -> IssuedToken | None:
        """The record behind a live access token whose user still exists."""
        record = self.tokens.find_access(token) if token else None
        if record is None or not record.access_usable(self.auth_clock()):
            return None
        if record.user_id not in self.world.users:
            return None
        return record

    def authenticate(self, request: Request, accepted_scopes: set[str]) -> AccessGrant:
        """The grant of the request's bearer token, or EmulatorHTTPError (401/403) as Polar."""
        token = bearer_token(request)
        if token is None:
            raise EmulatorHTTPError(unauthorized_response())
        record = self.usable_record(token)
        if record is None:
            raise EmulatorHTTPError(invalid_token_response())
        if not accepted_scopes & set(record.scopes):
            raise EmulatorHTTPError(insufficient_scope_response(accepted_scopes))
        return AccessGrant(
            user_id=record.user_id,
            client_id=record.client_id,
            scopes=frozenset(record.scopes),
            organization_ids=list(record.organization_ids),
        )
