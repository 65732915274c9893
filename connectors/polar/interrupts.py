"""Hold SIGINT/SIGTERM back while a token exchange and its commit are in flight.

Polar rotates the refresh token the moment it handles the call, with no grace period for the old
one: a Ctrl-C or SIGTERM (a Dagster run termination) that interrupts the process between Polar's
rotation and the commit of the new pair loses the chain. Inside `interrupts_deferred()` such a
signal is only remembered; when the block ends (the new pair committed, or the call failed) the
previous handler is put back and the signal delivered again, so the process still stops, just
after the commit. SIGKILL cannot be deferred: that window remains (see the README).

Python runs signal handlers only in the main thread and only lets the main thread set them, so
in any other thread this is a no-op; there the caller commits received tokens in a `finally`.
"""

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)

DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DeferredSignals:
    """The signals that arrived during the block, in order (empty when none did)."""

    def __init__(self) -> None:
        self.received: list[int] = []

    @property
    def pending(self) -> bool:
        """True once a deferred signal arrived: finish the commit, start nothing long."""
        return bool(self.received)

    def remember(self, signum: int, _frame: FrameType | None) -> None:
        """The temporary handler: note the signal, say why the process does not stop yet."""
        if not self.received:
            logger.warning(
                "%s received during the token exchange: stopping once the new tokens are stored",
                signal.Signals(signum).name,
            )
        self.received.append(signum)


@contextmanager
def interrupts_deferred() -> Iterator[DeferredSignals]:
    """Defer SIGINT/SIGTERM (main thread only) until the block ends; then deliver them."""
    deferred = DeferredSignals()
    if threading.current_thread() is not threading.main_thread():
        yield deferred
        return
    previous = {}
    for signum in DEFERRED_SIGNALS:
        handler = signal.getsignal(signum)
        # None: installed outside Python, it could not be put back. SIG_IGN: the process was
        # started with the signal ignored (a background job of a shell without job control),
        # so it must not stop on it, nor say it will.
        if handler is None or handler == signal.SIG_IGN:
            continue
        previous[signum] = handler
        signal.signal(signum, deferred.remember)
    try:
        yield deferred
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(deferred.received):  # each kind once, in arrival order
            signal.raise_signal(signum)
