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
PIPE_BYTES_KEPT = 4096  # signals recorded in order; later ones are left in the pipe


class InterruptWatch:
    """The first SIGINT/SIGTERM received while the watch is open (None until one arrives)."""

    def __init__(self, read_fd: int) -> None:
        self._read_fd = read_fd
        # The pipe is read straight into this buffer, never into a local: inside a step or a
        # hook Dagster's handler raises at the next bytecode, so the signal whose byte a read
        # just took could end the method before it recorded it (a Ctrl-C was lost that way in
        # about 1 run in 20 of its test on a loaded machine; CI saw exit 1 instead of 130).
        # Signal numbers are never 0, so the first 0 is where the next read goes.
        self._seen = bytearray(PIPE_BYTES_KEPT)

    def received(self) -> int | None:
        """The first signal's number, reading whatever the interpreter reported since."""
        free = self._seen.find(0)
        if free >= 0:
            try:
                os.readv(self._read_fd, [memoryview(self._seen)[free:]])
            except OSError:  # BlockingIOError: nothing new
                pass
        for number in self._seen:
            if number == 0:
                return None
            if number in WATCHED:
                return number
        return None

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
