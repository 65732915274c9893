"""What the warehouse already holds: the cached window and finished backfill windows."""

from datetime import date, datetime

import duckdb


def latest_window(con: duckdb.DuckDBPyConnection, connection_name: str) -> tuple[date, date] | None:
    """The (start, end) of the connection's latest successful or partial full refresh."""
    row = con.execute(
        "select window_start, window_end from raw.polar_refreshes where connection_name = ? "
        "and status in ('success', 'partial') "
        "and coalesce(json_extract_string(detail, '$.kind'), 'window') in ('window', 'recheck') "
        "order by finished_at desc limit 1",
        [connection_name],
    ).fetchone()
    return (row[0], row[1]) if row else None


def completed_backfill_windows(
    con: duckdb.DuckDBPyConnection, connection_name: str
) -> set[tuple[str, date, date]]:
    """(scope, start, end) of every backfill window already written (to resume)."""
    rows = con.execute(
        "select organization_id, window_start, window_end from raw.polar_backfill_progress "
        "where connection_name = ?",
        [connection_name],
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def mark_backfill_window(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    scope: str,
    start: date,
    end: date,
    rows_written: int,
    completed_at: datetime,
) -> None:
    """Record a finished backfill window (inside the same transaction as its rows)."""
    con.execute(
        "insert or replace into raw.polar_backfill_progress values (?, ?, ?, ?, ?, ?)",
        [connection_name, scope, start, end, rows_written, completed_at],
    )
