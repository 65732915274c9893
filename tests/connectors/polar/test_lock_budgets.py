"""Lock budgets: waiters outlast the longest legitimate hold; connect never strands an approval."""

import itertools
import time
from pathlib import Path

import httpx
import pytest

from connectors.polar import token_exchange
from connectors.polar.config import PolarSettings
from connectors.polar.errors import PolarError, TokenStoreError
from connectors.polar.interrupts import DeferredSignals
from connectors.polar.oauth import (
    OAuthClient,
    TokenCallInterrupted,
    TokenRateLimited,
    TokenResponse,
    TokenServerError,
)
from connectors.polar.token_exchange import (
    LONGEST_HOLD_SECONDS,
    REFRESH_LOCK_WAIT_SECONDS,
    RefreshExchange,
)
from connectors.polar.token_store import TokenStore
from tests.connectors.polar.conftest import Emulated, connect_in_process
from tests.connectors.polar.helpers import worker

OUTCOMES = ("429", "timeout", "5xx", "ok")
CALL_SECONDS = 10.0 + 30.0 + 30.0  # connect, write and read timeouts of TOKEN_TIMEOUT, all used up


class ClockedPolar:
    """A token endpoint answering a scripted sequence, each answer costing a full call budget."""

    def __init__(self, script: tuple[str, ...], clock: list[float]) -> None:
        self.script, self.clock = list(script), clock

    def refresh(self, refresh_token: str) -> TokenResponse:
        self.clock[0] += CALL_SECONDS
        outcome = self.script.pop(0) if self.script else "ok"
        if outcome == "429":
            raise TokenRateLimited("429", retry_after=60.0)
        if outcome == "timeout":
            raise TokenCallInterrupted("timed out")
        if outcome == "5xx":
            raise TokenServerError("503")
        return TokenResponse("a", "r", 3600, ())


def test_the_refresh_lock_wait_outlasts_every_sequence_of_token_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every order of 429s, timeouts and 5xx a holder can meet ends within LONGEST_HOLD_SECONDS."""
    clock = [0.0]
    monkeypatch.setattr(token_exchange.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    monkeypatch.setattr(token_exchange.time, "monotonic", lambda: clock[0])
    longest = 0.0
    for length in range(1, 6):
        for script in itertools.product(OUTCOMES, repeat=length):
            clock[0] = 0.0
            exchange = RefreshExchange("c", ClockedPolar(script, clock), DeferredSignals())  # type: ignore[arg-type]
            try:
                exchange.run("r")
            except PolarError:
                pass
            longest = max(longest, clock[0])
    commit = token_exchange.STORE_COMMIT_SECONDS
    assert longest + commit <= LONGEST_HOLD_SECONDS < REFRESH_LOCK_WAIT_SECONDS
    assert longest > 2 * 60  # the real worst case: two full rate-limit windows and more


def test_connect_that_cannot_take_the_lock_revokes_the_approval_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    env: dict[str, str],
    settings: PolarSettings,
    emulator: Emulated,
) -> None:
    issued: list[TokenResponse] = []
    real_exchange = OAuthClient.exchange_code

    def remember(self: OAuthClient, **kwargs: object) -> TokenResponse:
        issued.append(real_exchange(self, **kwargs))  # type: ignore[arg-type]
        return issued[-1]

    monkeypatch.setattr(OAuthClient, "exchange_code", remember)
    monkeypatch.setattr("connectors.polar.connection.REFRESH_LOCK_WAIT_SECONDS", 0.3)
    marker = tmp_path / "holding"
    holder = worker(env, "hold", str(marker), "30")  # a stuck process holding the lock
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline and holder.poll() is None
        time.sleep(0.01)
    with pytest.raises(TokenStoreError) as failed:
        connect_in_process(settings, emulator)
    message = str(failed.value)
    assert "could not be stored" in message and "revoked at Polar" in message
    assert "polar-metrics connect" in message
    holder.kill()
    # The approval's tokens are dead at Polar, and nothing was stored.
    refresh = httpx.post(
        f"{emulator.base_url}/v1/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": issued[0].refresh_token,
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
        },
    )
    assert refresh.status_code == 400 and refresh.json() == {"error": "invalid_grant"}
    assert TokenStore(settings.token_store_path).read("default") is None
