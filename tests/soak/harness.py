"""Soak harness: the `many` emulator, a real OAuth connection, a fault schedule, refresh rounds.

Everything is real: the emulator serves HTTP on loopback, the connection refreshes its tokens
through the emulator's OAuth server, and each round runs the extraction functions the Dagster
assets run (`sync_organizations` then `refresh_metrics`) into a real DuckDB file.
"""

import itertools
import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.polar.client import PolarClient
from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.crypto import KeyRing
from connectors.polar.tls import tls_context
from connectors.polar.token_store import TokenStore
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import RunningEmulator, run_emulator
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.extract.metrics import RefreshOutcome, refresh_metrics
from orchestration.extract.organizations import sync_organizations
from orchestration.extract.scopes import local_today, metrics_window

CONNECTION = "default"
METRICS = "/v1/metrics/"
ORGANIZATIONS_PATH = "/v1/organizations/"
TOKEN = "/v1/oauth2/token"
# Faults in the order the schedule injects them (cycled). 429s carry Retry-After 1 so waits stay
# short. The token endpoint gets one 503 and one 429 at a time: the refresh retries a 5xx once
# and waits out a 429, so neither may cost the connection (test_token_endpoint_faults.py covers
# the cases that must fail).
FAULT_CYCLE: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "faults",
        {"fail_next": {"count": 3, "status": 429, "retry_after": 1, "path_prefix": METRICS}},
    ),
    ("faults", {"latency_ms": 40}),
    ("expire-access-tokens", {}),
    ("faults", {"fail_next": {"count": 2, "status": 503, "path_prefix": ORGANIZATIONS_PATH}}),
    ("faults", {"malformed_json_next": {"count": 1, "path_prefix": METRICS}}),
    ("faults", {"latency_ms": 0}),
    ("faults", {"fail_next": {"count": 2, "status": 500, "path_prefix": METRICS}}),
    ("faults", {"fail_next": {"count": 1, "status": 503, "path_prefix": TOKEN}}),
    ("expire-access-tokens", {}),
    ("faults", {"fail_next": {"count": 2, "status": 502, "path_prefix": METRICS}}),
    ("faults", {"fail_next": {"count": 1, "status": 429, "retry_after": 1, "path_prefix": TOKEN}}),
    ("expire-access-tokens", {}),
)
# Newly issued access tokens live 65 s: within the 60 s refresh margin after 5 s, so refreshes
# before expiry happen during rounds as well as refreshes after a 401 (expire-access-tokens).
ACCESS_TOKEN_LIFETIME = 65


@dataclass
class SoakPolar:
    """A running `many` emulator with a connected `default` connection."""

    emulator: RunningEmulator
    settings: PolarSettings
    organization_count: int

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call a test-only control path; its JSON answer."""
        response = httpx.request(
            method,
            f"{self.emulator.base_url}/__emulator__/{path}",
            json=body,
            timeout=10,
            verify=tls_context(),
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def stats(self) -> dict[str, Any]:
        """The emulator's counters."""
        return dict(self.control("GET", "stats"))


@contextmanager
def soak_polar(state_dir: Path, organizations: int) -> Iterator[SoakPolar]:
    """The `many` scenario with `organizations` active organizations, connected headlessly."""
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario="many",
            orgs=organizations,
            rate_limit_per_minute=None,  # 429s come from the fault schedule, with Retry-After 1
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        emulator = stack.enter_context(run_emulator(config))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        env = emulator_environment(
            emulator.base_url, emulator.client_id, emulator.client_secret, state_dir
        )
        env["POLAR_METRICS_TIMEZONE"] = "UTC"
        for name, value in env.items():
            patch.setenv(name, value)
        settings = PolarSettings.from_env()
        connect_headless(settings, CONNECTION, port)
        yield SoakPolar(emulator, settings, organizations)


class FaultSchedule:
    """A background thread that injects the next fault of `FAULT_CYCLE` every `period` seconds."""

    def __init__(self, polar: SoakPolar, period: float, seed: int = 7) -> None:
        self._polar = polar
        self._period = period
        self._stop = threading.Event()
        self._random = random.Random(seed)
        self._thread = threading.Thread(target=self._run, name="fault-schedule", daemon=True)
        self.injected: list[str] = []

    def __enter__(self) -> "FaultSchedule":
        self._polar.control("POST", "faults", {"access_token_lifetime": ACCESS_TOKEN_LIFETIME})
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._polar.control("DELETE", "faults")

    def _run(self) -> None:
        for path, body in itertools.cycle(FAULT_CYCLE):
            # Jitter so faults land at different points of each round.
            if self._stop.wait(self._period * self._random.uniform(0.5, 1.5)):
                return
            self._polar.control("POST", path, body)
            self.injected.append(path if not body else next(iter(body)))


@dataclass
class TokenSnapshot:
    """What the token store holds for the connection after a round."""

    status: str
    generation: int
    tokens_decrypt: bool


@dataclass
class RoundResult:
    """One refresh round: its outcome and the token store afterwards."""

    outcome: RefreshOutcome
    tokens: TokenSnapshot
    organization_ids: list[str] = field(default_factory=list)


def token_snapshot(settings: PolarSettings) -> TokenSnapshot:
    """The connection's status and generation, and whether both ciphertexts decrypt."""
    row = TokenStore(settings.token_store_path).read(CONNECTION)
    assert row is not None, "the connection row disappeared from the token store"
    keyring = KeyRing.parse(settings.token_keys)
    try:
        for field_name, envelope in (
            ("access_token", row.access_token_ct),
            ("refresh_token", row.refresh_token_ct),
        ):
            keyring.decrypt(envelope or "", connection=CONNECTION, field_name=field_name)
        decrypts = True
    except Exception:
        decrypts = False
    return TokenSnapshot(row.status, row.generation, decrypts)


def refresh_round(
    settings: PolarSettings, warehouse_path: Path, *, window_days: int, concurrency: int = 8
) -> RoundResult:
    """One refresh as the assets do it: discover organizations, then the metrics window."""
    connection = PolarConnection.open(settings, CONNECTION)
    connection.ensure_usable()
    with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
        organizations = sync_organizations(
            client,
            warehouse_path=warehouse_path,
            connection_name=CONNECTION,
            environment=settings.environment.name,
            connection_status=connection.status,
        )
        connection.save_organizations(organizations)
        outcome = refresh_metrics(
            client,
            warehouse_path=warehouse_path,
            connection_name=CONNECTION,
            organizations=organizations,
            timezone=settings.timezone,
            window=metrics_window(local_today(settings.timezone), window_days),
            concurrency=concurrency,
        )
    return RoundResult(
        outcome, token_snapshot(settings), [o.id for o in organizations if o.is_queried]
    )
