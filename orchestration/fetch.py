"""Concurrent metrics fetching: a bounded thread pool, results handed over in batches.

Workers also turn each answer into a DataFrame, so the single writer thread only writes. The
writer takes whatever finished while it was busy as one batch: one DuckDB commit per batch
instead of one per organization (a commit costs a disk sync), each organization still replaced
atomically inside it.
"""

import math
import queue
import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from connectors.polar.records import MetricsResponse

BATCH_WAIT_SECONDS = 0.1
QUEUE_RESULTS_PER_WORKER = 2
HAND_OVER_POLL_SECONDS = 0.2

if TYPE_CHECKING:
    from orchestration.extract import MetricsClient, Scope


@dataclass
class ScopeResult:
    """One scope's answer as long rows, or the error that prevented it."""

    scope: "Scope"
    seconds: float
    response: MetricsResponse | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)
    error: Exception | None = None


def frame_from_response(
    connection_name: str, scope_id: str, response: MetricsResponse, start: date
) -> pd.DataFrame:
    """Long rows (`raw.polar_metrics` columns); dates from each period's position.

    Built with numpy rather than `melt`: this runs once per organization on every refresh.
    """
    periods = response.periods
    slugs = list(dict.fromkeys(k for p in periods for k in p if k != "timestamp"))
    values = np.array(
        [[_number(p.get(slug)) for slug in slugs] for p in periods], dtype="float64"
    ).ravel()
    days = np.datetime64(start, "D") + np.arange(len(periods))
    keep = ~np.isnan(values)
    count = int(keep.sum())
    return pd.DataFrame(
        {
            "connection_name": pd.Categorical.from_codes(np.zeros(count, int), [connection_name]),
            "organization_id": pd.Categorical.from_codes(np.zeros(count, int), [scope_id]),
            "date": np.repeat(days, len(slugs))[keep].astype("datetime64[s]"),
            "metric_slug": pd.Categorical.from_codes(
                np.tile(np.arange(len(slugs)), len(periods))[keep], slugs
            ),
            "value": values[keep],
            "fetched_at": pd.Timestamp.now(tz="UTC"),
        }
    )


def _number(value: object) -> float:
    """The value as a float; NaN (dropped) for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def fetch_in_batches(
    client: "MetricsClient",
    scopes: Sequence["Scope"],
    *,
    connection_name: str,
    start: date,
    end: date,
    timezone: str,
    concurrency: int,
) -> Generator[list[ScopeResult], None, None]:
    """Every scope's result, in batches of whatever completed since the previous batch.

    At most 2 x concurrency results wait for the writer: the writer is slower than the fetchers,
    and an unbounded hand-over would hold most of a large refresh in memory at once.
    """
    workers = max(1, concurrency)
    results: queue.Queue[ScopeResult] = queue.Queue(maxsize=QUEUE_RESULTS_PER_WORKER * workers)
    stopped = threading.Event()  # the consumer went away: waiting fetchers give up

    def hand_over(result: ScopeResult) -> None:
        while not stopped.is_set():
            try:
                results.put(result, timeout=HAND_OVER_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def fetch(scope: "Scope") -> None:
        if stopped.is_set():
            return
        started = time.monotonic()
        try:
            response = client.get_metrics(
                start_date=start,
                end_date=end,
                interval="day",
                timezone=timezone,
                organization_ids=list(scope.organization_ids),
            )
            frame = frame_from_response(connection_name, scope.scope_id, response, start)
        except Exception as error:  # reported per scope; never sinks the others
            hand_over(ScopeResult(scope, time.monotonic() - started, error=error))
            return
        hand_over(ScopeResult(scope, time.monotonic() - started, slim(response), frame))

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="polar")
    try:
        for scope in scopes:
            pool.submit(fetch, scope)
        remaining = len(scopes)
        while remaining:
            batch = collect_batch(results, target=min(workers, remaining))
            remaining -= len(batch)
            yield batch
    finally:
        stopped.set()
        pool.shutdown(wait=True, cancel_futures=True)


def slim(response: MetricsResponse) -> MetricsResponse:
    """What the writer still needs once the frame is built: the definitions and the raw body."""
    return MetricsResponse(
        periods=[], totals={}, definitions=response.definitions, raw_body=response.raw_body
    )


def collect_batch(
    results: "queue.Queue[ScopeResult]", *, target: int, max_wait: float = BATCH_WAIT_SECONDS
) -> list[ScopeResult]:
    """At least one result; more until `target` arrived or `max_wait` passed since the first.

    Results of one wave of concurrent calls arrive within moments of each other: waiting a
    little for the rest of the wave saves a commit per result.
    """
    batch = [results.get()]
    deadline = time.monotonic() + max_wait
    while len(batch) < target:
        timeout = deadline - time.monotonic()
        try:
            batch.append(results.get(timeout=timeout) if timeout > 0 else results.get_nowait())
        except queue.Empty:
            break
    return batch
