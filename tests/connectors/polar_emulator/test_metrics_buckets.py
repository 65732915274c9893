"""Bucketing of `GET /v1/metrics/`: truncation, timezones, hours, partial today, history."""

from datetime import UTC, datetime

from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, TODAY, api_session


def _stamps(body: dict) -> list[str]:
    return [period["timestamp"] for period in body["periods"]]


def test_a_year_by_month_has_twelve_periods_on_the_first(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        body = api.metrics_ok(start_date="2024-01-01", end_date="2024-12-31", interval="month")
    assert _stamps(body) == [f"2024-{month:02d}-01T00:00:00Z" for month in range(1, 13)]


def test_week_buckets_start_on_monday_and_year_buckets_on_january_first(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        weeks = api.metrics_ok(start_date="2024-01-03", end_date="2024-01-31", interval="week")
        years = api.metrics_ok(start_date="2023-06-01", end_date="2024-02-01", interval="year")
        months = api.metrics_ok(start_date="2024-01-15", end_date="2024-03-10", interval="month")
    assert _stamps(weeks) == [f"2024-01-{day:02d}T00:00:00Z" for day in (1, 8, 15, 22, 29)]
    assert _stamps(years) == ["2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z"]
    assert _stamps(months) == [f"2024-{m:02d}-01T00:00:00Z" for m in (1, 2, 3)]


def test_flows_of_a_truncated_bucket_are_clipped_to_the_requested_dates(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        month = api.metrics_ok(start_date="2024-01-15", end_date="2024-03-10", interval="month")
        days = api.metrics_ok(start_date="2024-01-15", end_date="2024-03-10", interval="day")
    by_month: dict[str, int] = {}
    for period in days["periods"]:
        key = period["timestamp"][:7]
        by_month[key] = by_month.get(key, 0) + period["revenue"]
    assert [p["revenue"] for p in month["periods"]] == [by_month[k] for k in sorted(by_month)]
    # state metrics are read at each bucket's end: February's MRR is the one of Feb 29
    feb_29 = next(p for p in days["periods"] if p["timestamp"].startswith("2024-02-29"))
    assert month["periods"][1]["monthly_recurring_revenue"] == feb_29["monthly_recurring_revenue"]


def test_timezone_shifts_buckets_to_local_midnight(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        params = {"start_date": "2024-01-01", "end_date": "2024-01-03", "interval": "day"}
        utc = api.metrics_ok(**params)
        paris = api.metrics_ok(timezone="Europe/Paris", **params)
        new_york = api.metrics_ok(timezone="America/New_York", **params)
        paris_months = api.metrics_ok(
            timezone="Europe/Paris",
            start_date="2024-01-01",
            end_date="2024-12-31",
            interval="month",
        )
    assert _stamps(paris)[0] == "2023-12-31T23:00:00Z"
    assert _stamps(new_york)[0] == "2024-01-01T05:00:00Z"
    assert _stamps(paris_months)[3] == "2024-03-31T22:00:00Z"  # summer time from 31 March
    assert [p["revenue"] for p in paris["periods"]] != [p["revenue"] for p in utc["periods"]]


def test_hourly_flows_add_up_to_the_daily_ones_and_states_match_at_midnight(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        params = {"start_date": "2025-03-03", "end_date": "2025-03-04"}
        hours = api.metrics_ok(interval="hour", **params)
        days = api.metrics_ok(interval="day", **params)
    assert len(hours["periods"]) == 48
    assert hours["periods"][1]["timestamp"] == "2025-03-03T01:00:00Z"
    for slug in ("revenue", "orders", "checkouts", "canceled_subscriptions", "net_revenue"):
        hourly = [p[slug] for p in hours["periods"]]
        assert [sum(hourly[:24]), sum(hourly[24:])] == [p[slug] for p in days["periods"]], slug
    assert (
        hours["periods"][23]["monthly_recurring_revenue"]
        == days["periods"][0]["monthly_recurring_revenue"]
    )


def test_today_is_a_partial_day_with_nothing_after_the_clock(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        today = TODAY.isoformat()
        hours = api.metrics_ok(start_date=today, end_date=today, interval="hour")
    now = FIXED_NOW.timestamp()
    started = [
        datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")).astimezone(UTC).timestamp()
        for p in hours["periods"]
    ]
    past = [p for p, start in zip(hours["periods"], started, strict=True) if start < now]
    future = [p for p, start in zip(hours["periods"], started, strict=True) if start > now]
    assert future and all(p["orders"] == 0 and p["checkouts"] == 0 for p in future)
    assert sum(p["orders"] for p in past) > 0


def test_cumulative_revenue_includes_history_before_the_range(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        body = api.metrics_ok(start_date="2025-06-01", end_date="2025-06-30", interval="day")
        earlier = api.metrics_ok(start_date="2025-05-01", end_date="2025-05-31", interval="day")
    periods = body["periods"]
    assert periods[0]["cumulative_revenue"] == (
        earlier["periods"][-1]["cumulative_revenue"] + periods[0]["revenue"]
    )
    for before, after in zip(periods, periods[1:], strict=False):
        assert after["cumulative_revenue"] - before["cumulative_revenue"] == after["revenue"]
        assert (
            after["net_cumulative_revenue"] - before["net_cumulative_revenue"]
            == (after["net_revenue"])
        )
