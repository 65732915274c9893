"""`refresh --all`: a worker whose DuckDB became unusable (a FATAL error) is replaced.

After a FATAL error DuckDB refuses every later statement of that process; in the 1,000-connection
benchmark one such worker then failed every connection it took, at once, so it took most of
them (524 of 998 ok). Here the pool is real (spawned processes, the command's own loop); the
raw run is a stand-in that fails one connection the way that run did.
"""

import os
import time
from collections.abc import Iterator

import pytest

from orchestration.cli import refresh_all
from orchestration.cli.refresh_all import ConnectionResult, _refresh_raw, connection_result
from orchestration.cli.runner import PipelineReport

NAMES = [f"account-{index:02d}" for index in range(1, 11)]
POISONED = "account-03"
FATAL = (
    "duckdb.duckdb.FatalException: FATAL Error: Failed to create checkpoint because of error: "
    "failed to pin block of size 256.0 KiB (182.9 MiB/183.1 MiB used)"
)


def stand_in_run(name: str, recent_only: bool) -> ConnectionResult:
    """A connection's raw run: ok after 0.1 s, except POISONED, which meets a FATAL error."""
    time.sleep(0.1)
    failed = connection_result(name, PipelineReport(False, "run", failed_steps={"x": FATAL}), 0.1)
    if name == POISONED:
        return ConnectionResult(False, f"{failed.line} pid {os.getpid()}", failed.worker_unusable)
    return ConnectionResult(True, f"{name}: ok pid {os.getpid()}")


@pytest.fixture(autouse=True)
def usable_again() -> Iterator[None]:
    """The in-process form marks this process unusable; later tests need it usable."""
    yield
    refresh_all._unusable = False


@pytest.mark.parametrize("workers", [2, 1])
def test_the_rest_run_in_new_workers_after_one_becomes_unusable(
    workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every connection is reported once; only the poisoned one failed; no connection ran in
    the unusable process after its failure; a new pool took the rest."""
    results = _refresh_raw(NAMES, False, workers, stand_in_run)
    lines = [result.line for result in results]
    assert sorted(line.split(":")[0] for line in lines) == NAMES, lines
    assert [result.ok for result in results].count(False) == 1
    poisoned = next(result for result in results if not result.ok)
    assert poisoned.line.startswith(f"{POISONED}: FAILED, {FATAL}"), poisoned.line
    poisoned_pid = poisoned.line.rsplit(" ", 1)[1]
    after = lines[lines.index(poisoned.line) + 1 :]
    assert after and not any(line.endswith(f"pid {poisoned_pid}") for line in after), lines
    assert len({line.rsplit(" ", 1)[1] for line in lines}) > workers  # a new worker started
    assert "the rest go on in new workers" in capsys.readouterr().out or workers == 1


def test_only_a_duckdb_fatal_error_marks_the_worker_unusable() -> None:
    """A FATAL error in a step or a check does; an ordinary failure does not."""
    ordinary = PipelineReport(False, "run", failed_steps={"polar_orders": "HTTP 502 from Polar"})
    assert not connection_result("a", ordinary, 1.0).worker_unusable
    in_step = PipelineReport(False, "run", failed_steps={"polar_orders": FATAL})
    assert connection_result("a", in_step, 1.0).worker_unusable
    in_check = PipelineReport(True, "run", failed_checks=[f"polar_orders: {FATAL}"])
    assert connection_result("a", in_check, 1.0).worker_unusable
