"""Shared parts of the benchmarks: a loaded warehouse, timing helpers and table printing.

Benchmarks print tables (never assert timings). Everything runs against the emulator on
loopback in temporary directories; nothing is written to the repository or $HOME.
"""

import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectors.polar.client import PolarClient
from connectors.polar.config import PolarSettings
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import RunningEmulator, run_emulator
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.defs.dbt.project import BUILD_ARGS
from orchestration.extract.metrics import refresh_metrics as load_metrics
from orchestration.extract.organizations import sync_organizations
from orchestration.extract.scopes import local_today, metrics_window

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONNECTION = "default"


@dataclass
class LoadedWarehouse:
    """A connected emulator and a warehouse holding one full refresh of the raw tables."""

    emulator: RunningEmulator
    env: dict[str, str]
    settings: PolarSettings
    load_seconds: float


@contextmanager
def emulated_environment(
    state_dir: Path, *, scenario: str = "many", orgs: int = 3, latency_ms: int = 0
) -> Iterator[tuple[RunningEmulator, dict[str, str]]]:
    """An emulator (rate limit off) with `default` connected; os.environ points at it."""
    with saved_environment(), ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario=scenario,
            orgs=orgs,
            latency_ms=latency_ms,
            rate_limit_per_minute=None,
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        emulator = stack.enter_context(run_emulator(config))
        env = emulator_environment(
            emulator.base_url, emulator.client_id, emulator.client_secret, state_dir
        )
        os.environ.update({**env, "POLAR_RATE_LIMIT_PER_MINUTE": "0"})
        connect_headless(PolarSettings.from_env(), CONNECTION, port)
        yield emulator, dict(os.environ)


@contextmanager
def saved_environment() -> Iterator[None]:
    """Restore os.environ afterwards (benchmarks point the product at their emulator)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def loaded_warehouse(state_dir: Path, orgs: int) -> Iterator[LoadedWarehouse]:
    """The `many` scenario with `orgs` organizations, its 90-day window in the raw tables."""
    with emulated_environment(state_dir, orgs=orgs) as (emulator, env):
        settings = PolarSettings.from_env()
        started = time.perf_counter()
        refresh_raw(settings)
        yield LoadedWarehouse(emulator, env, settings, time.perf_counter() - started)


def refresh_raw(settings: PolarSettings, concurrency: int | None = None) -> None:
    """Discover organizations and load the metrics window, as the raw assets do."""
    from connectors.polar.connection import PolarConnection

    connection = PolarConnection.open(settings, CONNECTION)
    with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
        organizations = sync_organizations(
            client,
            warehouse_path=settings.warehouse_path,
            connection_name=CONNECTION,
            environment=settings.environment.name,
            connection_status=connection.status,
        )
        outcome = load_metrics(
            client,
            warehouse_path=settings.warehouse_path,
            connection_name=CONNECTION,
            organizations=organizations,
            timezone=settings.timezone,
            window=metrics_window(local_today(settings.timezone), settings.window_days),
            concurrency=concurrency or settings.concurrency,
        )
    if outcome.status != "success":
        raise SystemExit(f"refresh {outcome.status}: {[s.error for s in outcome.failed]}")


def dbt_build(env: dict[str, str], work_dir: Path) -> tuple[float, str]:
    """(seconds, dbt's outcome line) of `dbt build` run as a user would, in its own process.

    A failing dbt test does not stop the benchmark (the marts are still built); the outcome
    line (e.g. `PASS=96 WARN=0 ERROR=1 ...`) is reported next to the time.
    """
    command = [
        str(BIN / "dbt"),
        *BUILD_ARGS,
        "--project-dir",
        str(REPO / "dbt_project"),
        "--profiles-dir",
        str(REPO / "dbt_project"),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    seconds, result = timed_process(command, env, cwd=work_dir, allowed_codes=(0, 1))
    done = [line for line in result.stdout.splitlines() if "Done. PASS=" in line]
    if not done:
        raise SystemExit(f"dbt build did not finish:\n{result.stdout[-3000:]}")
    return seconds, done[-1].split("Done. ", 1)[1]


def timed_process(
    command: Sequence[str],
    env: dict[str, str],
    cwd: Path | None = None,
    allowed_codes: Sequence[int] = (0,),
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """(wall seconds, result) of one subprocess; raises with its output on another exit code."""
    started = time.perf_counter()
    result = subprocess.run(
        list(command), env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode not in allowed_codes:
        raise SystemExit(
            f"{' '.join(command[:3])} failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return seconds, result


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall seconds of `runs` calls."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain-text table with a title line."""
    cells = [list(map(str, header)), *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "=" * len(title)]
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    sys.stdout.write("\n".join(lines) + "\n\n")
    sys.stdout.flush()


def cpu_seconds(usage: resource.struct_rusage) -> float:
    """User + system CPU seconds of a getrusage answer."""
    return usage.ru_utime + usage.ru_stime


def tree_memory_mb(root: int) -> tuple[float, float]:
    """Memory of process `root` and all its descendants in MB (from /proc): (PSS, RSS).

    PSS counts a page shared by several processes once, split between them; the sum of RSS
    counts it in each. The processes of a `refresh --all` map the same libraries (DuckDB's
    alone is ~60 MB resident in each), so RSS summed over-counts what the tree occupies: 585
    against 472 MB for two workers and their parent (60 connections).
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    pss = rss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        fields = {line.split()[0]: int(line.split()[1]) for line in rollup[1:]}
        pss, rss = pss + fields.get("Pss:", 0), rss + fields.get("Rss:", 0)
    return pss * 1024 / 1e6, rss * 1024 / 1e6


class TreeMemoryPeaks:
    """Polls the memory of a process and its descendants in a thread: the peak MB per phase,
    PSS in `peaks` and summed RSS in `rss_peaks` (set `phase` as the process moves on)."""

    def __init__(self, pid: int, phase: str, every_seconds: float = 0.2) -> None:
        self.pid, self.phase = pid, phase
        self.peaks, self.rss_peaks = {phase: 0.0}, {phase: 0.0}
        self._every, self._done = every_seconds, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._done.wait(self._every):
            phase = self.phase
            pss, rss = tree_memory_mb(self.pid)
            self.peaks[phase] = max(self.peaks.get(phase, 0.0), pss)
            self.rss_peaks[phase] = max(self.rss_peaks.get(phase, 0.0), rss)

    def __enter__(self) -> "TreeMemoryPeaks":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()
