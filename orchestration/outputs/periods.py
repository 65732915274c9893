"""The standard periods: the short names people type, the marts' names, the labels shown."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Short name (CLI `--period`, alert rules, switcher keys) -> `period` in marts.polar_period_summary.
PERIODS = {
    "today": "today",
    "yesterday": "yesterday",
    "7d": "last_7_days",
    "30d": "last_30_days",
    "90d": "last_90_days",
    "mtd": "month_to_date",
}
PERIOD_LABELS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "last_7_days": "7 days",
    "last_30_days": "30 days",
    "last_90_days": "90 days",
    "month_to_date": "Month to date",
}
DEFAULT_PERIOD = "30d"


def today_so_far(as_of: datetime | None, timezone: str | None) -> str:
    """`today so far, as of 14:05` (the latest refresh, in the reporting timezone)."""
    if as_of is None:
        return "today so far"
    try:
        local = as_of.astimezone(ZoneInfo(timezone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        local = as_of
    return f"today so far, as of {local:%H:%M}"
