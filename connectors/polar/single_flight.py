"""One refresh at a time, across the threads of a process AND across processes.

The cross-process part is `fcntl.flock` on `<store>.refresh.lock`: the operating system releases
it when the holder exits, even after `kill -9`, so a crashed refresher never blocks the others.
"""

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connectors.polar.errors import TokenStoreError
from connectors.polar.private_files import private_directory

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def lock_path_for(store_path: Path) -> Path:
    """The lock file next to the token store."""
    return store_path.with_name(store_path.name + ".refresh.lock")


@contextmanager
def refresh_lock(store_path: Path, timeout: float) -> Iterator[None]:
    """Hold the refresh lock of `store_path` (thread lock, then file lock) for the block.

    Callers wait `token_exchange.REFRESH_LOCK_WAIT_SECONDS`: longer than any legitimate hold.
    """
    path = lock_path_for(store_path)
    thread_lock = _thread_lock(str(path.resolve()))
    if not thread_lock.acquire(timeout=timeout):
        raise _timeout_error(path, timeout)
    try:
        with _file_lock(path, timeout):
            yield
    finally:
        thread_lock.release()


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    private_directory(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _timeout_error(path, timeout) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _thread_lock(key: str) -> threading.Lock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


def _timeout_error(path: Path, timeout: float) -> TokenStoreError:
    return TokenStoreError(
        f"another polar-metrics process held the token refresh lock ({path}) for more than "
        f"{timeout:.0f} s; retry, or stop the stuck process."
    )
