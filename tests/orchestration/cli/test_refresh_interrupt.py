"""SIGTERM to a real `polar-metrics refresh` subprocess: stops, says so, exits 143, resumable."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orchestration.conftest import EmulatedPolar, emulated_polar, query

CLI = str(Path(sys.executable).with_name("polar-metrics"))


@pytest.fixture(scope="module")
def demo_polar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """The small `demo` business, connected once for the module."""
    with emulated_polar(tmp_path_factory.mktemp("interrupt-state"), scenario="demo") as running:
        yield running


def refresh_killed_after(
    line_marker: str, env: dict[str, str], delay: float, signum: int = signal.SIGTERM
) -> tuple[int, str]:
    """Start `polar-metrics refresh`, signal it `delay` s after it prints `line_marker` (its
    stage lines are on stdout)."""
    process = subprocess.Popen(
        [CLI, "refresh"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    errors: list[str] = []
    seen = threading.Event()

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line_marker in line:
                seen.set()

    def read_stderr() -> None:
        assert process.stderr is not None
        errors.extend(process.stderr)

    readers = [threading.Thread(target=read, daemon=True) for read in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()
    assert seen.wait(180), "".join(lines + errors)
    time.sleep(delay)
    process.send_signal(signum)
    code = process.wait(120)
    for reader in readers:
        reader.join(10)
    return code, "".join(lines) + "".join(errors)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stage", "marker", "delay", "latency_ms"),
    [
        ("extraction", "  organizations: ", 0.0, 400),
        ("dbt", "  entities: ", 4.0, 0),  # dbt has started and is building models
    ],
)
def test_sigterm_stops_the_refresh_says_interrupted_and_a_rerun_succeeds(
    demo_polar: EmulatedPolar,
    tmp_path: Path,
    stage: str,
    marker: str,
    delay: float,
    latency_ms: int,
) -> None:
    """SIGTERM mid-extraction or mid-dbt: exit 143, 'interrupted', no traceback; re-run works."""
    warehouse = tmp_path / "warehouse.duckdb"
    env = {**os.environ, "POLAR_METRICS_WAREHOUSE": str(warehouse)}
    demo_polar.faults(latency_ms=latency_ms)
    try:
        started = time.monotonic()
        code, output = refresh_killed_after(marker, env, delay)
    finally:
        demo_polar.control("DELETE", "faults")
    assert code == 143, output[-3000:]
    assert "interrupted (SIGTERM)" in output and "run `polar-metrics refresh` again" in output
    assert "Traceback" not in output and "DagsterExecutionInterruptedError" not in output
    assert "completed: " in output and "polar_organizations" in output
    assert time.monotonic() - started < 170
    # The warehouse opens and a later refresh succeeds over what was kept.
    assert query(warehouse, "select count(*) from raw.polar_organizations")[0][0] > 0
    rerun = subprocess.run(
        [CLI, "refresh"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert rerun.returncode in (0, 3), rerun.stderr[-3000:]
    assert "status success" in rerun.stdout, stage


@pytest.mark.slow
def test_ctrl_c_stops_the_refresh_with_exit_130_and_says_interrupted(
    demo_polar: EmulatedPolar, tmp_path: Path
) -> None:
    """SIGINT (Ctrl-C) mid-extraction: exit 130, 'interrupted (SIGINT)', no traceback."""
    env = {**os.environ, "POLAR_METRICS_WAREHOUSE": str(tmp_path / "warehouse.duckdb")}
    demo_polar.faults(latency_ms=400)
    try:
        code, output = refresh_killed_after("  organizations: ", env, 0.0, signal.SIGINT)
    finally:
        demo_polar.control("DELETE", "faults")
    assert code == 130, output[-3000:]
    assert "interrupted (SIGINT)" in output and "Traceback" not in output
    assert "KeyboardInterrupt" not in output and "DagsterExecutionInterruptedError" not in output
