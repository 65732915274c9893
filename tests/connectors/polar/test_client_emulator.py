"""PolarClient against the real emulator over loopback: pages, metrics, faults, Polar's errors."""

import math
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from connectors.polar.catalogue import METRIC_SLUGS
from connectors.polar.client import PolarClient
from connectors.polar.errors import PolarAPIError, RateLimitedError
from tests.connectors.polar.live_emulator import LiveEmulator


def client_for(live: LiveEmulator, **options: object) -> PolarClient:
    return PolarClient(live.base_url, live.auth, **options)  # type: ignore[arg-type]


def today() -> date:
    return datetime.now(UTC).date()


def yesterday() -> date:
    """A finished day: its values cannot change between two calls (today's can, in real time)."""
    return today() - timedelta(days=1)


def requests_to(live: LiveEmulator, key: str) -> int:
    stats = httpx.get(f"{live.base_url}/__emulator__/stats").json()
    return int(stats["requests"].get(key, 0))


def active_ids(live: LiveEmulator) -> list[str]:
    with client_for(live) as client:
        return [o.id for o in client.list_organizations() if o.is_queried]


def test_organizations_are_read_across_three_pages(live_emulator_factory) -> None:
    live = live_emulator_factory(scenario="many", orgs=250)
    httpx.post(f"{live.base_url}/__emulator__/stats/reset").raise_for_status()
    with client_for(live) as client:
        organizations = client.list_organizations()
    assert len({o.id for o in organizations}) == len(organizations) >= 250
    assert sum(o.is_queried for o in organizations) == 250
    pages = requests_to(live, "GET /v1/organizations/")
    assert pages == math.ceil(len(organizations) / 100) == 3


def test_ninety_days_of_daily_metrics_for_one_organization(live_emulator: LiveEmulator) -> None:
    organization_id = active_ids(live_emulator)[0]
    end = today()
    with client_for(live_emulator) as client:
        response = client.get_metrics(
            start_date=end - timedelta(days=89), end_date=end, organization_ids=[organization_id]
        )
    assert len(response.periods) == 90
    assert set(response.definitions) == set(METRIC_SLUGS) and len(METRIC_SLUGS) == 55
    assert all(set(METRIC_SLUGS) <= set(period) for period in response.periods)
    assert set(response.totals) == set(METRIC_SLUGS)
    assert response.raw_body.startswith("{")


def test_repeated_organization_ids_are_summed_by_polar(live_emulator: LiveEmulator) -> None:
    first, second = active_ids(live_emulator)[:2]
    end = yesterday()
    window = {"start_date": end - timedelta(days=29), "end_date": end, "metrics": ["orders"]}
    with client_for(live_emulator) as client:
        one = client.get_metrics(organization_ids=[first], **window)
        two = client.get_metrics(organization_ids=[second], **window)
        both = client.get_metrics(organization_ids=[first, second], **window)
    assert [p["orders"] for p in both.periods] == [
        a["orders"] + b["orders"] for a, b in zip(one.periods, two.periods, strict=True)
    ]
    assert set(both.definitions) == {"orders"}


def test_429_waits_for_retry_after_then_succeeds(live_emulator: LiveEmulator) -> None:
    live_emulator.set_faults(fail_next={"count": 1, "status": 429, "retry_after": 1})
    started = time.monotonic()
    with client_for(live_emulator) as client:
        limits = client.get_metrics_limits()
    assert limits["intervals"]["day"]["max_days"] == 366
    assert time.monotonic() - started >= 0.9


def test_429_with_an_http_date_retry_after_waits_until_that_date(
    live_emulator: LiveEmulator,
) -> None:
    fault = {"count": 1, "status": 429, "retry_after": 2, "retry_after_as_date": True}
    live_emulator.set_faults(fail_next=fault)
    started = time.monotonic()
    with client_for(live_emulator) as client:
        limits = client.get_metrics_limits()
    assert limits["intervals"]["day"]["max_days"] == 366
    assert time.monotonic() - started >= 0.9  # the date is 1-2 s ahead (whole seconds)


def test_persistent_429_ends_in_rate_limited_error(live_emulator: LiveEmulator) -> None:
    live_emulator.set_faults(fail_next={"count": 5, "status": 429, "retry_after": 1})
    with client_for(live_emulator, max_attempts=2) as client, pytest.raises(RateLimitedError):
        client.get_metrics_limits()


def test_server_errors_then_success(live_emulator: LiveEmulator) -> None:
    live_emulator.set_faults(fail_next={"count": 2, "status": 503})
    httpx.post(f"{live_emulator.base_url}/__emulator__/stats/reset").raise_for_status()
    end = today()
    with client_for(live_emulator) as client:
        response = client.get_metrics(start_date=end - timedelta(days=6), end_date=end)
    assert len(response.periods) == 7
    assert requests_to(live_emulator, "GET /v1/metrics/") == 3


def test_timeout_then_success(live_emulator: LiveEmulator) -> None:
    live_emulator.set_faults(timeout_next={"count": 1, "seconds": 3, "path_prefix": "/v1/metrics/"})
    end = today()
    started = time.monotonic()
    with client_for(live_emulator, timeout=httpx.Timeout(1.0)) as client:
        response = client.get_metrics(start_date=end - timedelta(days=6), end_date=end)
    assert len(response.periods) == 7
    assert 1.0 <= time.monotonic() - started < 3.0


def test_malformed_json_then_success(live_emulator: LiveEmulator) -> None:
    live_emulator.set_faults(malformed_json_next={"count": 1, "path_prefix": "/v1/metrics/"})
    end = today()
    with client_for(live_emulator) as client:
        response = client.get_metrics(start_date=end - timedelta(days=6), end_date=end)
    assert len(response.periods) == 7


def test_range_too_wide_surfaces_polars_422_message(live_emulator: LiveEmulator) -> None:
    end = today()
    with client_for(live_emulator) as client, pytest.raises(PolarAPIError) as raised:
        client.get_metrics(start_date=end - timedelta(days=400), end_date=end)
    assert raised.value.status_code == 422
    assert "The interval is too small for the given date range" in str(raised.value)


def test_refused_token_fails_fast_saying_to_reconnect(live_emulator: LiveEmulator) -> None:
    from tests.connectors.polar.live_emulator import BearerToken

    bad = BearerToken("polar_at_u_" + "x" * 43)
    with PolarClient(live_emulator.base_url, bad) as client, pytest.raises(PolarAPIError) as raised:
        client.list_organizations()
    assert raised.value.status_code == 401
    assert "polar-metrics connect" in str(raised.value) and "x" * 43 not in str(raised.value)


def test_concurrent_calls_through_one_client_match_sequential_ones(
    live_emulator: LiveEmulator,
) -> None:
    organization_ids = active_ids(live_emulator)
    end = yesterday()
    window = {"start_date": end - timedelta(days=29), "end_date": end, "metrics": ["revenue"]}
    with client_for(live_emulator, rate_limit_per_minute=1000) as client:
        sequential = {
            o: client.get_metrics(organization_ids=[o], **window) for o in organization_ids
        }
        live_emulator.set_faults(fail_next={"count": 2, "status": 502})
        with ThreadPoolExecutor(8) as pool:
            calls = [
                (o, pool.submit(client.get_metrics, organization_ids=[o], **window))
                for o in organization_ids * 3
            ]
            concurrent = [(o, call.result()) for o, call in calls]
    assert len(concurrent) == 3 * len(organization_ids) >= 6
    assert all(response.periods == sequential[o].periods for o, response in concurrent)
