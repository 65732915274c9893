"""The warehouse session (session.py) keeps the file between writes while no other process waits
(one open for many transactions, the cost it saves), lets it go at its end, and lets a waiting
writer of another process in while it is idle (the contended case with a real sync:
tests/orchestration/extract/test_warehouse_release.py)."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.warehouse.bounded_writer import CHECKPOINT_WAL_BYTES
from orchestration.warehouse.files import open_read_only, open_warehouse
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


def test_a_refresh_hands_the_file_over_without_a_checkpoint(tmp_path: Path) -> None:
    """A refresh's session closes without rewriting the file (HANDOVER_WITHOUT_CHECKPOINT): its
    commits stay in the WAL, where readers, the serving copy's attach and the next writer read
    them; a writer that is not a refresh's (dbt's, the CLI's) checkpoints at its close."""
    path = tmp_path / "w.duckdb"
    wal = path.with_name(path.name + ".wal")
    with WarehouseSession(path, bounded_memory=True) as session, session.transaction() as con:
        con.execute("create table raw.handed_over(n int)")
        con.execute("insert into raw.handed_over select range from range(1000)")
    assert wal.exists() and wal.stat().st_size > 0  # closed, not checkpointed
    with open_read_only(path) as reader:
        assert reader.execute("select count(*) from raw.handed_over").fetchone() == (1000,)
    with duckdb.connect() as attaching:
        attaching.execute(f"attach '{path}' as w (read_only)")
        assert attaching.execute("select sum(n) from w.raw.handed_over").fetchone() == (499500,)
    with open_warehouse(path) as writer:  # not bounded: closes as DuckDB does by default
        writer.execute("insert into raw.handed_over values (1000)")
    assert not wal.exists()  # checkpointed into the file
    with open_read_only(path) as reader:
        assert reader.execute("select count(*) from raw.handed_over").fetchone() == (1001,)


def test_a_refresh_writer_folds_a_wal_past_its_limit_into_the_file(tmp_path: Path) -> None:
    """The WAL of handed-over commits is checkpointed by the writer that finds it over
    CHECKPOINT_WAL_BYTES after a write, outside the transaction and the memory bound; a WAL
    under it is left for the next writer (bounded_writer.HANDOVER_WITHOUT_CHECKPOINT)."""
    path = tmp_path / "w.duckdb"
    wal = path.with_name(path.name + ".wal")
    with WarehouseSession(path, bounded_memory=True) as session:
        with session.transaction() as con:
            con.execute("create table raw.pages(body varchar)")
            con.execute("insert into raw.pages select md5(range::varchar) from range(1000)")
            bound = con.execute("select current_setting('memory_limit')").fetchone()
        assert 0 < wal.stat().st_size < CHECKPOINT_WAL_BYTES  # small: left in the WAL
        with session.transaction() as con:  # ~32 MB of new rows in the WAL
            con.execute(
                "insert into raw.pages select repeat(md5(range::varchar), 10) from range(100000)"
            )
        assert not wal.exists() or wal.stat().st_size < CHECKPOINT_WAL_BYTES // 16
        with session.connection() as con:
            assert con.execute("select current_setting('memory_limit')").fetchone() == bound
            assert con.execute("select count(*) from raw.pages").fetchone() == (101000,)
    with open_read_only(path) as reader:
        assert reader.execute("select count(*) from raw.pages").fetchone() == (101000,)
