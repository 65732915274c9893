"""The interrupt watch never loses a signal, whatever the handler in force does.

Inside a step or a hook, Dagster's SIGINT/SIGTERM handler raises at the next bytecode. A signal
whose byte the watch had just read from its wakeup pipe was lost when the handler raised right
after the read: `refresh` then exited 1 "FAILED" instead of 130 "interrupted" (a CI run's Ctrl-C
test; about 1 run in 20 of that test on a loaded machine, 3 in 1,800 of a tight loop).
"""

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

from orchestration.cli.interrupts import watch_interrupts


class Interrupted(BaseException):
    """Stands for Dagster's DagsterExecutionInterruptedError (a BaseException too)."""


def _raising_after(read: Callable[..., Any]) -> Callable[..., Any]:
    """`read`, then what Dagster's handler does when the signal is handled right after it."""

    def read_then_raise(*args: Any) -> Any:
        read(*args)
        raise Interrupted

    return read_then_raise


def test_a_handler_raising_right_after_the_read_does_not_lose_the_signal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with watch_interrupts() as interrupt:
        signal.raise_signal(signal.SIGTERM)  # written to the pipe; our handler only remembers
        with monkeypatch.context() as patched:
            for name in ("read", "readv"):  # whichever the watch reads with
                patched.setattr(os, name, _raising_after(getattr(os, name)))
            with pytest.raises(Interrupted):
                interrupt.received()
        assert interrupt.received() == signal.SIGTERM
        assert interrupt.exit_code() == 143 and interrupt.signal_name() == "SIGTERM"


def test_the_first_watched_signal_is_the_one_reported() -> None:
    with watch_interrupts() as interrupt:
        assert interrupt.received() is None
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        assert interrupt.received() == signal.SIGINT and interrupt.exit_code() == 130
