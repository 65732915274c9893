"""Fixtures: a real emulator on loopback, connected through the real OAuth flow, per module.

The product reads its configuration from the environment (as `dagster dev` and the CLI do), so
the fixtures set environment variables; each test gets its own warehouse file.
"""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from connectors.polar.client import PolarClient
from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.tls import tls_context
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import RunningEmulator, run_emulator
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)


@dataclass
class EmulatedPolar:
    """A running emulator, the environment pointing at it, and control-path helpers."""

    emulator: RunningEmulator
    env: dict[str, str]
    state_dir: Path

    @property
    def base_url(self) -> str:
        """The emulator's origin."""
        return self.emulator.base_url

    def settings(self) -> PolarSettings:
        """Settings as the product reads them (from the current environment)."""
        return PolarSettings.from_env()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call a test-only control path; its JSON answer."""
        response = httpx.request(
            method, f"{self.base_url}/__emulator__/{path}", json=body, verify=tls_context()
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def faults(self, **faults: Any) -> None:
        """Inject faults."""
        self.control("POST", "faults", faults)

    def metrics_requests(self) -> int:
        """How many `GET /v1/metrics/` requests the emulator answered so far."""
        return int(self.control("GET", "stats")["requests"].get("GET /v1/metrics/", 0))

    @contextmanager
    def client(self) -> Iterator[PolarClient]:
        """A direct API client over the stored connection (to compare with the warehouse)."""
        settings = self.settings()
        connection = PolarConnection.open(settings, "default")
        with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
            yield client


@contextmanager
def emulated_polar(
    state_dir: Path, scenario: str = "default", **config: Any
) -> Iterator[EmulatedPolar]:
    """Start an emulator, point the environment at it and connect `default` headlessly."""
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        emulator_config = EmulatorConfig(
            scenario=scenario,
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
            **config,
        )
        emulator = stack.enter_context(run_emulator(emulator_config))
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        env = emulator_environment(
            emulator.base_url, emulator.client_id, emulator.client_secret, state_dir
        )
        env["POLAR_METRICS_CONCURRENCY"] = "4"
        env["POLAR_METRICS_TIMEZONE"] = "UTC"
        for name, value in env.items():
            patch.setenv(name, value)
        connect_headless(PolarSettings.from_env(), "default", port)
        yield EmulatedPolar(emulator, env, state_dir)


@pytest.fixture(scope="module")
def polar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """The `default` scenario, connected once per module. Its business clock stands still at the
    module's start: today's values keep moving on a running clock (an order, a refund), so a test
    comparing the warehouse with a later answer would otherwise race the business (seen in CI)."""
    frozen = datetime.now(UTC)
    with emulated_polar(tmp_path_factory.mktemp("state"), now=frozen) as running:
        yield running


@pytest.fixture
def warehouse_path(
    polar: EmulatedPolar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh warehouse file for this test; faults cleared afterwards."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("POLAR_METRICS_WAREHOUSE", str(path))
    yield path
    polar.control("DELETE", "faults")


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
