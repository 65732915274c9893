"""The warehouse session (session.py) keeps the file between writes while no other process waits
(one open for many transactions, the cost it saves), lets it go at its end, and lets a waiting
writer of another process in while it is idle (the contended case with a real sync:
tests/orchestration/extract/test_warehouse_release.py)."""

import os
import subprocess
import sys
from pathlib import Path

from orchestration.warehouse.session import WarehouseSession
from orchestration.warehouse.writer_lock import current_holder

REPO = Path(__file__).resolve().parents[3]
WRITER = """
import sys, time
from pathlib import Path
from orchestration.warehouse.files import open_warehouse
started = time.monotonic()
with open_warehouse(Path(sys.argv[1])) as con:
    con.execute("insert into t values (-1)")
print(f"{time.monotonic() - started:.3f}", flush=True)
"""


def test_the_file_stays_open_between_writes_while_nobody_waits(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with WarehouseSession(path) as session:
        for number in range(5):
            with session.transaction() as con:
                con.execute("create table if not exists t(n int)")
                con.execute("insert into t values (?)", [number])
            holder = current_holder(path)
            assert holder is not None and holder.pid == os.getpid()  # kept between writes
        assert session.opens == 1
    assert current_holder(path) is None  # let go at the end


def test_an_idle_session_lets_a_waiting_writer_in_and_opens_again_after(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with WarehouseSession(path) as session:
        with session.transaction() as con:
            con.execute("create table t(n int)")
        other = subprocess.run(
            [sys.executable, "-c", WRITER, str(path)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "POLAR_METRICS_WRITER_WAIT_SECONDS": "10"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 0, other.stderr  # it waited for the idle session, briefly
        assert float(other.stdout) < 2.0
        with session.transaction() as con:
            assert con.execute("select n from t").fetchall() == [(-1,)]
        assert session.opens == 2
    assert current_holder(path) is None
