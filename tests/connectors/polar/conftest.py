"""Fixtures: a real emulator on loopback, settings pointing at it, and a browser stand-in.

Connection tests use `emulator` (an `Emulated`, fresh per test); client tests use `live_emulator`
(a `LiveEmulator` shared by the package, with a token obtained by hand: see live_emulator.py).
"""

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection, connect
from connectors.polar.crypto import generate_key_entry
from connectors.polar.tls import tls_context
from tests.connectors.polar.helpers import STARTED
from tests.connectors.polar.live_emulator import BearerToken, LiveEmulator, obtain_access_token


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def play_browser(authorize_url: str) -> httpx.Response:
    """Do what the browser does: open the authorize URL, follow the redirect to the receiver."""
    approval = httpx.get(authorize_url, timeout=10, verify=tls_context())
    assert approval.status_code in (302, 303), approval.text
    return httpx.get(approval.headers["location"], timeout=10, verify=tls_context())


@dataclass
class Emulated:
    """A running emulator, the callback port it accepts, and helpers for its control paths."""

    running: Any
    callback_port: int
    http: httpx.Client = field(
        default_factory=lambda: httpx.Client(timeout=30, verify=tls_context())
    )

    @property
    def base_url(self) -> str:
        return str(self.running.base_url)

    def control(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = self.http.request(method, f"{self.base_url}/__emulator__/{path}", json=json)
        response.raise_for_status()
        return response.json() if response.content else {}

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats")

    def token_calls(self) -> int:
        return int(self.stats()["requests"].get("POST /v1/oauth2/token", 0))


def start_emulator(scenario: str = "default") -> tuple[int, Any]:
    """The callback port and a context manager serving an auto-approving emulator for it."""
    from connectors.polar_emulator.config import EmulatorConfig
    from connectors.polar_emulator.server import run_emulator

    port = free_port()
    config = EmulatorConfig(
        scenario=scenario,
        auto_approve=True,
        rate_limit_per_minute=None,
        redirect_uris=(f"http://127.0.0.1:{port}/callback",),
    )
    return port, run_emulator(config)


@pytest.fixture
def emulator() -> Iterator[Emulated]:
    """The `default` scenario emulator, fresh per test."""
    port, context = start_emulator("default")
    with context as running:
        emulated = Emulated(running, port)
        yield emulated
        emulated.http.close()


@pytest.fixture(autouse=True)
def _no_stray_workers() -> Iterator[None]:
    """Kill any worker process a failed test left behind (only the ones the tests started)."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


@pytest.fixture
def env(tmp_path: Path, emulator: Emulated) -> dict[str, str]:
    """Environment variables of a polar-metrics process pointing at the emulator."""
    return environment_for(tmp_path, emulator)


def environment_for(tmp_path: Path, emulator: Emulated) -> dict[str, str]:
    """Settings as environment variables: emulator URL, demo client, a fresh key, tmp home."""
    return {
        "POLAR_ENVIRONMENT": emulator.base_url,
        "POLAR_CLIENT_ID": emulator.running.client_id,
        "POLAR_CLIENT_SECRET": emulator.running.client_secret,
        "POLAR_TOKEN_KEYS": generate_key_entry(),
        "POLAR_METRICS_HOME": str(tmp_path / "home"),
    }


@pytest.fixture
def settings(env: dict[str, str]) -> PolarSettings:
    """Settings read from those variables."""
    return PolarSettings.from_env(env)


@pytest.fixture
def connected(settings: PolarSettings, emulator: Emulated) -> PolarConnection:
    """A connection made through the real browser flow against the emulator."""
    return connect_in_process(settings, emulator)


def connect_in_process(
    settings: PolarSettings, emulator: Emulated, name: str = "default"
) -> PolarConnection:
    """Run `connect` with this process playing the browser."""

    return connect(
        settings,
        name,
        open_browser=False,
        port=emulator.callback_port,
        on_url=play_browser,
        timeout=10,
    )


@pytest.fixture(scope="package")
def live_emulator_factory() -> Iterator[Any]:
    """Starts emulators on demand (one per config) and stops them all at the end."""
    from connectors.polar_emulator.config import EmulatorConfig
    from connectors.polar_emulator.server import run_emulator

    with ExitStack() as stack:

        def start(**config: Any) -> LiveEmulator:
            cfg = EmulatorConfig(auto_approve=True, rate_limit_per_minute=None, **config)
            running = stack.enter_context(run_emulator(cfg))
            base_url = str(running.base_url).rstrip("/")
            token = obtain_access_token(base_url, running.client_id, running.client_secret)
            return LiveEmulator(running, BearerToken(token))

        yield start


@pytest.fixture(scope="package")
def default_emulator(live_emulator_factory: Any) -> LiveEmulator:
    """The `default` scenario, no rate limit."""
    return live_emulator_factory(scenario="default")


@pytest.fixture
def live_emulator(default_emulator: LiveEmulator) -> Iterator[LiveEmulator]:
    """The default emulator with no faults before and after the test."""
    default_emulator.clear_faults()
    yield default_emulator
    default_emulator.clear_faults()
