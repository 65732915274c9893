"""Custom-range validation and Polar-sized backfill windows."""

import random
from datetime import date, timedelta

import pytest

from connectors.polar.errors import InvalidRangeError
from connectors.polar.ranges import (
    MAX_CUSTOM_RANGE_DAYS,
    MIN_DATE,
    max_days_for_interval,
    split_into_windows,
    validate_custom_range,
)

TODAY = date(2026, 11, 28)


def test_a_ninety_day_range_ending_today_is_valid() -> None:
    validate_custom_range(TODAY - timedelta(days=89), TODAY, TODAY)
    validate_custom_range(MIN_DATE, MIN_DATE + timedelta(days=89), TODAY)
    validate_custom_range(TODAY, TODAY, TODAY)


def test_ninety_one_days_is_too_wide() -> None:
    with pytest.raises(InvalidRangeError, match="covers 91 days.*at most 90 days"):
        validate_custom_range(TODAY - timedelta(days=90), TODAY, TODAY)


def test_end_before_start_says_to_swap() -> None:
    with pytest.raises(InvalidRangeError, match="end date 2026-01-01 is before the start date"):
        validate_custom_range(date(2026, 1, 10), date(2026, 1, 1), TODAY)


def test_before_polars_first_date_is_refused() -> None:
    with pytest.raises(InvalidRangeError, match="before 2023-01-01"):
        validate_custom_range(date(2022, 12, 31), date(2023, 1, 31), TODAY)


def test_future_end_is_refused_against_the_given_today() -> None:
    with pytest.raises(InvalidRangeError, match="2026-11-29 is in the future"):
        validate_custom_range(TODAY, TODAY + timedelta(days=1), TODAY)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(InvalidRangeError) as raised:
        validate_custom_range(date(2022, 1, 1), date(2027, 1, 1), TODAY)
    message = str(raised.value)
    assert "before 2023-01-01" in message and "future" in message and "backfill" in message


def test_polars_interval_limits() -> None:
    limits = {i: max_days_for_interval(i) for i in ("hour", "day", "week", "month", "year")}
    assert limits == {"hour": 7, "day": 366, "week": 371, "month": 1460, "year": 3650}
    with pytest.raises(InvalidRangeError, match="hour, day, week, month, year"):
        max_days_for_interval("quarter")
    assert MAX_CUSTOM_RANGE_DAYS == 90


def assert_tiles(windows: list[tuple[date, date]], start: date, end: date, interval: str) -> None:
    assert windows[0][0] == start and windows[-1][1] == end
    for (_, e1), (s2, _) in zip(windows, windows[1:], strict=False):
        assert s2 == e1 + timedelta(days=1)  # contiguous: no gap, no overlap
    for s, e in windows:
        assert s <= e and (e - s).days <= max_days_for_interval(interval)


def test_daily_history_splits_into_366_day_windows() -> None:
    start, end = MIN_DATE, date(2026, 8, 30)
    windows = split_into_windows(start, end)
    assert_tiles(windows, start, end, "day")
    assert [(e - s).days for s, e in windows[:-1]] == [366] * (len(windows) - 1)
    assert len(windows) == -(-((end - start).days + 1) // 367)


def test_a_single_day_is_one_window() -> None:
    assert split_into_windows(TODAY, TODAY) == [(TODAY, TODAY)]


def test_end_before_start_cannot_be_split() -> None:
    with pytest.raises(InvalidRangeError):
        split_into_windows(TODAY, TODAY - timedelta(days=1))


@pytest.mark.parametrize("interval", ["hour", "day", "week", "month", "year"])
def test_windows_tile_any_range_and_end_on_bucket_boundaries(interval: str) -> None:
    rng = random.Random(7)
    for _ in range(40):
        start = MIN_DATE + timedelta(days=rng.randrange(0, 800))
        end = start + timedelta(days=rng.randrange(0, 4000))
        windows = split_into_windows(start, end, interval)
        assert_tiles(windows, start, end, interval)
        for _, window_end in windows[:-1]:
            following = window_end + timedelta(days=1)
            if interval == "week":
                assert following.weekday() == 0
            elif interval == "month":
                assert following.day == 1
            elif interval == "year":
                assert (following.month, following.day) == (1, 1)
