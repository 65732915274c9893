"""The dbt child ends with its parent: `polar-metrics-dbt`, and stopping a child still running.

A dbt left running would keep the warehouse's write lock. A failing or interrupted dbt step
stops its child in a `finally` (`stop_child`). A refresh killed outright (SIGKILL, OOM) runs no
`finally`, so the pipeline starts dbt through the `polar-metrics-dbt` launcher, which on Linux
asks the kernel (prctl PR_SET_PDEATHSIG) for SIGTERM the moment its parent ends.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

PARENT_ENV = "POLAR_METRICS_DBT_PARENT"
WAREHOUSE_ENV = "POLAR_METRICS_WAREHOUSE"  # dbt's profile reads the file's path from it
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


def run_beside_the_warehouse() -> None:
    """Work in the warehouse's directory and give dbt's profile the file's bare name.

    dbt keeps its parse between runs only while the rendered profile stays the same, and the
    warehouse's path is part of it: with the absolute path, the first build of every state
    directory parsed the whole project again (about 3 s of a 13 s build), although the project's
    own parse (target/, made at the definitions' first import) was there to reuse. With the bare
    name every `warehouse.duckdb` renders the same profile. What dbt resolved against the project
    directory (the working directory it was started in) is pinned to it first.
    """
    warehouse = Path(os.environ.get(WAREHOUSE_ENV) or ".")
    if not warehouse.is_absolute() or not warehouse.parent.is_dir():
        return  # as dbt was started (a missing directory fails as it did)
    project = Path.cwd()
    os.environ.setdefault("DBT_PROJECT_DIR", str(project))
    if (project / "profiles.yml").exists():
        os.environ.setdefault("DBT_PROFILES_DIR", str(project))
    for name in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
        if os.environ.get(name):
            os.environ[name] = str(project / os.environ[name])  # an absolute path stays as it is
    os.chdir(warehouse.parent)
    os.environ[WAREHOUSE_ENV] = warehouse.name


def main() -> None:
    """Run dbt with the given arguments, as the `dbt` command does."""
    end_with_parent()
    run_beside_the_warehouse()
    from dbt.cli.main import cli

    sys.exit(cli())


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM received in the block take effect as it ends (main thread only).

    For starting the dbt child: Dagster raises its interruption at the next bytecode, so one
    landing after the child was spawned but before the `finally` that stops it was entered left
    dbt running (holding the warehouse) after the refresh had exited. CI saw the rerun of an
    interrupted refresh fail on the file's lock that way.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    watched = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.getsignal(signum) for signum in watched}
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    for signum in watched:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held:
            signal.raise_signal(held[0])  # through the restored handler, as if it came now


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


def stop_streaming(process: subprocess.Popen[bytes], events: Iterator[object]) -> None:
    """Stop the child, then read what is left of its event stream (`invocation.stream()`).

    dagster-dbt's stdout reader wraps its `yield` in a bare `except:`, so a stream abandoned
    while suspended there (a SIGTERM that lands outside dbt's read) catches the GeneratorExit of
    its garbage collection, yields again, and Python prints "generator ignored GeneratorExit"
    with a traceback. The stopped child's pipe ends at once, so reading to its end is quick and
    leaves no stream behind. Whatever the rest says (dbt's failure, above all) is ignored: the
    step is already failing or interrupted.
    """
    stop_child(process)
    with contextlib.suppress(Exception):
        for _ in events:
            pass
