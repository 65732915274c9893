"""The full refresh job, reconstructable in the subprocesses of the multiprocess executor."""

import dagster as dg

import orchestration.definitions  # noqa: F401  (preloaded by the forkserver)


def full_refresh_job() -> dg.JobDefinition:
    """`polar_refresh_job` from the merged definitions (raw + dbt + outputs when present)."""
    from orchestration.definitions import defs

    return defs.resolve_job_def("polar_refresh_job")
