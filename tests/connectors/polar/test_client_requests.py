"""What PolarClient sends (paths, params, headers, timeouts); how it reads pages and 4xx bodies."""

import logging
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest

from connectors.polar.errors import PolarAPIError
from tests.connectors.polar.scripted import ScriptedPolar, json_response, metrics_body

SECRET_TOKEN = "polar_at_u_S3cretS3cretS3cretS3cretS3cretS3cr"
ORG_A, ORG_B = "8b0b7a3e-6b1f-4c57-9a43-3e1f2f4a5b6c", "1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5"


class StaticBearer(httpx.Auth):
    """Adds a fixed bearer token, like the OAuth connection does."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {SECRET_TOKEN}"
        yield request


def test_metrics_request_uses_canonical_path_repeated_keys_and_headers() -> None:
    polar = ScriptedPolar([json_response(200, metrics_body())])
    with polar.client(StaticBearer(), polar_version="2026-10") as client:
        client.get_metrics(
            start_date=date(2024, 1, 1),
            end_date=date(2024, 3, 30),
            timezone="Europe/Paris",
            organization_ids=[ORG_A, ORG_B],
            metrics=["revenue", "orders"],
        )
    (request,) = polar.requests
    assert request.url.path == "/v1/metrics/"
    assert request.url.params.multi_items() == [
        ("start_date", "2024-01-01"),
        ("end_date", "2024-03-30"),
        ("interval", "day"),
        ("timezone", "Europe/Paris"),
        ("organization_id", ORG_A),
        ("organization_id", ORG_B),
        ("metrics", "revenue"),
        ("metrics", "orders"),
    ]
    assert request.headers["Polar-Version"] == "2026-10"
    assert request.headers["User-Agent"].startswith("polar-metrics/")
    assert request.headers["Authorization"] == f"Bearer {SECRET_TOKEN}"


def test_default_timeouts_allow_slow_metrics_calls() -> None:
    polar = ScriptedPolar([json_response(200, {"min_date": "2023-01-01", "intervals": {}})])
    with polar.client() as client:
        assert client.get_metrics_limits()["min_date"] == "2023-01-01"
    timeout = polar.requests[0].extensions["timeout"]
    assert timeout["read"] == 30.0 and timeout["connect"] == 10.0
    assert polar.requests[0].url.path == "/v1/metrics/limits"


def page(ids: list[str], total: int, max_page: int) -> httpx.Response:
    items = [{"id": i, "name": i, "slug": i, "status": "active"} for i in ids]
    return json_response(
        200, {"items": items, "pagination": {"total_count": total, "max_page": max_page}}
    )


def test_organizations_are_read_across_pages_without_duplicates() -> None:
    polar = ScriptedPolar([page(["a", "b"], 5, 3), page(["b", "c"], 5, 3), page(["d", "e"], 5, 3)])
    with polar.client() as client:
        organizations = client.list_organizations()
    assert [o.id for o in organizations] == ["a", "b", "c", "d", "e"]
    assert [r.url.params["page"] for r in polar.requests] == ["1", "2", "3"]
    assert {r.url.params["limit"] for r in polar.requests} == {"100"}
    assert {r.url.path for r in polar.requests} == {"/v1/organizations/"}


def test_no_organizations_is_one_request_and_an_empty_list() -> None:
    polar = ScriptedPolar([page([], 0, 0)])
    with polar.client() as client:
        assert client.list_organizations() == []
    assert len(polar.requests) == 1


def failure(status: int, body: object, headers: dict[str, str] | None = None) -> PolarAPIError:
    polar = ScriptedPolar([json_response(status, body, headers)])
    with polar.client(StaticBearer()) as client, pytest.raises(PolarAPIError) as raised:
        client.get_metrics(start_date=date(2024, 1, 1), end_date=date(2024, 1, 2))
    assert len(polar.requests) == 1 and polar.sleeps == []  # 4xx fails fast
    assert raised.value.status_code == status
    return raised.value


def test_422_validation_list_names_the_bad_parameter() -> None:
    body = {
        "error": "RequestValidationError",
        "detail": [{"type": "missing", "loc": ["query", "start_date"], "msg": "Field required"}],
    }
    message = str(failure(422, body))
    assert "start_date: Field required" in message and "422" in message


def test_422_range_error_carries_polars_message() -> None:
    text = "The interval is too small for the given date range."
    body = {"error": "PolarRequestValidationError", "detail": [{"loc": ["query"], "msg": text}]}
    assert text in str(failure(422, body))


def test_401_says_to_reconnect() -> None:
    body = {"error": "invalid_token", "error_description": "The access token provided is expired."}
    message = str(failure(401, body))
    assert "invalid_token: The access token provided is expired." in message
    assert "polar-metrics connect" in message


def test_403_insufficient_scope_names_the_missing_scope() -> None:
    body = {"error": "insufficient_scope", "error_description": "The request requires higher..."}
    challenge = 'Bearer realm="polar", scope="metrics:read", error="insufficient_scope"'
    message = str(failure(403, body, {"WWW-Authenticate": challenge}))
    assert "scope (metrics:read)" in message and "polar-metrics connect" in message


def test_404_mentions_environment_and_polar_version() -> None:
    message = str(failure(404, {"detail": "Not Found"}))
    assert "Not Found" in message and "Polar-Version" in message


def test_no_token_in_errors_or_logs_even_when_polar_echoes_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    polar = ScriptedPolar([json_response(503, {}), json_response(400, {"detail": SECRET_TOKEN})])
    with polar.client(StaticBearer()) as client, pytest.raises(PolarAPIError) as raised:
        client.get_metrics(start_date=date(2024, 1, 1), end_date=date(2024, 1, 2))
    assert SECRET_TOKEN not in str(raised.value) and "S3cret" not in str(raised.value)
    assert "S3cret" not in caplog.text and "Bearer" not in caplog.text
    assert "retry 1" in caplog.text  # the retry was logged, without the token


def test_concurrent_calls_share_one_client() -> None:
    polar = ScriptedPolar([json_response(200, metrics_body())])
    with polar.client(rate_limit_per_minute=1000) as client, ThreadPoolExecutor(8) as pool:
        calls = [
            pool.submit(client.get_metrics, start_date=date(2024, 1, 1), end_date=date(2024, 1, 2))
            for _ in range(32)
        ]
        assert all(len(call.result().periods) == 2 for call in calls)
    assert len(polar.requests) == 32 and polar.sleeps == []
