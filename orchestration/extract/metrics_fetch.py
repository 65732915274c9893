"""Concurrent metrics fetching: a bounded thread pool, results handed over in batches.

Workers also turn each answer into a DataFrame, so the single writer thread only writes. The
writer takes whatever finished while it was busy as one batch: one DuckDB commit per batch
instead of one per organization (a commit costs a disk sync), each organization still replaced
atomically inside it.
"""

import queue
import threading
import time
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from connectors.polar.records import MetricsResponse
from orchestration.extract.metric_rows import frame_from_response
from orchestration.extract.scopes import MetricsClient, Scope

BATCH_WAIT_SECONDS = 0.1
QUEUE_RESULTS_PER_WORKER = 2
HAND_OVER_POLL_SECONDS = 0.2


@dataclass
class ScopeResult:
    """One scope's answer as long rows, or the error that prevented it."""

    scope: Scope
    seconds: float
    response: MetricsResponse | None = None
    frame: pd.DataFrame | None = field(default=None, repr=False)
    error: Exception | None = None


def fetch_in_batches(
    client: MetricsClient,
    scopes: Sequence[Scope],
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

    def fetch(scope: Scope) -> None:
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
