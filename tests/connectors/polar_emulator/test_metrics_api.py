"""`GET /v1/metrics/` and `/v1/metrics/limits` over loopback: shape, parameters, exact 422s."""

import uuid
from datetime import datetime

import pytest

from connectors.polar.catalogue import METRIC_SLUGS, metrics_by_slug
from tests.connectors.polar_emulator.sim_fixtures import TODAY, api_session, daily_window, days_back

RANGE_MESSAGE = (
    "The interval is too small for the given date range. "
    "Use a larger interval or reduce the date range."
)
FLOAT_TYPES = ("percentage", "currency_sub_cent")


def test_ninety_day_daily_call_has_90_periods_with_all_slugs_and_catalogue_totals(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        org_id = api.visible_ids()[0]
        body = api.metrics_ok(organization_id=org_id, **daily_window(90))
    periods = body["periods"]
    assert len(periods) == 90
    assert set(body) == {"periods", "totals", "metrics"}
    assert all(set(period) == {"timestamp", *METRIC_SLUGS} for period in periods)
    assert periods[0]["timestamp"] == f"{days_back(89)}T00:00:00Z"
    assert periods[-1]["timestamp"] == f"{TODAY.isoformat()}T00:00:00Z"
    catalogue = metrics_by_slug()
    assert set(body["totals"]) == set(METRIC_SLUGS)
    for slug in METRIC_SLUGS:
        assert body["totals"][slug] == catalogue[slug].total(periods), slug
        assert body["metrics"][slug] == {
            "slug": slug,
            "display_name": catalogue[slug].display_name,
            "type": catalogue[slug].type,
        }
    assert body["totals"]["revenue"] > 0 and body["totals"]["monthly_recurring_revenue"] > 0


def test_counts_and_cents_are_integers_and_ratios_are_floats(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        periods = api.metrics_ok(**daily_window(14))["periods"]
    catalogue = metrics_by_slug()
    for period in periods:
        for slug in METRIC_SLUGS:
            expected = float if catalogue[slug].type in FLOAT_TYPES else int
            if slug == "average_seats_per_customer":
                expected = float
            assert type(period[slug]) is expected, (slug, period[slug])


def test_missing_required_parameter_gives_fastapi_422(start_emulator):
    with api_session(start_emulator) as api:
        response = api.metrics(end_date="2024-01-31", interval="day")
    assert response.status_code == 422
    assert response.json() == {
        "error": "RequestValidationError",
        "detail": [
            {
                "type": "missing",
                "loc": ["query", "start_date"],
                "msg": "Field required",
                "input": None,
            }
        ],
    }


def test_unknown_interval_is_an_enum_422(start_emulator):
    with api_session(start_emulator) as api:
        response = api.metrics(start_date="2024-01-01", end_date="2024-01-02", interval="minute")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "enum",
            "loc": ["query", "interval"],
            "msg": "Input should be 'year', 'month', 'week', 'day' or 'hour'",
            "input": "minute",
            "ctx": {"expected": "'year', 'month', 'week', 'day' or 'hour'"},
        }
    ]


def test_malformed_date_is_a_date_parsing_422(start_emulator):
    with api_session(start_emulator) as api:
        response = api.metrics(start_date="2024-13-01", end_date="2024-01-02", interval="day")
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert item["type"] == "date_from_datetime_parsing"
    assert item["loc"] == ["query", "start_date"]
    assert item["msg"].startswith("Input should be a valid date or datetime, month value")


def test_invalid_timezone_is_rejected_with_polars_message(start_emulator):
    with api_session(start_emulator) as api:
        bad = api.metrics(timezone="Mars/Olympus", **daily_window(3))
        legacy = api.metrics(timezone="Asia/Calcutta", **daily_window(3))
    assert bad.status_code == 422
    assert bad.json()["detail"] == [
        {
            "type": "TimeZoneName",
            "loc": ["query", "timezone"],
            "msg": "Invalid timezone name.",
            "input": "Mars/Olympus",
        }
    ]
    assert legacy.status_code == 200  # legacy IANA links are accepted (Polar issue #6421)


@pytest.mark.parametrize(
    ("interval", "max_days"),
    [("hour", 7), ("day", 366), ("week", 371), ("month", 1460), ("year", 3650)],
)
def test_range_limit_per_interval_is_inclusive_then_an_exact_422(
    start_emulator, interval, max_days
):
    with api_session(start_emulator, scenario="empty") as api:
        ok = api.metrics(
            start_date=days_back(max_days), end_date=TODAY.isoformat(), interval=interval
        )
        too_long = api.metrics(
            start_date=days_back(max_days + 1), end_date=TODAY.isoformat(), interval=interval
        )
    assert ok.status_code == 200, ok.text
    assert too_long.status_code == 422
    assert too_long.json() == {
        "error": "PolarRequestValidationError",
        "detail": [
            {
                "type": "value_error",
                "loc": ["query"],
                "msg": RANGE_MESSAGE,
                "input": [days_back(max_days + 1), TODAY.isoformat(), interval],
            }
        ],
    }


def test_start_after_end_gets_the_same_range_422(start_emulator):
    with api_session(start_emulator) as api:
        response = api.metrics(start_date="2024-02-02", end_date="2024-02-01", interval="month")
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == RANGE_MESSAGE
    assert response.json()["detail"][0]["input"] == ["2024-02-02", "2024-02-01", "month"]


def test_organization_id_must_be_a_uuid4(start_emulator):
    with api_session(start_emulator) as api:
        version_one = str(uuid.uuid1())
        response = api.metrics(organization_id=["not-a-uuid", version_one], **daily_window(3))
    assert response.status_code == 422
    first, second = response.json()["detail"]
    assert first["type"] == "uuid_parsing" and first["loc"] == ["query", "organization_id", 0]
    assert second == {
        "type": "uuid_version",
        "loc": ["query", "organization_id", 1],
        "msg": "UUID version 4 expected",
        "input": version_one,
        "ctx": {"expected_version": 4},
    }


def test_unknown_metric_slug_is_a_polar_422(start_emulator):
    with api_session(start_emulator) as api:
        response = api.metrics(metrics=["revenue", "checkout_conversion"], **daily_window(3))
    assert response.status_code == 422
    assert response.json() == {
        "error": "PolarRequestValidationError",
        "detail": [
            {
                "type": "value_error",
                "loc": ["query", "metrics"],
                "msg": "Invalid metric slugs: checkout_conversion",
                "input": ["revenue", "checkout_conversion"],
            }
        ],
    }


def test_metrics_parameter_keeps_only_the_requested_slugs(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        body = api.metrics_ok(metrics=["revenue", "checkouts_conversion"], **daily_window(30))
        full = api.metrics_ok(**daily_window(30))
    assert set(body["metrics"]) == set(body["totals"]) == {"revenue", "checkouts_conversion"}
    assert all(set(p) == {"timestamp", "revenue", "checkouts_conversion"} for p in body["periods"])
    assert [p["revenue"] for p in body["periods"]] == [p["revenue"] for p in full["periods"]]
    # the totals read only fetched slugs: conversion without its counts totals 0 (Polar's quirk)
    assert body["totals"]["checkouts_conversion"] == 0.0
    assert body["totals"]["revenue"] == full["totals"]["revenue"]


def test_limits_endpoint_returns_polars_exact_limits(start_emulator):
    with api_session(start_emulator) as api:
        response = api.http.get("/v1/metrics/limits")
    assert response.status_code == 200
    assert response.json() == {
        "min_date": "2023-01-01",
        "intervals": {
            "hour": {"min_days": 0, "max_days": 7},
            "day": {"min_days": 0, "max_days": 366},
            "week": {"min_days": 14, "max_days": 371},
            "month": {"min_days": 60, "max_days": 1460},
            "year": {"min_days": 366, "max_days": 3650},
        },
    }


def test_metrics_need_the_metrics_read_scope(start_emulator):
    with api_session(start_emulator, scope="openid organizations:read") as api:
        metrics = api.metrics(**daily_window(3))
        limits = api.http.get("/v1/metrics/limits")
    for response in (metrics, limits):
        assert response.status_code == 403
        assert response.json()["error"] == "insufficient_scope"
        assert 'scope="metrics:read"' in response.headers["www-authenticate"]


def test_authentication_is_checked_before_parameters(start_emulator):
    with api_session(start_emulator) as api:
        response = api.http.get("/v1/metrics/", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized", "detail": "Unauthorized"}


def test_metrics_response_has_no_currency_field_for_a_eur_organization(start_emulator):
    with api_session(start_emulator) as api:
        eur = next(
            o for o in api.world.organizations.values() if o.default_presentment_currency == "eur"
        )
        body = api.metrics_ok(organization_id=eur.id, **daily_window(7))
    assert "currency" not in body and all("currency" not in p for p in body["periods"])
    assert body["totals"]["revenue"] > 0


def test_timestamps_are_utc_instants(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        periods = api.metrics_ok(**daily_window(5))["periods"]
    stamps = [datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")) for p in periods]
    assert stamps == sorted(stamps) and all(s.utcoffset().total_seconds() == 0 for s in stamps)


def test_unknown_billing_type_and_bad_product_id_are_reported_together(start_emulator):
    with api_session(start_emulator) as api:
        response = api.metrics(billing_type="subscription", product_id="abc", **daily_window(3))
    assert response.status_code == 422
    product, billing = response.json()["detail"]
    assert product["loc"] == ["query", "product_id", 0] and product["type"] == "uuid_parsing"
    assert billing == {
        "type": "enum",
        "loc": ["query", "billing_type", 0],
        "msg": "Input should be 'one_time' or 'recurring'",
        "input": "subscription",
        "ctx": {"expected": "'one_time' or 'recurring'"},
    }
