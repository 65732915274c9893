"""`polar-metrics-dbt`: dbt's own command line, ended by the kernel when its parent dies.

The pipeline starts dbt through this launcher. A refresh killed outright (SIGKILL, OOM) runs no
`finally`, and a dbt left running would keep the warehouse's write lock; on Linux the child
asks the kernel (prctl PR_SET_PDEATHSIG) for SIGTERM the moment its parent ends.
"""

import ctypes
import os
import signal
import sys

PARENT_ENV = "POLAR_METRICS_DBT_PARENT"
PR_SET_PDEATHSIG = 1


def end_with_parent() -> None:
    """Have the kernel send SIGTERM when the parent ends; exit if it already has."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    parent = os.environ.get(PARENT_ENV)
    if parent and int(parent) != os.getppid():  # the parent died before prctl took effect
        raise SystemExit(143)


def main() -> None:
    """Run dbt with the given arguments, as the `dbt` command does."""
    end_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())
