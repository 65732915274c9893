"""Where each `dbt build` writes: a run folder in the state directory, pruned, one partial parse.

dagster-dbt gives every invocation its own target folder (artifacts of concurrent runs never mix);
by default inside the source tree, where they pile up (~6 MB each). Here they live under
`$POLAR_METRICS_HOME/dbt/runs/`, the newest few are kept (their `dbt.log` and run_results.json
explain a failure afterwards), and dbt's partial parse file is carried from one run to the next,
so a build re-parses only what changed.
"""

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connectors.polar.config import PolarSettings

RUNS_KEPT = 5
PARTIAL_PARSE = "partial_parse.msgpack"


def dbt_state_dir(home: Path | None = None) -> Path:
    """`<state directory>/dbt`: run folders and the shared partial parse."""
    return (home or PolarSettings.from_env().home) / "dbt"


@contextmanager
def dbt_run_folder(run_id: str, home: Path | None = None) -> Iterator[Path]:
    """A fresh run folder primed with the last partial parse; saved back and pruned afterwards."""
    state = dbt_state_dir(home)
    runs = state / "runs"
    folder = runs / f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{run_id[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    shared = state / PARTIAL_PARSE
    if shared.exists():
        shutil.copyfile(shared, folder / PARTIAL_PARSE)
    try:
        yield folder
    finally:
        _save_partial_parse(folder / PARTIAL_PARSE, shared)
        prune_run_folders(runs)


def _save_partial_parse(produced: Path, shared: Path) -> None:
    """Replace the shared partial parse atomically (a concurrent reader sees old or new)."""
    if not produced.exists():
        return
    staged = shared.with_suffix(f".{os.getpid()}.tmp")
    shutil.copyfile(produced, staged)
    os.replace(staged, shared)


def prune_run_folders(runs: Path, keep: int = RUNS_KEPT) -> list[Path]:
    """Delete all but the newest `keep` run folders (names sort by start time); the deleted."""
    folders = sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []
    stale = folders[:-keep] if keep else folders
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return stale
