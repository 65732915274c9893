"""What the spawned workers of test_unusable_worker.py run: a stand-in for a connection's raw run.

Its own module, importing only DuckDB at the top, because a spawned worker imports the module
that defines its task: the test module imported Dagster and pytest into each worker (11 s of CPU
over the test's workers, measured with py-spy). Only the poisoned connection's worker needs the
pipeline's report types, and imports them when it gets there.
"""

import os
import resource
import time
from pathlib import Path

import duckdb

from orchestration.cli.worker_pool import ConnectionResult

NAMES = [f"account-{index:02d}" for index in range(1, 11)]
POISONED = "account-03"
RUN_SECONDS = 0.3  # a healthy run; the rest wait for the poisoned one's failure (see below)
FAILED_MARK = "poisoned-failed"


def failed_checkpoint(folder: Path) -> str:
    """DuckDB's own error for a checkpoint that cannot write its file, after checking that the
    database then refuses even a read (what makes the worker unusable)."""
    con = duckdb.connect(str(folder / f"poisoned-{os.getpid()}.duckdb"))
    con.execute("create table t as select range as i from range(100000)")
    con.execute("checkpoint")
    con.execute("insert into t select range from range(100000)")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # Python ignores SIGXFSZ
    try:
        con.execute("checkpoint")
    except duckdb.Error as error:
        message = str(error)
    else:
        raise AssertionError("the checkpoint was not refused")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    try:
        con.execute("select count(*) from t")
    except duckdb.Error as error:
        if "invalidated" not in str(error):
            raise
    else:
        raise AssertionError("the database still answers after its FATAL error")
    return message


def stand_in_run(name: str) -> ConnectionResult:
    """A connection's raw run: ok after RUN_SECONDS, except POISONED, whose DuckDB meets a
    FATAL error; each line ends with the worker's pid."""
    folder = Path(os.environ["POISONED_DIR"])
    if NAMES.index(name) > NAMES.index(POISONED):
        # The connections after the poisoned one start once it has failed, however slowly its
        # worker runs: otherwise the other worker could finish them all first, and no new
        # pool would be needed (it did, when the poisoned worker's imports took a second).
        deadline = time.monotonic() + 60
        while not (folder / FAILED_MARK).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    time.sleep(RUN_SECONDS)
    if name == POISONED:
        from orchestration.cli.refresh_all import connection_result
        from orchestration.cli.runner import PipelineReport

        fatal = failed_checkpoint(folder)
        report = PipelineReport(False, "run", failed_steps={"polar_metrics_daily": fatal})
        failed = connection_result(name, report, 0.1)
        (folder / FAILED_MARK).touch()
        return ConnectionResult(False, f"{failed.line} pid {os.getpid()}", failed.worker_unusable)
    return ConnectionResult(True, f"{name}: ok pid {os.getpid()}")
