"""Interrupts during a token rotation, against the emulator's `stall_after_refresh_next` fault.

The fault makes the emulator rotate (the old refresh token dies at once, as at Polar) and then
hold the answer back, so a signal lands exactly in the window where only the answer in flight
holds the live refresh token.
"""

import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.errors import NeedsReauthError
from connectors.polar.interrupts import interrupts_deferred
from tests.connectors.polar.conftest import Emulated
from tests.connectors.polar.helpers import expire_in_store, generation, worker

STALL_SECONDS = 2.0


@pytest.fixture(autouse=True)
def sigint_as_in_a_terminal() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here, also when the suite was started where SIGINT is
    ignored (a background job of a shell without job control)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def api_call(connection: PolarConnection, emulator: Emulated) -> httpx.Response:
    """One authenticated API call through the connection's refreshing auth."""
    with httpx.Client(auth=connection.http_auth(), timeout=30) as http:
        return http.get(f"{emulator.base_url}/v1/oauth2/userinfo")


def refreshes(emulator: Emulated) -> int:
    return int(emulator.stats()["token_exchanges"]["refresh_token"])


def start_refresher_into_the_stall(
    env: dict[str, str], settings: PolarSettings, emulator: Emulated
) -> subprocess.Popen[str]:
    """A worker process whose refresh Polar has rotated and whose answer is held back."""
    expire_in_store(settings)
    emulator.control("POST", "faults", {"stall_after_refresh_next": {"seconds": STALL_SECONDS}})
    before = refreshes(emulator)
    process = worker(env, "call")
    deadline = time.monotonic() + 20
    while refreshes(emulator) == before:  # rotated at the emulator: the old token is dead now
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.01)
    return process


def test_sigterm_while_polar_holds_back_the_rotated_pair_keeps_the_connection_usable(
    env: dict[str, str], settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    generation_before = generation(settings)
    process = start_refresher_into_the_stall(env, settings, emulator)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    # The signal still stops the process, as SIGTERM does, but only after the commit.
    assert process.returncode == -signal.SIGTERM, err
    assert "SIGTERM received during the token exchange" in err
    assert generation(settings) == generation_before + 2  # expire_in_store, then the new pair
    # A later refresh with the stored refresh token works: the chain survived.
    emulator.control("POST", "expire-access-tokens")
    later = PolarConnection.open(settings)
    assert api_call(later, emulator).status_code == 200
    assert later.status == "active"
    assert emulator.stats()["invalid_grant"] == 0


def test_sigkill_in_the_same_window_loses_the_chain_as_the_readme_documents(
    env: dict[str, str], settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    # SIGKILL cannot be deferred and Polar has no grace period for a used refresh token: the
    # remaining window (README, Troubleshooting). The next refresh says to reconnect.
    process = start_refresher_into_the_stall(env, settings, emulator)
    process.kill()
    process.communicate(timeout=30)
    later = PolarConnection.open(settings)
    with pytest.raises(NeedsReauthError, match="polar-metrics connect"):
        api_call(later, emulator)
    assert later.status == "needs_reauth"


def test_a_refresh_in_another_thread_commits_while_the_main_thread_is_interrupted(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    # Signals cannot be deferred outside the main thread; the refresh there is not interrupted
    # by them either, and it commits the pair it received.
    expire_in_store(settings)
    emulator.control("POST", "faults", {"stall_after_refresh_next": {"seconds": 1.0}})
    results: list[int] = []
    refresher = threading.Thread(
        target=lambda: results.append(api_call(connected, emulator).status_code)
    )
    refresher.start()
    with pytest.raises(KeyboardInterrupt):
        time.sleep(0.3)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C reaches the main thread, not the refresher
        time.sleep(5)
    refresher.join(timeout=30)
    assert results == [200]
    emulator.control("POST", "expire-access-tokens")
    assert api_call(PolarConnection.open(settings), emulator).status_code == 200


def test_sigint_inside_the_deferral_is_delivered_once_the_block_ends() -> None:
    reached_end_of_block = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred() as deferred:
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.05)  # the handler has run: it only noted the signal
            assert deferred.pending
            reached_end_of_block = True
    assert reached_end_of_block
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_the_process_ignores_stays_ignored_inside_the_deferral(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A process started with SIGTERM ignored must not start stopping on it (nor say so)."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with interrupts_deferred() as deferred:
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
            signal.raise_signal(signal.SIGTERM)
            time.sleep(0.05)
        assert not deferred.pending
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert "received during the token exchange" not in caplog.text
