"""Retry, backoff, 429 and timeout behaviour of PolarClient against a scripted Polar."""

from datetime import date

import httpx
import pytest

from connectors.polar.errors import PolarAPIError, RateLimitedError
from connectors.polar.retry import Backoff
from tests.connectors.polar.scripted import ScriptedPolar, json_response, metrics_body

JAN_1, JAN_2 = date(2024, 1, 1), date(2024, 1, 2)
OK = json_response(200, metrics_body())
RATE_LIMITED = httpx.Response(429, headers={"Retry-After": "60"})


def get_metrics(polar: ScriptedPolar, **options: object):
    with polar.client(**options) as client:
        return client.get_metrics(start_date=JAN_1, end_date=JAN_2)


def test_429_waits_for_retry_after_then_succeeds() -> None:
    polar = ScriptedPolar([RATE_LIMITED, OK])
    response = get_metrics(polar)
    assert len(response.periods) == 2
    assert len(polar.requests) == 2
    assert polar.sleeps == [pytest.approx(60, abs=1)]


def test_persistent_429_raises_rate_limited_error_after_max_attempts() -> None:
    polar = ScriptedPolar([RATE_LIMITED])
    with pytest.raises(RateLimitedError) as raised:
        get_metrics(polar, max_attempts=3)
    assert raised.value.status_code == 429
    assert "after 3 attempts" in str(raised.value)
    assert "POLAR_RATE_LIMIT_PER_MINUTE" in str(raised.value)
    assert len(polar.requests) == 3
    assert polar.sleeps == [pytest.approx(60, abs=1)] * 2


def test_429_without_retry_after_falls_back_to_backoff() -> None:
    polar = ScriptedPolar([httpx.Response(429), OK])
    get_metrics(polar)
    assert len(polar.sleeps) == 1 and 0 <= polar.sleeps[0] <= 0.5


def test_retry_after_longer_than_a_window_fails_at_once_with_the_wait() -> None:
    polar = ScriptedPolar([httpx.Response(429, headers={"Retry-After": "3600"}), OK])
    with pytest.raises(RateLimitedError, match="3600 s"):
        get_metrics(polar)
    assert len(polar.requests) == 1


def test_server_errors_back_off_exponentially_then_succeed() -> None:
    polar = ScriptedPolar([json_response(s, {"detail": "boom"}) for s in (500, 502, 503)] + [OK])
    client = polar.client()
    client.backoff = Backoff(random_fraction=lambda: 1.0)  # the jitter's upper bound
    client.get_metrics(start_date=JAN_1, end_date=JAN_2)
    assert polar.sleeps == [0.5, 1.0, 2.0]
    assert len(polar.requests) == 4


def test_backoff_is_capped_and_jittered_below_the_cap() -> None:
    assert [Backoff(random_fraction=lambda: 1.0).delay(n) for n in range(1, 8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0,
    ]  # fmt: skip
    assert Backoff(random_fraction=lambda: 0.25).delay(3) == 0.5
    polar = ScriptedPolar([json_response(503, {})])
    with pytest.raises(PolarAPIError):
        get_metrics(polar, max_attempts=6)
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert all(0 <= wait <= top for wait, top in zip(polar.sleeps, ceilings, strict=True))


def test_persistent_server_error_gives_up_with_the_last_status() -> None:
    polar = ScriptedPolar([json_response(502, {"detail": "Bad Gateway"})])
    with pytest.raises(PolarAPIError) as raised:
        get_metrics(polar, max_attempts=2)
    assert raised.value.status_code == 502
    assert "after 2 attempts" in str(raised.value) and "server error (502)" in str(raised.value)


def test_timeout_is_retried_then_succeeds() -> None:
    polar = ScriptedPolar([httpx.ReadTimeout("slow"), OK])
    assert len(get_metrics(polar).periods) == 2
    assert len(polar.requests) == 2 and len(polar.sleeps) == 1


def test_network_errors_exhaust_attempts_with_a_clear_error() -> None:
    polar = ScriptedPolar([httpx.ConnectError("refused")])
    with pytest.raises(PolarAPIError, match=r"after 5 attempts.*network error \(ConnectError\)"):
        get_metrics(polar)
    assert len(polar.requests) == 5 and len(polar.sleeps) == 4


def test_malformed_json_on_200_is_retried_then_succeeds() -> None:
    polar = ScriptedPolar([httpx.Response(200, content=b'{"periods": [{"tim'), OK])
    assert len(get_metrics(polar).periods) == 2
    assert len(polar.requests) == 2


def test_persistent_malformed_json_gives_a_clear_error() -> None:
    polar = ScriptedPolar([httpx.Response(200, content=b"<html>oops</html>")])
    with pytest.raises(PolarAPIError, match="malformed JSON in a 200 response") as raised:
        get_metrics(polar, max_attempts=2)
    assert raised.value.status_code == 200


def test_every_attempt_takes_from_the_request_budget() -> None:
    polar = ScriptedPolar([json_response(500, {}), RATE_LIMITED, OK])
    client = polar.client(rate_limit_per_minute=100)
    taken = []
    original = client.budget.acquire
    client.budget.acquire = lambda: taken.append(1) or original()  # type: ignore[method-assign]
    client.get_metrics(start_date=JAN_1, end_date=JAN_2)
    assert len(taken) == 3


def test_a_429_makes_the_next_call_of_any_thread_wait_for_retry_after() -> None:
    polar = ScriptedPolar([RATE_LIMITED, json_response(200, {"min_date": "2023-01-01"})])
    client = polar.client(max_attempts=1)
    with pytest.raises(RateLimitedError):
        client.get_metrics(start_date=JAN_1, end_date=JAN_2)
    assert polar.sleeps == []
    # The next request, from this or any other thread, waits out Polar's window first.
    assert client.get_metrics_limits() == {"min_date": "2023-01-01"}
    assert polar.sleeps == [pytest.approx(60, abs=1)]


def garbled_gzip(request: httpx.Request) -> httpx.Response:
    """A 200 that says gzip and is not: httpx raises DecodingError while reading it."""
    return httpx.Response(
        200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip at all")
    )


def test_a_garbled_compressed_answer_is_retried_like_a_network_error() -> None:
    polar = ScriptedPolar([garbled_gzip, OK])
    response = get_metrics(polar)
    assert len(response.periods) == 2
    assert len(polar.requests) == 2


@pytest.mark.parametrize(
    "error",
    [
        httpx.DecodingError("bad gzip"),
        httpx.TooManyRedirects("loop"),
        httpx.RemoteProtocolError("half a response"),
        httpx.UnsupportedProtocol("ftp"),
        httpx.ReadTimeout("slow"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_no_request_error_escapes_as_a_raw_httpx_exception(error: httpx.RequestError) -> None:
    # Every httpx error a request can raise ends as the client's own error, naming the cause.
    polar = ScriptedPolar([error])
    with pytest.raises(PolarAPIError) as failed:
        get_metrics(polar, max_attempts=2)
    assert not isinstance(failed.value, httpx.HTTPError)
    assert type(error).__name__ in str(failed.value)
    assert len(polar.requests) == 2
