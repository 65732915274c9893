"""The warehouse's writer lock: writers from any process queue for the file instead of failing.

DuckDB lets one process write a file; a second writer's `connect` fails at once ("Could not set
lock"). So every writer of this project (the raw assets, dbt, backfill, purge, the CLI) first
takes an exclusive `flock` on `<warehouse>.writer.lock`, waiting a bounded time and saying whom
it waits for. The lock file holds the holder's PID and purpose, so the waiter can say "waiting
for the refresh of 'default' in PID 4242, 12 s" and a DuckDB lock held by anyone NOT named there
is known to be a foreign program (a BI tool, the duckdb shell).

Within one process the lock is shared (reentrant across threads): DuckDB allows any number of
connections from the process holding the file, and the organizations of one asset write in
parallel threads. The kernel drops a flock when its process dies, so a killed writer never
leaves a stale lock behind.

A waiting writer also holds a shared flock on `<warehouse>.writer.wanted` while it waits, so a
holder that could let go between writes (a sync session, session.py) sees that someone waits
(`others_waiting`) and closes the file at its next idle moment instead of at its end.
"""

import fcntl
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectors.polar.errors import PolarError

DEFAULT_WAIT_SECONDS = 3600.0  # longer than the longest hold measured (a first entity sync)
# A sync session lets go of the file between two of its writes for a waiter (session.py): the
# waiter must notice within that gap, so it polls often (a flock try and a small read).
POLL_SECONDS = 0.05
PROGRESS_EVERY_SECONDS = 10.0
# "waiting for ..., 12 s" lines; the CLI prints them on stderr, Dagster captures them.
WAIT_LOGGER = "polar_metrics.writer_lock"
logger = logging.getLogger(WAIT_LOGGER)


class WriterLockTimeout(PolarError):
    """Another writer kept the warehouse longer than this writer may wait."""


@dataclass(frozen=True)
class Holder:
    """Who holds the writer lock (as it wrote itself into the lock file)."""

    pid: int
    purpose: str

    def describe(self) -> str:
        """E.g. "`polar-metrics refresh` in PID 4242"."""
        return f"{self.purpose} in PID {self.pid}"


class _ProcessShare:
    """The process's hold on one lock file: taken once, counted across threads."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.count = 0
        self.fd: int | None = None


_shares: dict[Path, _ProcessShare] = {}
_shares_lock = threading.Lock()


def lock_path_for(warehouse_path: Path) -> Path:
    """`w.duckdb` -> `w.duckdb.writer.lock` (beside the file it guards)."""
    return warehouse_path.with_name(f"{warehouse_path.name}.writer.lock")


def wanted_path_for(warehouse_path: Path) -> Path:
    """`w.duckdb` -> `w.duckdb.writer.wanted` (held shared by the writers waiting for the lock)."""
    return warehouse_path.with_name(f"{warehouse_path.name}.writer.wanted")


def others_waiting(warehouse_path: Path) -> bool:
    """Whether a writer of another process waits for the warehouse's writer lock now."""
    try:
        fd = os.open(wanted_path_for(warehouse_path), os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True  # a waiter holds it shared
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def current_holder(warehouse_path: Path) -> Holder | None:
    """The polar-metrics writer holding the warehouse now, if any."""
    path = lock_path_for(warehouse_path)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def this_process() -> str:
    """What this process is, for waiters: `polar-metrics refresh --connection default`."""
    words = [os.path.basename(sys.argv[0]) if sys.argv else "python", *sys.argv[1:4]]
    return f"`{' '.join(words)[:80]}`"


@contextmanager
def writer_lock(warehouse_path: Path, *, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock for the block, queueing behind other processes."""
    path = lock_path_for(warehouse_path)
    with _shares_lock:
        share = _shares.setdefault(Path(os.path.abspath(path)), _ProcessShare())
    with share.mutex:
        if share.count == 0:
            share.fd = _acquire(warehouse_path, _wait_budget(wait_seconds))
        share.count += 1
    try:
        yield
    finally:
        with share.mutex:
            share.count -= 1
            if share.count == 0 and share.fd is not None:
                os.close(share.fd)  # closing the last descriptor releases the flock
                share.fd = None


def _wait_budget(wait_seconds: float | None) -> float:
    if wait_seconds is not None:
        return wait_seconds
    configured = os.environ.get("POLAR_METRICS_WRITER_WAIT_SECONDS")
    return float(configured) if configured else DEFAULT_WAIT_SECONDS


def _acquire(warehouse_path: Path, budget: float) -> int:
    path = lock_path_for(warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    started = time.monotonic()
    next_progress = PROGRESS_EVERY_SECONDS
    wanted: int | None = None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            if wanted is None:  # say so to a holder that can let go between its writes
                wanted = os.open(wanted_path_for(warehouse_path), os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(wanted, fcntl.LOCK_SH)
            waited = time.monotonic() - started
            holder = _read_holder(path)
            who = holder.describe() if holder else "another polar-metrics writer"
            if waited >= budget:
                raise WriterLockTimeout(
                    f"The warehouse {warehouse_path} is still being written by {who} after "
                    f"{waited:.0f} s: let it finish (or stop it) and try again; "
                    "POLAR_METRICS_WRITER_WAIT_SECONDS sets how long writers wait."
                )
            if waited >= next_progress:
                logger.warning("waiting for %s, %.0f s", who, waited)
                next_progress += PROGRESS_EVERY_SECONDS
            time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        holder = {"pid": os.getpid(), "purpose": this_process()}
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        return fd
    except BaseException:
        os.close(fd)
        raise
    finally:
        if wanted is not None:
            os.close(wanted)


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text() or "null")
        return Holder(int(data["pid"]), str(data["purpose"])) if data else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # being rewritten right now, or never written
