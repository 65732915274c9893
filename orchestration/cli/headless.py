"""Connect to a loopback Polar emulator without a browser (the demo, tests, benchmarks).

The real OAuth flow runs unchanged: the emulator auto-approves, and instead of a browser we GET
the authorization URL and follow its redirect to the loopback receiver.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection, connect
from connectors.polar.crypto import generate_key_entry
from connectors.polar.tls import tls_context


@contextmanager
def reserved_loopback_port() -> Iterator[int]:
    """A port on 127.0.0.1 held for the OAuth redirect receiver until the block ends.

    A port probed free and released is a race: until the receiver binds it, the kernel may hand
    it to any other socket (parallel test workers start emulators and connections all the
    time). This keeps it bound, not listening, with SO_REUSEADDR: the kernel hands it to no
    one else, while the receiver (which also sets SO_REUSEADDR) can still bind and listen.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def emulator_environment(
    base_url: str, client_id: str, client_secret: str, state_dir: Path
) -> dict[str, str]:
    """Environment variables pointing the product at an emulator, with a fresh key ring."""
    return {
        "POLAR_ENVIRONMENT": base_url,
        "POLAR_CLIENT_ID": client_id,
        "POLAR_CLIENT_SECRET": client_secret,
        "POLAR_TOKEN_KEYS": generate_key_entry(),
        "POLAR_METRICS_HOME": str(state_dir),
        "POLAR_METRICS_WAREHOUSE": str(state_dir / "warehouse.duckdb"),
    }


def play_browser(url: str) -> None:
    """Do what the browser would: open the authorize URL and follow redirects to the receiver."""
    response = httpx.get(url, follow_redirects=True, timeout=30.0, verify=tls_context())
    response.raise_for_status()


def connect_headless(
    settings: PolarSettings, name: str, port: int, login_hint: str | None = None
) -> PolarConnection:
    """Run the real connect flow against an auto-approving emulator (as `login_hint`'s user)."""
    return connect(
        settings,
        name,
        open_browser=False,
        port=port,
        on_url=play_browser,
        timeout=60,
        login_hint=login_hint,
    )
