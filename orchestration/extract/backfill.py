"""History backfill: metrics older than the cached window, in the largest windows Polar allows.

Each (scope, window) is written with its progress mark in one transaction, so an interrupted
backfill resumes where it stopped. Rows never reach into the current window: that one belongs to
the refresh.
"""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from connectors.polar.ranges import MIN_DATE, split_into_windows
from connectors.polar.records import MetricsResponse, Organization
from orchestration.extract.metric_rows import frame_from_response
from orchestration.extract.scopes import MetricsClient, Scope, scopes_for
from orchestration.warehouse import writes
from orchestration.warehouse.files import open_warehouse, transaction
from orchestration.warehouse.windows import (
    completed_backfill_windows,
    latest_window,
    mark_backfill_window,
)

ProgressCallback = Callable[[int, int, str], None]  # (done, total, label of what just finished)


@dataclass
class BackfillOutcome:
    """What a backfill wrote, skipped (already done) and could not fetch."""

    since: date
    until: date | None
    windows_total: int = 0
    windows_skipped: int = 0
    rows_written: int = 0
    failures: list[str] = field(default_factory=list)


def backfill_history(
    client: MetricsClient,
    *,
    warehouse_path: Path,
    connection_name: str,
    organizations: Sequence[Organization],
    timezone: str,
    since: date,
    current_window_start: date,
    concurrency: int,
    on_progress: ProgressCallback | None = None,
) -> BackfillOutcome:
    """Fetch and store every not-yet-done (scope, window) from `since` up to the window's start."""
    since = max(since, MIN_DATE)
    until = current_window_start - timedelta(days=1)
    outcome = BackfillOutcome(since, until if since <= until else None)
    if outcome.until is None:
        return outcome
    windows = split_into_windows(since, until, "day")
    tasks = [(scope, w) for scope in scopes_for(organizations) for w in windows]
    outcome.windows_total = len(tasks)
    with open_warehouse(warehouse_path) as con:
        done = completed_backfill_windows(con, connection_name)
        todo = [(s, w) for s, w in tasks if (s.scope_id, *w) not in done]
        outcome.windows_skipped = len(tasks) - len(todo)
        finished = outcome.windows_skipped
        for (scope, window), result in _fetch_all(client, todo, timezone, concurrency):
            finished += 1
            label = f"{scope.label} {window[0]}..{window[1]}"
            if isinstance(result, BaseException):
                outcome.failures.append(f"{label}: {type(result).__name__}: {result}")
            else:
                outcome.rows_written += _store_window(
                    con, connection_name, scope, window, result, timezone
                )
            if on_progress is not None:
                on_progress(finished, len(tasks), label)
    return outcome


def _fetch_all(
    client: MetricsClient,
    tasks: Sequence[tuple[Scope, tuple[date, date]]],
    timezone: str,
    concurrency: int,
) -> Iterator[tuple[tuple[Scope, tuple[date, date]], MetricsResponse | BaseException]]:
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="backfill") as pool:
        futures = {
            pool.submit(
                client.get_metrics,
                start_date=window[0],
                end_date=window[1],
                interval="day",
                timezone=timezone,
                organization_ids=list(scope.organization_ids),
            ): (scope, window)
            for scope, window in tasks
        }
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], (error if error is not None else future.result())


def _store_window(
    con: duckdb.DuckDBPyConnection,
    connection_name: str,
    scope: Scope,
    window: tuple[date, date],
    response: MetricsResponse,
    timezone: str,
) -> int:
    now = datetime.now(UTC)
    frame = frame_from_response(connection_name, scope.scope_id, response, window[0], window[1])
    with transaction(con):
        written = writes.replace_metrics(
            con,
            connection_name=connection_name,
            scopes=[scope.scope_id],
            start=window[0],
            end=window[1],
            frames=[frame],
            timezone=timezone,
        )
        mark_backfill_window(
            con,
            connection_name=connection_name,
            scope=scope.scope_id,
            start=window[0],
            end=window[1],
            rows_written=written,
            completed_at=now,
        )
    return written


def run_backfill(
    connection_name: str, since: date, *, on_progress: ProgressCallback | None = None
) -> BackfillOutcome:
    """Backfill one stored connection from the environment's settings (used by the CLI)."""
    from connectors.polar.client import PolarClient
    from connectors.polar.config import PolarSettings
    from connectors.polar.connection import PolarConnection
    from orchestration.extract.scopes import local_today, metrics_window

    settings = PolarSettings.from_env()
    connection = PolarConnection.open(settings, connection_name)
    connection.ensure_usable()
    with open_warehouse(settings.warehouse_path) as con:
        cached = latest_window(con, connection_name)
    window_start = (
        cached[0]
        if cached
        else metrics_window(local_today(settings.timezone), settings.window_days)[0]
    )
    with PolarClient.for_connection(settings, connection_name, connection.http_auth()) as client:
        return backfill_history(
            client,
            warehouse_path=settings.warehouse_path,
            connection_name=connection_name,
            organizations=connection.organizations(),
            timezone=settings.timezone,
            since=since,
            current_window_start=window_start,
            concurrency=settings.concurrency,
            on_progress=on_progress,
        )
