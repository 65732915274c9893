"""`refresh --all`: a worker whose DuckDB became unusable (a FATAL error) is replaced.

After a FATAL error DuckDB refuses every later statement of that process; in the 1,000-connection
benchmark one such worker then failed every connection it took, at once, so it took most of
them (524 of 998 ok). Here the pool is the command's own (spawned processes, `run_in_workers`)
and the FATAL error is DuckDB's own: the poisoned connection's work is a checkpoint that the
file-size limit refuses, as a full disk would (the benchmark's was a checkpoint out of memory).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.cli import worker_pool
from orchestration.cli.refresh_all import connection_result
from orchestration.cli.runner import PipelineReport
from orchestration.cli.worker_pool import run_in_workers
from tests.orchestration.cli.stand_in_workers import (
    NAMES,
    POISONED,
    failed_checkpoint,
    stand_in_run,
)


@pytest.fixture(autouse=True)
def usable_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Where the poisoned database lives; the in-process form marks this process unusable,
    later tests need it usable."""
    monkeypatch.setenv("POISONED_DIR", str(tmp_path))  # spawned workers inherit it
    yield
    worker_pool._unusable = False


@pytest.mark.parametrize("workers", [2, 1])
def test_the_rest_run_in_new_workers_after_one_becomes_unusable(
    workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every connection is reported once; only the poisoned one failed, with DuckDB's FATAL
    error; no connection ran in the unusable process after its failure; a new pool took the
    rest."""
    results = run_in_workers(stand_in_run, NAMES, workers)
    lines = [result.line for result in results]
    assert sorted(line.split(":")[0] for line in lines) == NAMES, lines
    assert [result.ok for result in results].count(False) == 1
    poisoned = next(result for result in results if not result.ok)
    assert poisoned.worker_unusable
    assert poisoned.line.startswith(f"{POISONED}: FAILED, FATAL Error: Failed to create checkpoint")
    poisoned_pid = poisoned.line.rsplit(" ", 1)[1]
    after = lines[lines.index(poisoned.line) + 1 :]
    assert after and not any(line.endswith(f"pid {poisoned_pid}") for line in after), lines
    assert len({line.rsplit(" ", 1)[1] for line in lines}) > workers  # a new worker started
    assert "the rest go on in new workers" in capsys.readouterr().out or workers == 1


def test_only_a_duckdb_fatal_error_marks_the_worker_unusable(tmp_path: Path) -> None:
    """DuckDB's FATAL error in a step or a check does; an ordinary failure does not."""
    fatal = failed_checkpoint(tmp_path)
    ordinary = PipelineReport(False, "run", failed_steps={"polar_orders": "HTTP 502 from Polar"})
    assert not connection_result("a", ordinary, 1.0).worker_unusable
    in_step = PipelineReport(False, "run", failed_steps={"polar_orders": fatal})
    assert connection_result("a", in_step, 1.0).worker_unusable
    in_check = PipelineReport(True, "run", failed_checks=[f"polar_orders: {fatal}"])
    assert connection_result("a", in_check, 1.0).worker_unusable
