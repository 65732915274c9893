"""Date-range rules: what a custom range may cover, and how history splits into Polar-sized windows.

Polar's metrics endpoint accepts `(end_date - start_date)` of at most 7/366/371/1460/3650 days for
hour/day/week/month/year (`GET /v1/metrics/limits`, enforced by `is_under_limits`), and has data
from 2023-01-01 on (`min_date`, advertised but not enforced).
"""

import calendar
from datetime import date, timedelta

from connectors.polar.errors import InvalidRangeError

MIN_DATE = date(2023, 1, 1)
MAX_CUSTOM_RANGE_DAYS = 90  # inclusive day count of a custom range (the cache window's width)

# Polar's MAX_INTERVAL_DAYS: the largest `(end_date - start_date).days` per interval.
_MAX_DAYS_BY_INTERVAL = {"hour": 7, "day": 366, "week": 371, "month": 1460, "year": 3650}


def max_days_for_interval(interval: str) -> int:
    """The largest `(end_date - start_date)` in days Polar accepts for `interval`."""
    try:
        return _MAX_DAYS_BY_INTERVAL[interval]
    except KeyError:
        raise InvalidRangeError(
            f"interval {interval!r} is not one of Polar's intervals: "
            f"{', '.join(_MAX_DAYS_BY_INTERVAL)}."
        ) from None


def validate_custom_range(start: date, end: date, today: date) -> None:
    """Nothing if `start..end` is a valid custom range, else InvalidRangeError naming each fault.

    `today` is today's date in the reporting timezone (the caller's clock, not the machine's).
    """
    problems = []
    if end < start:
        problems.append(f"the end date {end} is before the start date {start} (swap them)")
    if start < MIN_DATE:
        problems.append(f"the start date {start} is before {MIN_DATE}, where Polar's metrics begin")
    if end > today:
        problems.append(f"the end date {end} is in the future (today is {today})")
    width = (end - start).days + 1
    if width > MAX_CUSTOM_RANGE_DAYS:
        problems.append(
            f"the range covers {width} days but a custom range may cover at most "
            f"{MAX_CUSTOM_RANGE_DAYS} days, both ends included (split it, or load older history "
            "with `polar-metrics backfill --since DATE`)"
        )
    if problems:
        raise InvalidRangeError(f"Invalid range {start}..{end}: " + "; ".join(problems) + ".")


def split_into_windows(start: date, end: date, interval: str = "day") -> list[tuple[date, date]]:
    """Contiguous `(start, end)` windows covering `start..end`, each as wide as Polar allows.

    For week/month/year a window ends on a bucket boundary (Sunday / month end / year end), so no
    Polar bucket is split across two calls.
    """
    max_days = max_days_for_interval(interval)
    if end < start:
        raise InvalidRangeError(f"Cannot split {start}..{end}: the end is before the start.")
    windows = []
    window_start = start
    while window_start <= end:
        window_end = _window_end(window_start, end, max_days, interval)
        windows.append((window_start, window_end))
        window_start = window_end + timedelta(days=1)
    return windows


def _window_end(window_start: date, end: date, max_days: int, interval: str) -> date:
    furthest = window_start + timedelta(days=max_days)
    if furthest >= end:
        return end
    aligned = _last_bucket_end_on_or_before(furthest, interval)
    # A bucket longer than the allowed width cannot happen for Polar's limits; keep a safe fallback.
    return aligned if aligned >= window_start else furthest


def _last_bucket_end_on_or_before(day: date, interval: str) -> date:
    if interval == "week":  # Polar's weeks start on Monday
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if interval == "month":
        month_end = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return month_end if month_end == day else day.replace(day=1) - timedelta(days=1)
    if interval == "year":
        return day if (day.month, day.day) == (12, 31) else date(day.year - 1, 12, 31)
    return day  # hour and day buckets never straddle a date boundary
