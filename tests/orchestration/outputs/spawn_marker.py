"""A start hook for spawned page processes, in a module of its own: a spawned process imports
the module that defines its hook, and the test module would bring Dagster and the pipeline's
fixtures into each one (~3 s of CPU per process, measured with py-spy)."""

import os
from pathlib import Path


def record_pid() -> None:
    """A spawned process's start: leave its pid where the test can see it."""
    Path(os.environ["TENANT_PAGE_PIDS"], str(os.getpid())).touch()
