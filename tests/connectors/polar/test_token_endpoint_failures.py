"""Every way a token call can break ends in a clear error, and nothing Polar rotated is lost.

Against the real emulator over loopback; a transport stands in only where a real one cannot run
here (an HTTPS proxy refusing CONNECT, a corrupt content encoding).
"""

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.polar.config import PolarEnvironment, PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.errors import NeedsReauthError, OAuthError, PolarError
from connectors.polar.retry import retry_after_seconds
from connectors.polar.token_store import TokenStore
from tests.connectors.polar.conftest import Emulated, connect_in_process
from tests.connectors.polar.test_token_endpoint_retries import (
    TOKEN_PATH,
    api_call,
    assert_no_token_in,
    route_token_calls,
    stored_tokens,
    token_row,
)


class Raising(httpx.BaseTransport):
    """A transport failing the way an httpx error says (what a proxy or decoder would do)."""

    def __init__(self, error: type[httpx.HTTPError]) -> None:
        self.error = error

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise self.error("stand-in", request=request)  # type: ignore[call-arg]


class StrippingGateway(httpx.BaseTransport):
    """Forwards for real (Polar rotates) and drops `expires_in` from the token answer."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with httpx.HTTPTransport() as upstream:
            response = upstream.handle_request(request)
            response.read()
        if request.url.path != TOKEN_PATH or response.status_code != 200:
            return httpx.Response(response.status_code, content=response.content)
        body = response.json()
        body.pop("expires_in")
        return httpx.Response(200, json=body)


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """A loopback server answering every connection with bytes that are not HTTP."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.recv(65536)
                client.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    listener.close()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (httpx.ProxyError, "HTTPS_PROXY"),
        (httpx.LocalProtocolError, "not valid HTTP"),
        (httpx.DecodingError, "could not be decoded"),
        (httpx.UnsupportedProtocol, "POLAR_ENVIRONMENT"),
    ],
)
def test_a_transport_failure_of_the_token_call_is_a_clear_error_and_keeps_the_tokens(
    monkeypatch: pytest.MonkeyPatch,
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
    error: type[httpx.HTTPError],
    says: str,
) -> None:
    before, tokens = token_row(settings), stored_tokens(settings)
    route_token_calls(monkeypatch, transport=Raising(error))
    emulator.control("POST", "expire-access-tokens")
    with pytest.raises(OAuthError, match=says) as failed:
        api_call(connected, emulator)
    assert error.__name__ in str(failed.value) and "unchanged" in str(failed.value)
    assert_no_token_in(failed.value, tokens)
    assert token_row(settings) == before
    monkeypatch.undo()
    assert api_call(connected, emulator).status_code == 200


def test_a_token_endpoint_answering_garbage_is_a_protocol_error_not_a_raw_exception(
    monkeypatch: pytest.MonkeyPatch,
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
    garbage_server: str,
) -> None:
    before = token_row(settings)
    environment = PolarEnvironment("emulator", garbage_server, garbage_server, None)
    route_token_calls(monkeypatch, environment=environment)
    emulator.control("POST", "expire-access-tokens")
    with pytest.raises(OAuthError, match="not valid HTTP .RemoteProtocolError.") as failed:
        api_call(connected, emulator)
    assert garbage_server in str(failed.value) and "failed twice" in str(failed.value)
    assert token_row(settings) == before


def test_a_truncated_200_after_rotation_says_the_chain_is_lost_and_to_reconnect(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    emulator.control("POST", "faults", {"malformed_json_next": {"path_prefix": TOKEN_PATH}})
    emulator.control("POST", "expire-access-tokens")
    calls = emulator.token_calls()
    with pytest.raises(NeedsReauthError) as failed:
        api_call(connected, emulator)
    message = str(failed.value)
    assert "HTTP 200" in message and "refresh_token" in message
    assert "already rotated" in message and "polar-metrics connect --connection default" in message
    assert emulator.token_calls() - calls == 1  # no replay of the dead token
    assert connected.status == "needs_reauth"
    assert connected.needs_reauth_reason() == message


def test_a_200_lacking_expires_in_keeps_the_rotated_pair_and_the_next_call_works(
    monkeypatch: pytest.MonkeyPatch,
    settings: PolarSettings,
    emulator: Emulated,
    connected: PolarConnection,
) -> None:
    generation = token_row(settings)[1]
    route_token_calls(monkeypatch, transport=StrippingGateway())
    emulator.control("POST", "expire-access-tokens")
    with pytest.raises(OAuthError, match="lacking expires_in") as failed:
        api_call(connected, emulator)
    assert "is stored" in str(failed.value) and "run the command again" in str(failed.value)
    assert token_row(settings)[:2] == ("active", generation + 1)
    monkeypatch.undo()
    assert api_call(connected, emulator).status_code == 200  # refreshes with the kept token
    assert emulator.stats()["invalid_grant"] == 0


def test_a_token_call_429_with_an_http_date_retry_after_is_waited_out(
    settings: PolarSettings, emulator: Emulated, connected: PolarConnection
) -> None:
    fault = {"count": 1, "status": 429, "retry_after": 2, "retry_after_as_date": True}
    emulator.control("POST", "faults", {"fail_next": {**fault, "path_prefix": TOKEN_PATH}})
    emulator.control("POST", "expire-access-tokens")
    started = time.monotonic()
    assert api_call(connected, emulator).status_code == 200
    assert time.monotonic() - started >= 0.9  # the date, 1-2 s ahead, was honoured
    assert token_row(settings)[0] == "active"


def test_retry_after_reads_seconds_and_rfc9110_dates() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

    def seconds(value: str) -> float | None:
        return retry_after_seconds(httpx.Response(429, headers={"Retry-After": value}), lambda: now)

    assert seconds("120") == 120
    assert seconds(format_datetime(now + timedelta(seconds=90), usegmt=True)) == 90
    assert seconds("Sun, 01 Mar 2026 12:00:30 GMT") == 30
    assert seconds("Sunday, 01-Mar-26 12:00:45 GMT") == 45  # RFC 850, obsolete but allowed
    assert seconds(format_datetime(now - timedelta(hours=1), usegmt=True)) == 0  # past: now
    assert seconds("soon") is None and seconds("-5") is None


def test_no_token_endpoint_failure_escapes_as_a_raw_httpx_error(
    monkeypatch: pytest.MonkeyPatch, emulator: Emulated, connected: PolarConnection
) -> None:
    # Every httpx error class that a request can raise, through the real refresh path.
    route_token_calls(monkeypatch, transport=Raising(httpx.TooManyRedirects))
    emulator.control("POST", "expire-access-tokens")
    with pytest.raises(PolarError) as failed:
        api_call(connected, emulator)
    assert not isinstance(failed.value, httpx.HTTPError)
    assert "TooManyRedirects" in str(failed.value)


def test_a_truncated_answer_to_the_code_exchange_stores_nothing_and_says_connect_again(
    settings: PolarSettings, emulator: Emulated
) -> None:
    emulator.control("POST", "faults", {"malformed_json_next": {"path_prefix": TOKEN_PATH}})
    with pytest.raises(OAuthError) as failed:
        connect_in_process(settings, emulator)
    message = str(failed.value)
    assert "code exchange with HTTP 200" in message and "nothing was stored" in message
    assert "polar-metrics connect" in message
    assert TokenStore(settings.token_store_path).read("default") is None
