"""A SIGTERM while the dbt child starts takes effect once it can be stopped.

The SIGTERM test of `polar-metrics refresh` (tests/orchestration/cli/test_refresh_interrupt.py)
met this as a race in CI: an interruption landing after dbt's child was spawned, before the
`finally` that stops it, left dbt holding the warehouse after the refresh had exited. Here the
signal is sent on purpose inside the window, with a real child process.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from types import FrameType

import pytest

from orchestration.defs.dbt.child import interrupts_held, stop_child


class Interrupted(Exception):
    """What the test's handler raises, as Dagster's raises its execution interruption."""


def raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


@pytest.fixture
def raising_sigterm() -> Iterator[None]:
    """SIGTERM raises `Interrupted` for the test, as inside a Dagster step."""
    previous = signal.signal(signal.SIGTERM, raise_interrupted)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("raising_sigterm")
def test_a_sigterm_inside_the_block_is_raised_at_its_end_and_the_child_is_stopped() -> None:
    """The block finishes (the child is held), then the handler raises once; a `finally` stops
    the child, which is gone afterwards."""
    child: subprocess.Popen[bytes] | None = None
    reached_end_of_block = False
    with pytest.raises(Interrupted) as raised:
        try:
            with interrupts_held():
                os.kill(os.getpid(), signal.SIGTERM)
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
                reached_end_of_block = True
        finally:
            if child is not None:
                stop_child(child)
    assert raised.value.args == (signal.SIGTERM,)
    assert reached_end_of_block
    assert child is not None and child.poll() is not None
    assert signal.getsignal(signal.SIGTERM) is raise_interrupted  # the handler is back


@pytest.mark.usefixtures("raising_sigterm")
def test_without_a_signal_the_block_raises_nothing_and_restores_the_handlers() -> None:
    """No signal: nothing raised, SIGTERM's and SIGINT's handlers as they were."""
    sigint = signal.getsignal(signal.SIGINT)
    with interrupts_held():
        assert signal.getsignal(signal.SIGTERM) is not raise_interrupted
    assert signal.getsignal(signal.SIGTERM) is raise_interrupted
    assert signal.getsignal(signal.SIGINT) is sigint
