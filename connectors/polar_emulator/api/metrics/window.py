"""The time buckets of a metrics query, as Polar builds them (polar-api.md section 3.5)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

HOUR = 3600.0


@dataclass(frozen=True)
class BucketWindow:
    """Bucket starts and ends (epoch seconds) plus the original bounds and the clock."""

    interval: str
    starts: np.ndarray  # series start truncated to Monday / 1st / Jan 1
    ends: np.ndarray  # the next bucket's start: state metrics are read there
    start_bound: float  # start_date 00:00 local: flow metrics are clipped to it
    end_bound: float  # end_date + 1 day 00:00 local, exclusive (= 23:59:59.999999 inclusive)
    now: float  # events after the clock have not happened yet

    @property
    def size(self) -> int:
        """Number of periods."""
        return int(self.starts.size)

    @property
    def flow_edges(self) -> np.ndarray:
        """Edges for flow metrics: bucket starts clipped to the original bounds."""
        return np.concatenate([[self.start_bound], self.starts[1:], [self.end_bound]])

    @property
    def series_edges(self) -> np.ndarray:
        """Edges from the truncated series start (what `new_subscriptions` counts from)."""
        return np.concatenate([self.starts, [self.end_bound]])

    def timestamps(self) -> list[str]:
        """Bucket starts as Polar renders them: the UTC instant, e.g. `2024-01-01T00:00:00Z`."""
        return [
            datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for value in self.starts.tolist()
        ]


def _local_midnight(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def _truncate(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    if interval == "year":
        return day.replace(month=1, day=1)
    return day


def _next_day(day: date, interval: str) -> date:
    if interval == "day":
        return day + timedelta(days=1)
    if interval == "week":
        return day + timedelta(days=7)
    if interval == "month":
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date(day.year + 1, 1, 1)


def _calendar_starts(first: date, end_bound: float, interval: str, zone: ZoneInfo) -> list[float]:
    starts, day = [], first
    while (start := _local_midnight(day, zone)) < end_bound:
        starts.append(start)
        day = _next_day(day, interval)
    return starts + [_local_midnight(day, zone)]


def bucket_window(
    start_date: date, end_date: date, interval: str, zone: ZoneInfo, now: datetime
) -> BucketWindow:
    """The buckets from `start_date` 00:00 to `end_date` 23:59:59.999999 in `zone`."""
    start_bound = _local_midnight(start_date, zone)
    end_bound = _local_midnight(end_date + timedelta(days=1), zone)
    if interval == "hour":
        # generate_series with '1 hour' adds absolute hours, whatever the zone's DST does.
        points = np.arange(start_bound, end_bound + HOUR, HOUR)
        points = points[: int(np.searchsorted(points, end_bound, "left")) + 1]
    else:
        points = np.array(
            _calendar_starts(_truncate(start_date, interval), end_bound, interval, zone)
        )
    return BucketWindow(
        interval=interval,
        starts=points[:-1],
        ends=points[1:],
        start_bound=start_bound,
        end_bound=end_bound,
        now=now.timestamp(),
    )
