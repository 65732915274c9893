"""Refreshes of one connection at once: the first runs, the rest wait and report its outcome
(refresh_join.py) — five real `polar-metrics refresh` processes on one state directory; and a
holder killed mid-way leaves the waiter to run the refresh itself."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestration.cli.refresh_join import run_or_join
from tests.orchestration.cli.conftest import CLI
from tests.orchestration.conftest import emulated_polar

HOLD = """
import fcntl, json, os, sys, time
fd = os.open(sys.argv[1] + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.pwrite(fd, str(os.getpid()).encode(), 0)
print("running", flush=True)
sys.stdin.readline()
with open(sys.argv[1] + ".result.json", "w") as out:
    json.dump({"pid": os.getpid(), "exit_code": 3, "finished_at": time.time()}, out)
"""


def _holder(home: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home / "refresh-default-full")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "running"
    return process


def _join_in_thread(home: Path, ran: list[str], said: list[str]) -> tuple[threading.Thread, list]:
    result: list[int] = []

    def join() -> None:
        result.append(
            run_or_join(home, "default", "full", lambda: ran.append("ran") or 0, said.append)
        )

    thread = threading.Thread(target=join)
    thread.start()
    return thread, result


def test_a_waiter_reports_the_outcome_of_the_refresh_it_joined(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    ran: list[str] = []
    said: list[str] = []
    thread, result = _join_in_thread(tmp_path, ran, said)
    time.sleep(1.0)
    assert said == [
        f"A refresh of 'default' is already running (PID {holder.pid}); waiting for it "
        "instead of doing the work twice."
    ]
    holder.communicate("\n", timeout=10)
    thread.join(timeout=10)
    assert result == [3] and ran == []  # the holder's exit code, and no second refresh
    assert said[-1].startswith(f"Joined the refresh of 'default' in PID {holder.pid}: it finished")


def test_a_killed_holder_leaves_the_waiter_to_refresh_itself(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    ran: list[str] = []
    said: list[str] = []
    thread, result = _join_in_thread(tmp_path, ran, said)
    time.sleep(1.0)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    thread.join(timeout=10)
    assert result == [0] and ran == ["ran"]
    recorded = json.loads((tmp_path / "refresh-default-full.result.json").read_text())
    assert recorded["pid"] == os.getpid() and recorded["exit_code"] == 0


@pytest.mark.slow
def test_five_refreshes_started_together_end_well_and_do_the_work_once(tmp_path: Path) -> None:
    """The collision the issue measured (one success per round, the rest 'Another process is
    writing it', two with dbt tracebacks): now every process succeeds, by running or joining."""
    with emulated_polar(tmp_path / "state", scenario="demo") as polar:
        env = {**os.environ, **polar.env}
        env["POLAR_METRICS_WAREHOUSE"] = str(tmp_path / "state" / "warehouse.duckdb")
        processes = [
            subprocess.Popen(
                [str(CLI), "refresh"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for _ in range(5)
        ]
        outputs = [(p, *p.communicate(timeout=900)) for p in processes]
    ran = [p.pid for p, out, err in outputs if "asset(s) materialized" in out]
    for process, out, err in outputs:
        assert process.returncode == 0, out + err
        assert "Traceback" not in out + err and "Another process is writing" not in out + err
        if process.pid not in ran:
            assert any(f"in PID {pid}: it finished" in err for pid in ran), err
    assert 1 <= len(ran) < 5
