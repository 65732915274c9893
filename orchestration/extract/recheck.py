"""The slower re-check of days older than the window: Polar restates ended days too.

Refunds move net revenue back to the original order's day and cancellations change committed
MRR, so a day does not stop changing when it leaves the window. Every `recheck_every_days` a
full refresh reaches back over the stored days of the last `recheck_days` (one call per scope:
Polar answers up to 366 daily periods at once) instead of leaving them frozen.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from orchestration.warehouse.files import open_warehouse

RECHECK_KIND = "recheck"


def recheck_window(
    warehouse_path: Path,
    connection_name: str,
    window: tuple[date, date],
    *,
    every_days: int,
    recheck_days: int,
    now: datetime | None = None,
) -> tuple[date, date] | None:
    """The window widened back over stored older days when a re-check is due; else None."""
    start, end = window
    oldest_allowed = end - timedelta(days=recheck_days - 1)
    if every_days <= 0 or oldest_allowed >= start or not warehouse_path.exists():
        return None
    with open_warehouse(warehouse_path, bounded_memory=True) as con:
        oldest_stored, last_recheck = con.execute(
            "select (select min(date) from raw.polar_metrics where connection_name = $1), "
            "(select max(finished_at) from raw.polar_refreshes where connection_name = $1 "
            "and status in ('success', 'partial') "
            "and json_extract_string(detail, '$.kind') = $2)",
            [connection_name, RECHECK_KIND],
        ).fetchone() or (None, None)
    if oldest_stored is None or oldest_stored >= start:
        return None  # nothing older than the window is stored
    moment = now or datetime.now(UTC)
    if last_recheck is not None and moment - last_recheck < timedelta(days=every_days):
        return None
    return max(oldest_stored, oldest_allowed), end
