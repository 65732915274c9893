"""Ctrl-C and SIGTERM during a refresh: remember the signal, stop at the next step, exit 128+N.

Dagster owns SIGINT and SIGTERM while a run executes in process (it maps both to one handler
that interrupts user code), so the signal's number is learnt from a wakeup pipe, which the
interpreter writes for every handled signal whoever installed the handler.
"""

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

WATCHED = (signal.SIGINT, signal.SIGTERM)


class InterruptWatch:
    """The first SIGINT/SIGTERM received while the watch is open (None until one arrives)."""

    def __init__(self, read_fd: int) -> None:
        self._read_fd = read_fd
        self._signum: int | None = None

    def received(self) -> int | None:
        """The first signal's number, reading whatever the interpreter reported since."""
        try:
            numbers = os.read(self._read_fd, 256)
        except (BlockingIOError, OSError):
            numbers = b""
        for number in numbers:
            if self._signum is None and number in WATCHED:
                self._signum = number
        return self._signum

    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 SIGINT, 143 SIGTERM)."""
        signum = self.received()
        return 128 + signum if signum else 0

    def signal_name(self) -> str:
        """SIGINT or SIGTERM."""
        signum = self.received()
        return signal.Signals(signum).name if signum else ""


def _remember_only(signum: int, frame: FrameType | None) -> None:
    """Outside the run: the wakeup pipe already recorded the signal; stop at the next check."""


@contextmanager
def watch_interrupts() -> Iterator[InterruptWatch]:
    """Record SIGINT/SIGTERM for the block (main thread only); restore the handlers after."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    previous_handlers = {signum: signal.getsignal(signum) for signum in WATCHED}
    previous_fd = signal.set_wakeup_fd(write_fd)
    try:
        for signum in WATCHED:
            signal.signal(signum, _remember_only)
        yield InterruptWatch(read_fd)
    finally:
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
        os.close(read_fd)
        os.close(write_fd)


def interrupt_next_dagster_step() -> None:
    """Make Dagster raise its interruption as the next step enters user code.

    In process, Dagster only raises a captured interrupt when a step starts; it never stops
    between steps by itself, so a signal received outside user code would be forgotten.
    """
    from dagster._utils import interrupts

    interrupts._received_interrupt["received"] = True
