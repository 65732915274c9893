"""The Polar connection and its API client as a Dagster resource (key `polar`)."""

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import httpx
from pydantic import Field

from connectors.polar.config import PolarSettings, resolve_environment, validate_timezone
from orchestration.defs.common.resources import env_or_none
from orchestration.extract.scopes import local_today, metrics_window

if TYPE_CHECKING:
    from connectors.polar.client import PolarClient
    from connectors.polar.connection import PolarConnection


class PolarResource(dg.ConfigurableResource):
    """A Polar connection: settings, the stored OAuth connection and an API client using it.

    Every field left unset falls back to the environment variable documented in the README
    (`PolarSettings.from_env`), so the CLI, `dagster dev` and tests agree on one configuration.
    """

    connection_name: str = Field(default="default", description="Stored connection to use.")
    environment: str | None = Field(
        default=None, description="production, sandbox or an emulator base URL."
    )
    client_id: str | None = Field(default=None, description="OAuth client id (EnvVar).")
    client_secret: str | None = Field(default=None, description="OAuth client secret (EnvVar).")
    token_keys: str | None = Field(default=None, description="Token key ring (EnvVar).")
    state_dir: str | None = Field(default=None, description="POLAR_METRICS_HOME.")
    window_days: int | None = Field(default=None, description="Cached window (default 90).")
    timezone: str | None = Field(default=None, description="Reporting timezone (default UTC).")
    concurrency: int | None = Field(default=None, description="Concurrent metrics calls.")
    rate_limit_per_minute: int | None = Field(
        default=None, description="Request budget per minute; 0 = off."
    )
    request_timeout_seconds: float | None = Field(
        default=None, description="Read timeout per request (default: the client's, 30 s)."
    )

    def settings(self) -> PolarSettings:
        """The effective settings: the environment, overridden by whatever is set here."""
        base = PolarSettings.from_env()
        overrides: dict[str, object] = {}
        if self.environment:
            overrides["environment"] = resolve_environment(self.environment)
        for name in ("client_id", "client_secret", "token_keys", "window_days", "concurrency"):
            if getattr(self, name):
                overrides[name] = getattr(self, name)
        if self.state_dir:
            overrides["home"] = Path(self.state_dir).expanduser()
        if self.timezone:
            overrides["timezone"] = validate_timezone(self.timezone)
        if self.rate_limit_per_minute is not None:
            overrides["rate_limit_per_minute"] = self.rate_limit_per_minute or None
        return dataclasses.replace(base, **overrides)

    def open_connection(self) -> "PolarConnection":
        """The stored connection (its status is re-read from the token store on each access)."""
        from connectors.polar.connection import PolarConnection

        return PolarConnection.open(self.settings(), self.connection_name)

    @contextmanager
    def client(self, connection: "PolarConnection") -> Iterator["PolarClient"]:
        """An API client whose every request carries the connection's valid access token."""
        from connectors.polar.client import PolarClient

        settings = self.settings()
        timeout = (
            httpx.Timeout(self.request_timeout_seconds, connect=10.0)
            if self.request_timeout_seconds
            else None
        )
        client = PolarClient.for_connection(
            settings, self.connection_name, connection.http_auth(), timeout=timeout
        )
        try:
            yield client
        finally:
            client.close()

    def today(self) -> date:
        """Today in the reporting timezone."""
        return local_today(self.settings().timezone)

    def window(self) -> tuple[date, date]:
        """The cached window ending today."""
        return metrics_window(self.today(), self.settings().window_days)


def polar_resource() -> PolarResource:
    """The resource as configured by the environment; secrets only as `EnvVar` references."""
    return PolarResource(
        client_id=env_or_none("POLAR_CLIENT_ID"),
        client_secret=env_or_none("POLAR_CLIENT_SECRET"),
        token_keys=env_or_none("POLAR_TOKEN_KEYS"),
    )


defs = dg.Definitions(resources={"polar": polar_resource()})
