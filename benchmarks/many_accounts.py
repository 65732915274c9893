"""Setup of `benchmarks.many_connections`: an emulator with many Polar accounts, each connected
through the real OAuth flow (login_hint), and the emulator's control paths."""

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from benchmarks.common import saved_environment
from connectors.polar.config import PolarSettings
from connectors.polar_emulator.config import EmulatorConfig, account_email
from connectors.polar_emulator.server import RunningEmulator, run_emulator
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)

CONNECTING_THREADS = 8  # each with its own loopback redirect port


def connection_name(number: int) -> str:
    """The connection made for extra account `number` (2..N+1)."""
    return f"account-{number:04d}"


@contextmanager
def many_accounts(
    state_dir: Path, connections: int, rate_limit: int
) -> Iterator[tuple[RunningEmulator, list[int]]]:
    """An emulator with `connections` extra accounts, rate limit `rate_limit` per client; its
    redirect ports (one per connecting thread). os.environ points at it."""
    with ExitStack() as held:  # the redirect ports stay reserved while accounts connect
        ports = [held.enter_context(reserved_loopback_port()) for _ in range(CONNECTING_THREADS)]
        with _emulator(state_dir, connections, rate_limit, ports) as emulator:
            yield emulator, ports


@contextmanager
def _emulator(
    state_dir: Path, connections: int, rate_limit: int, ports: list[int]
) -> Iterator[RunningEmulator]:
    config = EmulatorConfig(
        scenario="empty",
        accounts=connections + 1,
        rate_limit_per_minute=rate_limit,
        auto_approve=True,
        redirect_uris=tuple(f"http://127.0.0.1:{port}/callback" for port in ports),
    )
    with saved_environment(), run_emulator(config) as emulator:
        os.environ.update(
            emulator_environment(
                emulator.base_url, emulator.client_id, emulator.client_secret, state_dir
            )
        )
        os.environ["POLAR_METRICS_TIMEZONE"] = "UTC"
        yield emulator


def control(emulator: RunningEmulator, method: str, path: str, body: object = None) -> object:
    """Call one of the emulator's test-only control paths."""
    response = httpx.request(method, f"{emulator.base_url}/__emulator__/{path}", json=body)
    response.raise_for_status()
    return response.json()


def connect_all(emulator: RunningEmulator, ports: list[int], count: int) -> dict[str, list[str]]:
    """Connect accounts 2..count+1 through the real OAuth flow, a few at a time; each
    connection's organization ids. The limit is off meanwhile (setup, not measured)."""
    control(emulator, "POST", "faults", {"rate_limit_per_minute": None})
    settings = PolarSettings.from_env({**os.environ, "POLAR_RATE_LIMIT_PER_MINUTE": "0"})
    numbers = list(range(2, count + 2))

    def connect_share(thread: int) -> dict[str, list[str]]:
        made = {}
        for number in numbers[thread :: len(ports)]:
            name = connection_name(number)
            connection = connect_headless(
                settings, name, ports[thread], login_hint=account_email(number)
            )
            made[name] = [org.id for org in connection.organizations()]
        return made

    with ThreadPoolExecutor(len(ports)) as pool:
        shares = list(pool.map(connect_share, range(len(ports))))
    return {name: ids for share in shares for name, ids in sorted(share.items())}


def revoke_refresh_token(name: str) -> None:
    """Revoke `name`'s tokens at the emulator, as a user removing the app at polar.sh would."""
    from connectors.polar.crypto import KeyRing
    from connectors.polar.oauth import OAuthClient
    from connectors.polar.token_manager import REFRESH_FIELD
    from connectors.polar.token_store import TokenStore

    settings = PolarSettings.from_env()
    row = next(r for r in TokenStore(settings.token_store_path).all() if r.name == name)
    refresh = KeyRing.parse(settings.token_keys).decrypt(
        row.refresh_token_ct or "", connection=name, field_name=REFRESH_FIELD
    )
    OAuthClient.for_settings(settings).revoke(refresh, "refresh_token")
