"""`polar-metrics refresh --all`: every active connection, one result line each.

Each connection's raw tables are refreshed by one of a few long-lived worker processes, each
running connections one after another (`run_refresh` of the raw job, Dagster in process); then
dbt and the outputs run once over all of them: a dbt build of N connections' rows costs about
what one costs, N builds cost N times. A connection that needs re-authorization or fails is
reported on its line; the others go on.

Why processes: a connection's refresh is ~4 CPU seconds of Dagster, DuckDB and parsing around
its requests, so one after another the last connection waits for all of those on top of the
rate limit. While one worker waits for Polar, another runs its orchestration and writes: a
worker holds the warehouse's writer lock (writer_lock.py) for its writes, not for its requests
(warehouse/session.py). The workers' requests draw on the one budget
of the OAuth app (shared_budget.py, fair between connections), so more workers never mean more
than Polar's limit. Threads would not do: the work is CPU under one GIL, and Dagster's
in-process runs own process-wide signal handlers.
"""

import functools
import sys
import time
from typing import TYPE_CHECKING

from connectors.polar.config import PolarSettings
from orchestration.cli.exit_codes import EXIT_PARTIAL
from orchestration.cli.worker_pool import ConnectionResult, run_in_workers

if TYPE_CHECKING:
    import dagster as dg

    from orchestration.cli.runner import PipelineReport

# Measured on 2 shared cores (README, "Many connections"): 2 workers took 7 % less time than 1 at
# 50 connections while the writer lock was held across each raw asset's requests; with the
# extraction letting go of the file between writes (warehouse/session.py), 1 worker was still
# faster at 20 connections there, CPU-bound. Each worker costs ~150 MB of imports (the raw
# assets only, `raw_definitions`) plus DuckDB's buffers.
DEFAULT_WORKERS = 2


# How DuckDB's FatalException begins; after one, the database instance refuses all work.
DUCKDB_FATAL = "FATAL Error"


def refresh_all(
    settings: PolarSettings, *, recent_only: bool = False, workers: int = DEFAULT_WORKERS
) -> int:
    """Refresh every active connection; exit 0 all ok, 3 some failed, 1 none or the build."""
    from connectors.polar.token_store import TokenStore

    names = sorted(
        row.name for row in TokenStore(settings.token_store_path).all() if row.status == "active"
    )
    if not names:
        print("No active connection: run `polar-metrics connect` first.", file=sys.stderr)
        return 1
    workers = max(1, min(workers, len(names)))
    print(
        f"Refreshing {len(names)} connection(s), {workers} at a time...",
        file=sys.stderr,
        flush=True,
    )
    task = functools.partial(refresh_connection, recent_only=recent_only)
    succeeded = sum(result.ok for result in run_in_workers(task, names, workers))
    return _build_once(settings, names, succeeded)


def refresh_connection(name: str, recent_only: bool = False) -> ConnectionResult:
    """One connection's raw tables (the unit of work of a worker process)."""
    from orchestration.cli.runner import RAW_JOB, RAW_RECENT_JOB, run_refresh
    from orchestration.warehouse.bounded_writer import release_idle_writers

    started = time.monotonic()
    job = RAW_RECENT_JOB if recent_only else RAW_JOB  # a job name wins over recent_only
    try:
        report = run_refresh(connection_name=name, job_name=job, defs=raw_definitions())
    finally:
        # A worker's DuckDB serves one connection's pages (bounded_writer.ONE_DUCKDB_PER_PROCESS),
        # not the next connection's: what it cached and freed goes back between them.
        release_idle_writers()
    return connection_result(name, report, time.monotonic() - started)


def connection_result(name: str, report: "PipelineReport", elapsed: float) -> ConnectionResult:
    """The result line of a connection's raw run."""
    failures = [*report.failed_steps.values(), *report.failed_checks]
    unusable = any(DUCKDB_FATAL in (failure or "") for failure in failures)
    metrics = report.materialized.get("polar_metrics_daily", {})
    if report.success and metrics.get("refresh_status") != "partial":
        return ConnectionResult(
            True,
            f"{name}: ok, {metrics.get('organizations')} organization(s), "
            f"{metrics.get('rows_written')} metric rows ({elapsed:.1f} s)",
            unusable,
        )
    if report.success:  # some organizations failed and kept their previous data
        failed = "; ".join(report.failed_checks) or "some organizations failed"
        line = f"{name}: PARTIAL, {failed} ({elapsed:.1f} s)"
        return ConnectionResult(False, line, worker_unusable=unusable)
    reason = (
        next(iter(report.failed_steps.values()), None)
        or report.run_error
        or "some organizations failed"
    )
    return ConnectionResult(False, f"{name}: FAILED, {reason} ({elapsed:.1f} s)", unusable)


@functools.cache
def raw_definitions() -> "dg.Definitions":
    """The raw assets (their checks inside), their resources and the raw jobs, and nothing of
    the dbt project: a worker never runs dbt, and loading it cost each worker ~100 MB (imports
    of dbt and dagster-dbt, the parsed manifest: 251 MB against 148 MB, measured), which put
    the tree of 2 workers at 1 GB in the raw phase."""
    import dagster as dg

    from orchestration.defs.common import resources as common_resources
    from orchestration.defs.polar import assets, entity_assets, jobs
    from orchestration.defs.polar import resources as polar_resources

    return dg.Definitions.merge(
        common_resources.defs,
        polar_resources.defs,
        dg.Definitions(
            assets=dg.load_assets_from_modules([assets, entity_assets]),
            jobs=[jobs.polar_raw_refresh_job, jobs.polar_raw_recent_job],
        ),
    )


def _build_once(settings: PolarSettings, names: list[str], succeeded: int) -> int:
    """dbt and the outputs once for every connection; the command's exit code."""
    from orchestration.cli.progress import DBT_LOG_NAME, dbt_output_to_file
    from orchestration.cli.runner import DOWNSTREAM_JOB, run_refresh
    from orchestration.defs.dbt.runs import dbt_state_dir

    started = time.monotonic()
    step_ends: list[tuple[str, float]] = []  # the steps run one after another, in process
    # dbt's own lines go to its log file, as in `refresh`: here one line per connection.
    with dbt_output_to_file(dbt_state_dir(settings.home) / DBT_LOG_NAME):
        build = run_refresh(
            connection_name=names[0],
            job_name=DOWNSTREAM_JOB,
            on_step=lambda step, *_: step_ends.append((step, time.monotonic())),
        )
    elapsed = time.monotonic() - started
    ends = [started] + [end for _, end in step_ends]
    steps = ", ".join(
        f"{step} {end - begin:.1f} s" for (step, end), begin in zip(step_ends, ends, strict=False)
    )
    if not build.success:
        failures = "; ".join(f"{step}: {error}" for step, error in build.failed_steps.items())
        print(f"dbt and outputs: FAILED, {failures} ({elapsed:.1f} s)", flush=True)
        return 1
    print(f"dbt and outputs: ok, once for {len(names)} connection(s) ({elapsed:.1f} s: {steps})")
    if succeeded == len(names):
        return 0
    return EXIT_PARTIAL if succeeded else 1
