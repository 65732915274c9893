"""The warehouse writer lock (writer_lock.py): writers in other processes queue and say whom
they wait for, within a bounded wait; one process's threads share it; a killed holder frees it;
a reader locked out by our own writer is told so (a foreign holder: tests/orchestration/cli/
test_state_files.py)."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import writer_lock as lock_module
from orchestration.warehouse.files import WarehouseError, open_read_only, open_warehouse
from orchestration.warehouse.serving import serving_path_for
from orchestration.warehouse.writer_lock import WriterLockTimeout, current_holder

REPO = Path(__file__).resolve().parents[3]
HOLD = """
import sys
from pathlib import Path
from orchestration.warehouse.files import open_warehouse
with open_warehouse(Path(sys.argv[1])) as con:
    con.execute("create table if not exists held(n int)")
    print("holding", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another polar-metrics writer process holding the warehouse until told to let go."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "w.duckdb"), "refresh", "--connection"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "holding"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def _release_after(process: subprocess.Popen[str], seconds: float) -> threading.Thread:
    def release() -> None:
        time.sleep(seconds)
        assert process.stdin is not None
        process.stdin.write("\n")
        process.stdin.flush()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_a_second_writer_waits_for_the_first_and_says_whom_it_waits_for(
    tmp_path: Path,
    holder: subprocess.Popen[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(lock_module, "PROGRESS_EVERY_SECONDS", 0.5)
    caplog.set_level(logging.WARNING, logger=lock_module.WAIT_LOGGER)
    assert current_holder(tmp_path / "w.duckdb").pid == holder.pid
    releaser = _release_after(holder, 2.0)
    started = time.monotonic()
    with open_warehouse(tmp_path / "w.duckdb") as con:  # would fail at once without the lock
        waited = time.monotonic() - started
        assert con.execute("select count(*) from held").fetchone() == (0,)
    releaser.join()
    assert waited >= 1.5
    assert f"in PID {holder.pid}" in caplog.text and "waiting for `-c " in caplog.text


def test_the_wait_is_bounded_and_the_timeout_names_the_holder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(WriterLockTimeout, match=rf"in PID {holder.pid} after 1 s"):
        with lock_module.writer_lock(tmp_path / "w.duckdb", wait_seconds=1.0):
            pass


def test_a_killed_holder_frees_the_lock_at_once(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert current_holder(tmp_path / "w.duckdb") is None
    with lock_module.writer_lock(tmp_path / "w.duckdb", wait_seconds=1.0):
        pass


def test_a_reader_locked_out_by_our_writer_is_told_who_writes_and_where_to_read(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(Exception) as raised:
        with open_read_only(tmp_path / "w.duckdb"):
            pass
    message = str(raised.value)
    assert "being written by `-c " in message and f"PID {holder.pid}" in message
    assert "w.serving.duckdb" in message


def test_a_reader_answers_from_the_serving_copy_while_our_writer_holds_the_file(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    """`summary` failed 7 of 42 times during a refresh; now it reads the last published marts."""
    serving = serving_path_for(tmp_path / "w.duckdb")
    con = duckdb.connect(str(serving))
    con.execute("create schema marts; create table marts.polar_period_summary as select 42 as v")
    con.close()
    with open_read_only(tmp_path / "w.duckdb") as reader:
        assert reader.execute("select v from marts.polar_period_summary").fetchone() == (42,)


def test_threads_of_one_process_share_the_lock(tmp_path: Path) -> None:
    """The organizations of one asset write from parallel threads: no thread waits on its own
    process, and the lock is released when the last one leaves."""
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as con:  # the schema first (concurrent creation conflicts)
        con.execute("create table t(n int)")
    inside = threading.Barrier(3, timeout=20)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with open_warehouse(path) as con:
                con.execute("insert into t values (?)", [n])
                inside.wait()  # all three hold it at once
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert current_holder(path) is None
    with pytest.raises(WarehouseError, match="No warehouse"):
        with open_warehouse(tmp_path / "missing.duckdb", read_only=True):
            pass
