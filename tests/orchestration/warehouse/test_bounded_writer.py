"""A refresh's writers append in row groups of WRITER_ROW_GROUP_ROWS (DuckDB's default is
122,880): each checkpoint compresses the row group being filled again, which was the refresh's
memory peak (bounded_writer.py says how much). Neither they nor dbt's build, the writer after
every refresh, let DuckDB's vacuum merge row groups (its merges were the next peak); the
refresh's writers share one DuckDB per process."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from orchestration.defs.dbt.project import DBT_PROJECT_DIR
from orchestration.warehouse import bounded_writer
from orchestration.warehouse.bounded_writer import WRITER_ROW_GROUP_ROWS
from orchestration.warehouse.files import open_warehouse
from orchestration.warehouse.serving import attach_source


def row_groups(path: Path, table: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        (count,) = con.execute(
            f"select count(distinct row_group_id) from pragma_storage_info('{table}')"
        ).fetchone() or (0,)
    return int(count)


def dbt_settings() -> dict[str, Any]:
    """The DuckDB settings of dbt's profile that are plain values (not rendered by dbt)."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    settings = profile["polar_metrics"]["outputs"]["warehouse"]["settings"]
    return {name: value for name, value in settings.items() if "{{" not in str(value)}


def written_by_a_refresh(path: Path, rows: int) -> None:
    with open_warehouse(path) as con:
        con.execute(f"create table raw.plain as select range as i from range({rows})")
    with open_warehouse(path, bounded_memory=True) as con:
        # The file keeps its usual name inside DuckDB, as `duckdb.connect` names it.
        assert con.execute("select current_database()").fetchone() == ("warehouse",)
        con.execute(f"create table raw.bounded as select range as i from range({rows})")
        con.execute("checkpoint")


def test_a_refresh_writer_appends_in_small_row_groups_and_dbt_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    written_by_a_refresh(path, 3 * WRITER_ROW_GROUP_ROWS)
    assert row_groups(path, "raw.plain") == 1
    assert row_groups(path, "raw.bounded") == 3
    # A writer with dbt's settings checkpoints (as dbt does at its close) without merging them.
    with duckdb.connect(str(path), config=dbt_settings()) as con:
        con.execute("create table raw.later as select 1 as i")
    assert row_groups(path, "raw.bounded") == 3


def test_without_dbts_settings_a_checkpoint_merges_every_small_row_group(tmp_path: Path) -> None:
    """Why dbt's profile turns the vacuum off: DuckDB's default merges them all at the next
    checkpoint, rewriting the raw tables in dbt's memory and time."""
    path = tmp_path / "warehouse.duckdb"
    written_by_a_refresh(path, 3 * WRITER_ROW_GROUP_ROWS)
    with duckdb.connect(str(path)) as con:
        con.execute("create table raw.later as select 1 as i")
    assert row_groups(path, "raw.bounded") == 1


def test_a_refresh_writer_drops_emptied_row_groups_and_leaves_thinned_ones(
    tmp_path: Path,
) -> None:
    """The refresh's writers do not vacuum (bounded_writer.WRITERS_DO_NOT_VACUUM): a row group
    whose rows are all deleted goes at their checkpoint, one still in use keeps its place (its
    deleted rows wait for compaction), and nothing is merged."""
    path = tmp_path / "warehouse.duckdb"
    written_by_a_refresh(path, 10 * WRITER_ROW_GROUP_ROWS)
    with open_warehouse(path, bounded_memory=True) as con:
        con.execute(f"delete from raw.bounded where i < {2 * WRITER_ROW_GROUP_ROWS}")  # 2 groups
        con.execute("delete from raw.bounded where i % 10 <> 0")  # 9 rows of every 10 left
        con.execute("checkpoint")
    assert row_groups(path, "raw.bounded") == 8


def test_writers_attach_the_file_to_one_duckdb_per_process_and_let_it_go_at_close(
    tmp_path: Path,
) -> None:
    """A refresh's writers do not start a DuckDB per open (bounded_writer.ONE_DUCKDB_PER_PROCESS):
    the file is attached to the process's DuckDB and detached at close, without a checkpoint
    (the WAL stays for the next writer) and released for another process's writer."""
    path = tmp_path / "warehouse.duckdb"
    wal = path.with_name(path.name + ".wal")
    with open_warehouse(path, bounded_memory=True) as con:
        con.execute("create table raw.kept as select range as i from range(1000)")
        first = bounded_writer._writers
    assert first is not None and wal.stat().st_size > 0  # closed without folding the WAL in
    with open_warehouse(path, bounded_memory=True) as con:
        assert con.execute("select count(*) from raw.kept").fetchone() == (1000,)
        assert bounded_writer._writers is first
    other = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).close()"],
        capture_output=True,
        text=True,
    )
    assert other.returncode == 0, other.stderr  # another process may write it now


def test_an_idle_writer_duckdb_is_released_and_one_in_use_is_kept(tmp_path: Path) -> None:
    """`release_idle_writers` (after a compaction, between a worker's connections) closes the
    process's writer DuckDB only when no file is attached; the next writer gets a new one."""
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path, bounded_memory=True) as con:
        con.execute("create table raw.kept as select range as i from range(1000)")
        bounded_writer.release_idle_writers()
        assert bounded_writer._writers is not None  # in use: kept, and still answering
        assert con.execute("select count(*) from raw.kept").fetchone() == (1000,)
    bounded_writer.release_idle_writers()
    assert bounded_writer._writers is None
    with open_warehouse(path, bounded_memory=True) as con:
        assert con.execute("select count(*) from raw.kept").fetchone() == (1000,)
        assert bounded_writer._writers is not None


def test_two_files_of_the_same_name_can_be_written_at_once_in_one_process(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "warehouse.duckdb", tmp_path / "b" / "warehouse.duckdb"
    with (
        open_warehouse(first, bounded_memory=True) as one,
        open_warehouse(second, bounded_memory=True) as two,
    ):
        one.execute("create table raw.which as select 'a' as file")
        two.execute("create table raw.which as select 'b' as file")
    for path, expected in ((first, "a"), (second, "b")):
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute("select file from raw.which").fetchall() == [(expected,)]


def test_after_a_fatal_duckdb_error_the_next_writer_gets_a_new_duckdb(tmp_path: Path) -> None:
    """DuckDB invalidates its whole instance on a fatal error (a failed checkpoint): the
    process's writers must not keep using it."""
    path = tmp_path / "warehouse.duckdb"
    with pytest.raises(duckdb.FatalException):
        with open_warehouse(path, bounded_memory=True):
            broken = bounded_writer._writers
            raise duckdb.FatalException("stand-in for an invalidated database")
    with open_warehouse(path, bounded_memory=True) as con:
        assert bounded_writer._writers is not broken
        assert con.execute("select count(*) from raw.schema_version").fetchone() == (1,)


def test_the_pipelines_in_memory_duckdbs_spill_beside_the_warehouse(tmp_path: Path) -> None:
    """Not into `.tmp` of whatever directory the command was started in (DuckDB's default for
    an in-memory database): the refresh's writers and the serving copy's reader."""
    path = tmp_path / "warehouse.duckdb"
    setting = "select current_setting('temp_directory')"
    with open_warehouse(path, bounded_memory=True) as con:
        assert con.execute(setting).fetchone() == (f"{path}.tmp",)
    source = attach_source(path)
    try:
        assert source.execute(setting).fetchone() == (f"{path}.tmp",)
    finally:
        source.close()
