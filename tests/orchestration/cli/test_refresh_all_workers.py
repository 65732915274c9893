"""`refresh --all --workers N`: the worker count is checked before anything runs, and the
workers end with the command (the pool's results are checked by test_many_connections.py and
the benchmark's short form, both slow)."""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from connectors.polar.config import PolarSettings
from connectors.polar_emulator.config import account_email
from orchestration.cli.headless import connect_headless
from tests.orchestration.cli.conftest import CLI
from tests.orchestration.conftest import emulated_polar


def _refresh(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLAR_METRICS_HOME": str(tmp_path)}
    return subprocess.run(
        [str(CLI), "refresh", *args], env=env, capture_output=True, text=True, check=False
    )


def test_workers_without_all_is_refused_before_any_refresh(tmp_path: Path) -> None:
    result = _refresh(tmp_path, "--workers", "2")
    assert result.returncode == 2
    assert "--workers applies to `refresh --all` only." in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_workers_must_be_a_whole_number_of_at_least_one(tmp_path: Path) -> None:
    for bad in ("0", "-1", "two"):
        result = _refresh(tmp_path, "--all", "--workers", bad)
        assert result.returncode == 2, bad
        assert "is not a whole number of at least 1" in result.stderr, bad


def _children(parent: int) -> list[int]:
    """The pids of `parent`'s live child processes (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if entry.name.isdigit() and stat[1] == str(parent) and stat[0] != "Z":
            children.append(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_refresh_all_is_killed_during_their_runs(tmp_path: Path) -> None:
    """A `refresh --all` killed outright (SIGKILL runs no cleanup) takes its workers with it:
    they used to go on refreshing (and drawing on the OAuth app's budget) on their own, then
    wait for work forever. Killed while both workers are inside a run: each stops at its run's
    next step and ends."""
    with emulated_polar(tmp_path, scenario="demo", accounts=2, latency_ms=100) as polar:
        port = urlsplit(polar.emulator.redirect_uris[0]).port
        connect_headless(PolarSettings.from_env(), "second", port, login_hint=account_email(2))
        command = subprocess.Popen(
            [str(CLI), "refresh", "--all", "--workers", "2"],
            env={**os.environ, **polar.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            warehouse = polar.state_dir / "warehouse.duckdb"
            while not warehouse.exists() and time.monotonic() < deadline:
                time.sleep(0.1)  # the first write of a run: the workers are inside their runs
            workers = _children(command.pid)
            assert warehouse.exists() and len(workers) >= 3, "the workers never started a run"
            time.sleep(1.0)
            command.kill()
            command.wait(timeout=10)
            deadline = time.monotonic() + 60
            while any(map(_alive, workers)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not any(map(_alive, workers)), "workers outlived the killed refresh --all"
        finally:
            if command.poll() is None:
                command.kill()
                command.wait()


# Threads that each allocate and free (as the fetch threads parse pages), then glibc's own
# report (malloc_info) of the arenas ("heaps") it made. Run as a fresh process each time.
ARENAS_PROBE = """
import ctypes, sys, tempfile, threading
from orchestration.cli.worker_pool import _cap_malloc_arenas
if sys.argv[1] == "capped":
    _cap_malloc_arenas()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(16)
def work():
    barrier.wait()
    for _ in range(200):
        libc.free(libc.malloc(600_000))
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join()
libc.fdopen.restype = ctypes.c_void_p
with tempfile.TemporaryFile("w+") as report:
    stream = libc.fdopen(report.fileno(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fflush(ctypes.c_void_p(stream))
    report.seek(0)
    print(report.read().count("<heap nr="))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas")
def test_a_worker_caps_glibcs_malloc_arenas_at_two() -> None:
    """A worker's threads share two malloc arenas (`_cap_malloc_arenas`, run when a worker
    starts) instead of one each, whose freed memory glibc keeps."""

    def arenas(mode: str) -> int:
        probe = subprocess.run(
            [sys.executable, "-c", ARENAS_PROBE, mode], capture_output=True, text=True, check=True
        )
        return int(probe.stdout)

    assert arenas("capped") <= 2
    assert arenas("default") > 2  # the probe makes more when nothing caps them
