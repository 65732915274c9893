"""`polar-metrics refresh` as a user sees it: quiet stage lines, dbt's error when dbt fails,
dbt's run folders in the state directory, and no dbt process outliving a killed refresh.

One emulator (the small `demo` business, a 7-day window) serves the module; each test runs the
real command in a subprocess.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.defs.dbt.project import DBT_PROJECT_DIR
from orchestration.defs.dbt.runs import prune_run_folders
from tests.orchestration.conftest import EmulatedPolar, emulated_polar

CLI = str(Path(sys.executable).with_name("polar-metrics"))


@pytest.fixture(scope="module")
def demo_polar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """The emulator's `demo` business, connected as `default`, with a 7-day metrics window."""
    with emulated_polar(tmp_path_factory.mktemp("terminal"), scenario="demo") as polar:
        polar.env["POLAR_METRICS_WINDOW_DAYS"] = "7"
        yield polar


def refresh(polar: EmulatedPolar, *options: str) -> subprocess.CompletedProcess[str]:
    """One `polar-metrics refresh` in its own process."""
    env = {**os.environ, **polar.env}
    return subprocess.run(
        [CLI, "refresh", *options], env=env, capture_output=True, text=True, timeout=300
    )


def source_tree_run_folders() -> set[str]:
    """dagster-dbt's per-run folders in the source tree's dbt target directory."""
    target = DBT_PROJECT_DIR / "target"
    return {p.name for p in target.glob("polar_dbt_models-*")} if target.is_dir() else set()


def test_a_refresh_prints_one_line_per_stage_and_keeps_dbt_out_of_the_source_tree(
    demo_polar: EmulatedPolar,
) -> None:
    before = source_tree_run_folders()
    result = refresh(demo_polar)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    stages = ["Refreshing", "  organizations:", "  metrics:", "  entities:", "  dbt:"]
    stages += ["  outputs:", "Connection 'default' refreshed"]
    assert len(lines) == len(stages), result.stdout
    for line, stage in zip(lines, stages, strict=True):
        assert line.startswith(stage), result.stdout
    assert "nodes built and tested" in lines[4] and "ERROR=0" in lines[4]
    assert result.stderr == ""
    # dbt's own lines went to the log file in the state directory, its run folder too.
    dbt_state = demo_polar.state_dir / "dbt"
    assert "Done. PASS=" in (dbt_state / "last-build.log").read_text()
    (run_folder,) = (dbt_state / "runs").iterdir()
    assert (dbt_state / "partial_parse.msgpack").exists()
    # A new state directory's first build reused the project's own parse (dbt/child.py): dbt
    # said so in its debug log, and did not parse the whole project again.
    debug_log = (run_folder / "dbt.log").read_text()
    assert "Partial parsing enabled" in debug_log, debug_log[:3000]
    assert "Unable to do partial parsing" not in debug_log
    assert source_tree_run_folders() == before


def test_old_run_folders_are_pruned_to_the_newest_few(tmp_path: Path) -> None:
    for stamp in range(8):
        (tmp_path / f"20260101T00000{stamp}-abcdef12").mkdir()
    deleted = prune_run_folders(tmp_path, keep=5)
    assert [p.name[:15] for p in deleted] == [f"20260101T00000{s}" for s in range(3)]
    assert sorted(p.name[14] for p in tmp_path.iterdir()) == ["3", "4", "5", "6", "7"]


def test_a_failing_dbt_build_shows_dbts_error_and_its_log_tail(
    demo_polar: EmulatedPolar,
) -> None:
    warehouse = demo_polar.state_dir / "warehouse.duckdb"
    if not warehouse.exists():
        assert refresh(demo_polar).returncode == 0
    # A connection status no dbt test accepts: the refresh writes only `default`, so it stays.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into raw.polar_connections values ('ghost', 'emulator', 'x', now())")
    try:
        # The hourly form (no entity sync) reaches dbt as the daily one does, in less CPU.
        result = refresh(demo_polar, "--recent")
    finally:
        with duckdb.connect(str(warehouse)) as con:
            con.execute("delete from raw.polar_connections where connection_name = 'ghost'")
    assert result.returncode == 1
    assert "FAILED polar_dbt_models" in result.stderr
    assert "accepted_values_stg_polar__connections_connection_status" in result.stderr
    assert "dbt's last" in result.stderr and "ERROR=1" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines()[-1].startswith("Connection 'default' FAILED")


def dbt_child(parent: int, timeout: float = 240) -> int:
    """The pid of `parent`'s `dbt build` child, once it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _ppid(entry) == parent and b"build" in _cmdline(entry):
                return int(entry.name)
        time.sleep(0.1)
    raise AssertionError("the refresh never started dbt build")


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kill_with", [signal.SIGKILL, signal.SIGINT])
def test_killing_a_refresh_during_dbt_leaves_no_dbt_process(
    demo_polar: EmulatedPolar, kill_with: signal.Signals
) -> None:
    env = {**os.environ, **demo_polar.env}
    command = subprocess.Popen(  # the hourly form: no entity sync before dbt
        [CLI, "refresh", "--recent"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        dbt = dbt_child(command.pid)
        time.sleep(1.0)  # into dbt's own work, past its start
        command.send_signal(kill_with)
        command.wait(timeout=60)
        deadline = time.monotonic() + 3
        while alive(dbt) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(dbt), f"dbt (pid {dbt}) outlived the refresh killed by {kill_with.name}"
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
