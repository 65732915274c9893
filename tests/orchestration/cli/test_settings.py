"""Bad settings: key ring, client secret, environment URL, timezone. Each a clear error."""

import base64
import os
from subprocess import CompletedProcess

import httpx
import pytest

from connectors.polar.client import PolarClient
from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from orchestration.cli.headless import reserved_loopback_port
from orchestration.extract.scopes import local_today
from tests.orchestration.cli.conftest import (
    ConnectedState,
    assert_clean_failure,
    run_cli,
    token_row,
)
from tests.soak.harness import refresh_round, soak_polar


def b64(raw: bytes) -> str:
    """Unpadded base64url, the key ring's encoding."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


SHORT_KEY = b64(b"\x01" * 31)


@pytest.mark.parametrize(
    ("ring", "problem"),
    [
        ("k1:not*base64!", "not valid base64"),
        (f"k1:{SHORT_KEY}", "31 bytes"),
        ("DUPLICATE", "appears twice"),
        ("just-a-key-without-id", "POLAR_TOKEN_KEYS"),
    ],
    ids=["bad-base64", "31-bytes", "duplicate-kid", "no-kid"],
)
def test_a_malformed_key_ring_is_refused_naming_the_problem_and_nothing_changes(
    connected: ConnectedState, ring: str, problem: str
) -> None:
    good = connected.env["POLAR_TOKEN_KEYS"]
    ring = f"{good},{good}" if ring == "DUPLICATE" else ring
    before = token_row(connected.token_store)
    key_material = [entry.split(":", 1)[-1] for entry in ring.split(",")]
    result = connected.cli("status", POLAR_TOKEN_KEYS=ring)
    assert_clean_failure(result, "POLAR_TOKEN_KEYS", problem, secrets=tuple(key_material))
    assert token_row(connected.token_store) == before


def test_a_missing_client_secret_is_named_before_connecting(connected: ConnectedState) -> None:
    with reserved_loopback_port() as port:
        result = connected.cli(
            "connect", "--no-browser", "--port", str(port), POLAR_CLIENT_SECRET=""
        )
    assert_clean_failure(result, "POLAR_CLIENT_SECRET", "polar.sh/settings")


def test_a_missing_client_secret_at_token_refresh_keeps_the_connection(
    connected: ConnectedState,
) -> None:
    before = token_row(connected.token_store)
    connected.polar.control("POST", "expire-access-tokens")
    # A custom range before the cached window is answered by Polar: it needs a fresh token.
    result = connected.cli(
        "summary", "--start", "2025-01-01", "--end", "2025-01-31", POLAR_CLIENT_SECRET=""
    )
    # It says why a secret is needed now (the refresh) and that nothing was lost.
    assert_clean_failure(result, "POLAR_CLIENT_SECRET", "token refresh", "unchanged")
    assert token_row(connected.token_store) == before
    assert connected.cli("status").returncode == 0


@pytest.mark.parametrize("value", ["ftp://x", "http://127.0.0.1:8765/api", "staging"])
def test_an_environment_that_is_not_polar_is_refused_with_the_accepted_values(
    connected: ConnectedState, value: str
) -> None:
    result = connected.cli("status", POLAR_ENVIRONMENT=value)
    assert_clean_failure(result, "POLAR_ENVIRONMENT", "production", "sandbox")


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, CompletedProcess[str]]:
    """(the URL, the CLI's answer) for a connection whose Polar no longer listens."""
    with soak_polar(tmp_path_factory.mktemp("gone"), 1) as polar:
        refresh_round(polar.settings, polar.settings.warehouse_path, window_days=7)
        env = dict(os.environ)
        url = polar.emulator.base_url
    # The emulator is gone: nothing listens at the connection's URL any more.
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)
    # A custom range before the cached window is answered by Polar, through the client.
    return url, run_cli(env, "summary", "--start", "2025-01-01", "--end", "2025-01-31")


def test_an_environment_where_nothing_listens_fails_with_a_network_error(
    unreachable: tuple[str, CompletedProcess[str]],
) -> None:
    assert_clean_failure(unreachable[1], "network error", "retry later")


def test_an_environment_where_nothing_listens_names_the_url(
    unreachable: tuple[str, CompletedProcess[str]],
) -> None:
    url, result = unreachable
    assert_clean_failure(result, url.removeprefix("http://"))


def test_a_legacy_timezone_name_polar_accepts_is_accepted(connected: ConnectedState) -> None:
    # Polar rejected Asia/Calcutta until #6421; its metrics endpoint tests now accept it.
    assert connected.cli("status", POLAR_METRICS_TIMEZONE="Asia/Calcutta").returncode == 0
    settings = PolarSettings.from_env({**connected.env, "POLAR_METRICS_TIMEZONE": "Asia/Calcutta"})
    connection = PolarConnection.open(settings)
    today = local_today(settings.timezone)
    with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
        response = client.get_metrics(start_date=today, end_date=today, timezone=settings.timezone)
    assert len(response.periods) == 1


@pytest.mark.parametrize("name", ["Mars/Olympus", "utc", "Europe/Paris "])
def test_a_timezone_that_does_not_exist_is_refused_at_start(
    connected: ConnectedState, name: str
) -> None:
    result = connected.cli("status", POLAR_METRICS_TIMEZONE=name)
    assert_clean_failure(result, "POLAR_METRICS_TIMEZONE", "Europe/Paris")


@pytest.mark.parametrize("name", ["posix/Europe/Paris", "right/UTC", "posixrules"])
def test_a_timezone_file_polar_would_reject_is_refused_at_start(
    connected: ConnectedState, name: str
) -> None:
    result = connected.cli("status", POLAR_METRICS_TIMEZONE=name)
    assert_clean_failure(result, "POLAR_METRICS_TIMEZONE")
