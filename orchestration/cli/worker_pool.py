"""`refresh --all`'s worker processes: connections one after another in each, results as they end.

A worker is a spawned interpreter (nothing of the command's process, locks or threads, is
inherited) that ends with the command. A worker whose DuckDB met a FATAL error takes no further
connection: DuckDB then refuses every statement of that process, and in the 1,000-connection
benchmark one such worker failed every connection it took, at once, so it took most of them.
The connections queued behind it are cancelled and run in a new pool.
"""

import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from orchestration.defs.dbt.child import end_with_parent


@dataclass(frozen=True)
class ConnectionResult:
    """One connection's outcome: whether its raw tables are complete, and its result line."""

    ok: bool
    line: str
    # DuckDB invalidated the warehouse in this process (a FATAL error, e.g. a checkpoint that
    # failed): every later write of the process fails at once, so its worker is replaced.
    worker_unusable: bool = False
    run_again: bool = False  # not attempted (its worker was unusable): run in a new worker


# A connection's work in a worker: a module-level function (or a partial of one), as the pool
# pickles it by name.
ConnectionTask = Callable[[str], ConnectionResult]


def run_in_workers(task: ConnectionTask, names: list[str], workers: int) -> list[ConnectionResult]:
    """`task` of every name, `workers` at a time; each result line printed as it ends."""
    results: list[ConnectionResult] = []
    pending = list(names)
    if workers == 1:  # no pool to start: the same work in this process
        while pending and not (results and results[-1].worker_unusable):
            results.append(_printed(run_task(task, pending.pop(0))))
    while pending:  # a fresh pool after a worker became unusable (each round reports one more)
        again = set(_run_in_pool(task, pending, workers, results))
        pending = [name for name in pending if name in again]
    return results


def _run_in_pool(
    task: ConnectionTask, names: list[str], workers: int, results: list[ConnectionResult]
) -> list[str]:
    """`names` in a new pool of `workers`, results appended; returns the names to run again
    because a worker became unusable (those queued are cancelled, those running finish)."""
    again: list[str] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(),)
    ) as pool:
        try:
            futures = {pool.submit(run_task, task, name): name for name in names}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except CancelledError:
                    result = ConnectionResult(False, "", run_again=True)
                except Exception as error:  # e.g. its worker was killed: this one failed
                    result = ConnectionResult(False, f"{futures[future]}: FAILED, {error}")
                if result.run_again:
                    again.append(futures[future])
                    continue
                results.append(_printed(result))
                if result.worker_unusable:
                    print("  (its worker's DuckDB is unusable: the rest go on in new workers)")
                    for queued in futures:
                        queued.cancel()
        except BaseException:  # Ctrl-C: start nothing more
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return again


def _printed(result: ConnectionResult) -> ConnectionResult:
    print(result.line, flush=True)
    return result


# A worker whose DuckDB became unusable (see ConnectionResult) runs no further connection.
_unusable = False


def run_task(task: ConnectionTask, name: str) -> ConnectionResult:
    """One connection in this process, unless an earlier one left its DuckDB unusable."""
    global _unusable
    if _unusable:
        return ConnectionResult(False, f"{name}: not run", run_again=True)
    try:
        result = task(name)
    finally:
        _end_if_orphaned()
    _unusable = _unusable or result.worker_unusable
    return result


# The `refresh --all` process a pool worker belongs to (None outside a pool).
_parent: int | None = None


def _start_worker(parent: int) -> None:
    """A pool worker ends with `refresh --all`: killed or stopped, it left its workers
    refreshing (and drawing on the budget) on their own, then waiting for work forever. The
    kernel sends SIGTERM when the parent ends: while idle that ends the worker; during a run
    it stops the run at its next step (as an interrupted `refresh` does, so no token is lost)
    and the worker ends after it (`_end_if_orphaned`)."""
    global _parent
    _parent = parent
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    end_with_parent(parent)
    _cap_malloc_arenas()


# glibc's mallopt parameter for the number of malloc arenas (malloc.h).
M_ARENA_MAX = -8


def _cap_malloc_arenas(arenas: int = 2) -> None:
    """At most `arenas` glibc malloc arenas in this worker (Linux with glibc only).

    glibc gives threads arenas of their own (up to 8 per core) and keeps what they freed: a
    worker at 230 connections of the 1,000-connection benchmark had 12 of them, 150 MB of its
    ~400 MB. DuckDB allocates through its own allocator, so this caps Python's side only.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None)
    if hasattr(libc, "mallopt"):
        libc.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas))


def _end_if_orphaned() -> None:
    """After a run in a pool worker: back to SIGTERM's default, and end if the parent has."""
    if _parent is None:
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getppid() != _parent:
        os._exit(128 + signal.SIGTERM)  # nobody reads the result; the run has committed
