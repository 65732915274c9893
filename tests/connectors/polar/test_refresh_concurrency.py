"""Single-flight refresh across threads and processes, against the emulator over loopback."""

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.errors import NeedsReauthError, TokenStoreError
from connectors.polar.oauth import OAuthClient, TokenResponse
from connectors.polar.single_flight import refresh_lock
from tests.connectors.polar.conftest import Emulated
from tests.connectors.polar.helpers import (
    expire_in_store,
    fingerprint,
    generation,
    run_cli,
    stored_access_token,
    worker,
)

PROCESSES = 8
THREADS = 4
ROUNDS = 20


def _wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _api_call(connection: PolarConnection, emulator: Emulated) -> httpx.Response:
    with httpx.Client(auth=connection.http_auth(), timeout=30) as http:
        return http.get(f"{emulator.base_url}/v1/oauth2/userinfo")


def test_eight_processes_of_four_threads_refresh_an_expired_token_exactly_once(
    env: dict[str, str], settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    workers = [worker(env, "rounds", str(THREADS)) for _ in range(PROCESSES)]
    try:
        assert [process.stdout.readline().strip() for process in workers] == ["ready"] * 8
        for round_number in range(ROUNDS):
            # Even rounds: only Polar knows the token expired (every caller gets a 401).
            # Odd rounds: the store says so too (every caller refreshes before its call).
            emulator.control("POST", "expire-access-tokens")
            before = expire_in_store(settings) if round_number % 2 else generation(settings)
            emulator.control("POST", "stats/reset")
            for process in workers:
                process.stdin.write("go\n")
                process.stdin.flush()
            results = [item for p in workers for item in json.loads(p.stdout.readline())]
            stats = emulator.stats()
            assert stats["token_exchanges"]["refresh_token"] == 1, (round_number, stats)
            assert stats["invalid_grant"] == 0
            assert len(results) == PROCESSES * THREADS
            assert {r.get("status") for r in results} == {200}, results
            assert {r["token"] for r in results} == {fingerprint(stored_access_token(settings))}
            assert generation(settings) == before + 1
    finally:
        for process in workers:
            process.communicate("stop\n", timeout=30)
    assert [process.returncode for process in workers] == [0] * PROCESSES


def test_holder_of_the_old_token_rereads_the_winner_after_its_401(
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    assert _api_call(connected, emulator).status_code == 200  # A now holds the token
    expire_in_store(settings)
    emulator.control("POST", "stats/reset")
    b = worker(env, "call")  # B sees the expiry and refreshes, which kills A's token
    out, _ = b.communicate(timeout=30)
    assert json.loads(out)["status"] == 200
    response = _api_call(connected, emulator)
    stats = emulator.stats()
    assert response.status_code == 200
    assert stats["requests"]["GET /v1/oauth2/userinfo"] == 3  # B, A's 401, A's retry
    assert stats["token_exchanges"]["refresh_token"] == 1
    assert fingerprint(stored_access_token(settings)) == json.loads(out)["token"]


def test_a_lock_holder_killed_before_it_called_polar_frees_the_lock_for_the_next_refresher(
    tmp_path: Path,
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    """kill -9 of a process holding the refresh lock BEFORE its token call: the OS frees the lock.

    A kill during the exchange itself (after Polar rotated) is another case:
    test_rotation_interrupts.py covers SIGTERM there (chain kept) and SIGKILL (chain lost).
    """
    expire_in_store(settings)
    marker = tmp_path / "holding"
    holder = worker(env, "hold", str(marker))  # takes the real refresh lock, then stalls in it
    _wait_for(marker.exists)
    with pytest.raises(TokenStoreError), refresh_lock(settings.token_store_path, timeout=0.2):
        pass  # the seam's precondition: the holder process really holds the refresh lock
    contender = worker(env, "call")
    time.sleep(0.3)  # the contender is now waiting for the lock
    assert contender.poll() is None
    killed_at = time.monotonic()
    os.kill(holder.pid, signal.SIGKILL)
    out, err = contender.communicate(timeout=30)
    waited = time.monotonic() - killed_at
    holder.wait(timeout=10)
    assert json.loads(out)["status"] == 200, err
    assert waited < 5
    assert emulator.stats()["token_exchanges"]["refresh_token"] == 1
    assert connected.status == "active"
    assert _api_call(connected, emulator).status_code == 200


def test_connection_dropped_after_rotation_ends_in_needs_reauth_without_a_loop(
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    emulator.control("POST", "faults", {"drop_after_refresh_next": 1})
    emulator.control("POST", "expire-access-tokens")
    calls_before = emulator.token_calls()
    with pytest.raises(NeedsReauthError, match="polar-metrics connect"):
        _api_call(connected, emulator)
    assert emulator.token_calls() - calls_before <= 2
    assert connected.status == "needs_reauth"
    calls_after_failure = emulator.token_calls()
    later = worker(env, "call")
    out, _ = later.communicate(timeout=30)
    assert json.loads(out)["error"] == "NeedsReauthError"
    with pytest.raises(NeedsReauthError):
        _api_call(connected, emulator)
    status = run_cli(env, "status")
    assert status.returncode == 1 and "reconnect with `polar-metrics connect" in status.stdout
    assert emulator.token_calls() == calls_after_failure


def test_a_token_call_stalled_before_polar_handled_it_times_out_and_the_retry_overtakes_it(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulated, connected: PolarConnection
) -> None:
    """A read timeout on a token call Polar has NOT handled: the one retry is the only rotation.

    The emulator's `timeout_next` stalls the request before its OAuth server sees it; the client
    gives up at 0.3 s and hangs up, so the stalled request is never handled (its body can no
    longer be read), and the retry rotates. That is why the chain survives here: the timeout
    came before any rotation. A failure AFTER Polar rotated is another case (see
    test_connection_dropped_after_rotation_ends_in_needs_reauth_without_a_loop and
    test_rotation_interrupts.py).
    """
    monkeypatch.setattr("connectors.polar.oauth.TOKEN_TIMEOUT", httpx.Timeout(0.3))
    emulator.control(
        "POST",
        "faults",
        {"timeout_next": {"count": 1, "seconds": 1.0, "path_prefix": "/v1/oauth2/token"}},
    )
    emulator.control("POST", "expire-access-tokens")
    calls_before = emulator.token_calls()
    before = emulator.stats()
    response = _api_call(connected, emulator)
    assert response.status_code == 200
    assert emulator.token_calls() - calls_before == 2
    assert connected.status == "active"
    time.sleep(1.0)  # the stall is over: the abandoned original was never handled
    after = emulator.stats()
    rotations = (
        after["token_exchanges"]["refresh_token"] - before["token_exchanges"]["refresh_token"]
    )
    assert rotations == 1 and after["invalid_grant"] == before["invalid_grant"]


def test_organization_save_during_a_refresh_does_not_lose_the_rotated_pair(
    monkeypatch: pytest.MonkeyPatch,
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    # Organization discovery writes metadata without the refresh lock; make it land at the
    # worst moment: after Polar rotated, before the new pair is committed.
    real_refresh = OAuthClient.refresh
    organizations = connected.organizations()

    def refresh_then_concurrent_save(self: OAuthClient, refresh_token: str) -> TokenResponse:
        tokens = real_refresh(self, refresh_token)
        PolarConnection.open(settings).save_organizations(organizations[:1])
        return tokens

    monkeypatch.setattr(OAuthClient, "refresh", refresh_then_concurrent_save)
    emulator.control("POST", "expire-access-tokens")
    assert _api_call(connected, emulator).status_code == 200
    monkeypatch.undo()
    fresh = PolarConnection.open(settings)
    assert [o.id for o in fresh.organizations()] == [organizations[0].id]
    emulator.control("POST", "expire-access-tokens")
    assert _api_call(fresh, emulator).status_code == 200  # the rotated chain is intact
    assert fresh.status == "active"
