"""Where the CLI may send secrets, and `connect` against a Polar that does not answer.

Real `polar-metrics` processes; plain listening sockets count what reaches them.
"""

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connectors.polar.config import resolve_environment
from connectors.polar.errors import ConfigurationError
from tests.connectors.polar.conftest import free_port
from tests.connectors.polar.helpers import run_cli


@dataclass
class CountingServer:
    """A TCP listener that counts the connections it accepts."""

    host: str
    port: int
    accepted: list[bytes] = field(default_factory=list)


def outward_address() -> str | None:
    """This machine's address on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only picks the interface
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.fixture
def listening() -> Iterator[CountingServer]:
    """A server on a non-loopback address of this machine (skips where there is none)."""
    host = outward_address()
    if host is None:
        pytest.skip("this machine has no non-loopback address to listen on")
    listener = socket.create_server((host, 0))
    listener.settimeout(0.1)
    server = CountingServer(host, listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.settimeout(1)
                server.accepted.append(client.recv(65536))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join()
    listener.close()


def cli_env(tmp_path_str: str, environment: str) -> dict[str, str]:
    return {
        "POLAR_ENVIRONMENT": environment,
        "POLAR_CLIENT_ID": "polar_ci_test",
        "POLAR_CLIENT_SECRET": "polar_cs_not_for_the_network",
        "POLAR_TOKEN_KEYS": "k1:" + "A" * 43,
        "POLAR_METRICS_HOME": tmp_path_str,
    }


def test_plain_http_to_a_non_loopback_host_is_refused_before_any_request(
    tmp_path: Path, listening: CountingServer
) -> None:
    env = cli_env(str(tmp_path), f"http://{listening.host}:{listening.port}")
    result = run_cli(env, "connect", "--no-browser", "--timeout", "5")
    assert result.returncode == 1
    assert "plain http://" in result.stderr and "loopback" in result.stderr
    assert "polar_cs_not_for_the_network" not in result.stderr + result.stdout
    time.sleep(0.3)
    assert listening.accepted == []  # nothing, not even a connection, reached the server


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://127.3.4.5:1", "http://[::1]:8765", "http://localhost:8765"],
)
def test_plain_http_is_accepted_for_loopback_hosts(url: str) -> None:
    assert resolve_environment(url).api_base_url == url


@pytest.mark.parametrize(
    "url", ["http://10.0.0.5:8765", "http://polar.example.com", "http://127.0.0.1.example.com"]
)
def test_plain_http_is_refused_for_other_hosts_https_is_not(url: str) -> None:
    with pytest.raises(ConfigurationError, match="loopback"):
        resolve_environment(url)
    assert resolve_environment(url.replace("http://", "https://")).name == "emulator"


def test_connect_with_polar_down_fails_fast_naming_the_url(
    tmp_path: Path,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # the emulator is not running
    started = time.monotonic()
    result = run_cli(cli_env(str(tmp_path), dead), "connect", "--no-browser", "--timeout", "120")
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"unreachable: GET {dead}/.well-known/openid-configuration" in result.stderr
    assert "Open this URL" not in result.stdout  # no browser step was started
    assert elapsed < 30  # not the 120 s browser timeout
