"""The dbt child ends with its parent: `polar-metrics-dbt`, and stopping a child still running.

A dbt left running would keep the warehouse's write lock. A failing or interrupted dbt step
stops its child in a `finally` (`stop_child`). A refresh killed outright (SIGKILL, OOM) runs no
`finally`, so the pipeline starts dbt through the `polar-metrics-dbt` launcher, which on Linux
asks the kernel (prctl PR_SET_PDEATHSIG) for SIGTERM the moment its parent ends.
"""

import ctypes
import os
import signal
import subprocess
import sys

PARENT_ENV = "POLAR_METRICS_DBT_PARENT"
PR_SET_PDEATHSIG = 1
# A dbt child asked to stop gets this long to roll back before it is killed.
STOP_GRACE_SECONDS = 2.0


def end_with_parent(parent: int | None = None) -> None:
    """Have the kernel send SIGTERM when the parent (`parent`, else the pid in PARENT_ENV)
    ends; exit if it already has."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = parent or int(os.environ.get(PARENT_ENV) or 0)
    if parent and parent != os.getppid():  # the parent died before prctl took effect
        raise SystemExit(143)


def main() -> None:
    """Run dbt with the given arguments, as the `dbt` command does."""
    end_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())


def stop_child(process: subprocess.Popen[bytes]) -> None:
    """End a dbt child still running (its parent is failing or interrupted): SIGTERM, then kill."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
