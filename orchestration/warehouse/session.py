"""A sync's hold on the warehouse: the file is opened when one of the sync's threads reads or
writes it, and let go between writes as soon as another process's writer waits for it.

Every writer holds the cross-process writer lock while its DuckDB connection is open
(writer_lock.py, files.py). An extraction spends nearly all of its time waiting for Polar (the
rate limit allows ~8 requests a second to the whole OAuth app), so a sync that kept the file open
while it paged made every other process's raw assets queue for nothing: `refresh --all` with 2
workers was only 7 % faster than with 1.

Why not simply open and close the file around each write: an open costs ~30 ms and the close
(DuckDB checkpoints it) ~30 ms more per page, measured on a 34 MB warehouse (90 ms per page
opened and closed, 32 ms on an open file): CPU the 2 cores lack, for nothing when no other
process wants the file (one worker, `polar-metrics refresh`, a big first sync). So a session
keeps the file while nobody else waits and lets go at the first idle moment (no thread of the
sync inside or queued) when someone does: after a write, or from its watcher thread while the
sync waits for Polar. Waiting writers say so (`others_waiting`), so the handover costs nothing
until it is needed. Transactions of one session take turns: DuckDB connections are not for
concurrent use, and the organizations of a sync all write `raw.polar_entity_sync`.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType

import duckdb

from orchestration.warehouse.bounded_writer import checkpoint_large_wal
from orchestration.warehouse.files import open_warehouse, transaction
from orchestration.warehouse.writer_lock import others_waiting

WATCH_SECONDS = 0.05  # how soon an idle session notices a waiting writer
# Before taking the file (again), a session lets a writer that already waits go first, for at
# most this long: the waiter polls the lock, and a busy sync would otherwise retake it first.
YIELD_SECONDS = 0.5


class WarehouseSession:
    """The warehouse for the threads of one sync: opened on demand, let go when others wait."""

    def __init__(self, path: Path, *, bounded_memory: bool = False) -> None:
        self.path = path
        self.bounded_memory = bounded_memory  # as open_warehouse's
        self.opens = 0  # how often the file was opened
        self._turn = threading.Lock()  # one thread at a time inside the connection
        self._count = threading.Lock()
        self._wanting = 0  # threads inside or queued for the connection
        self._open: tuple[ExitStack, duckdb.DuckDBPyConnection] | None = None
        self._ended = threading.Event()

    def __enter__(self) -> "WarehouseSession":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._ended.set()
        with self._turn:
            self._close()

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open warehouse for this thread's turn (opened if needed)."""
        with self._count:
            self._wanting += 1
        with self._turn:
            try:
                if self._open is None:
                    self._open = self._opened()
                yield self._open[1]
                if self.bounded_memory:  # a long session's WAL, as at a close
                    checkpoint_large_wal(self._open[1], self.path)
            finally:
                with self._count:
                    self._wanting -= 1
                    idle = self._wanting == 0
                if idle and others_waiting(self.path):
                    self._close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction in this thread's turn: committed on success, rolled back on error."""
        with self.connection() as con, transaction(con):
            yield con

    def _opened(self) -> tuple[ExitStack, duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + YIELD_SECONDS
        while others_waiting(self.path) and time.monotonic() < deadline:
            time.sleep(0.01)
        stack = ExitStack()
        try:
            con = stack.enter_context(open_warehouse(self.path, bounded_memory=self.bounded_memory))
        except BaseException:
            stack.close()
            raise
        self.opens += 1
        opened = (stack, con)
        watcher = threading.Thread(target=self._watch, args=(opened,), daemon=True)
        watcher.start()
        return opened

    def _watch(self, opened: tuple[ExitStack, duckdb.DuckDBPyConnection]) -> None:
        """While `opened` is open: let it go when idle and another process's writer waits."""
        while not self._ended.wait(WATCH_SECONDS):
            if self._open is not opened:
                return  # closed after a write (and maybe opened again, watched by another)
            if self._wanting or not others_waiting(self.path):
                continue
            with self._turn:
                if self._wanting == 0 and self._open is opened:
                    self._close()
                    return

    def _close(self) -> None:
        opened, self._open = self._open, None
        if opened is not None:
            opened[0].close()
