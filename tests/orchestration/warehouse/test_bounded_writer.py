"""A refresh's writers append in row groups of WRITER_ROW_GROUP_ROWS (DuckDB's default is
122,880): a finished row group's `item` JSON is compressed whole at a checkpoint, which was the
refresh's memory peak (bounded_writer.py says how much)."""

from pathlib import Path

import duckdb

from orchestration.warehouse.bounded_writer import WRITER_ROW_GROUP_ROWS
from orchestration.warehouse.files import open_warehouse


def row_groups(path: Path, table: str) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        (count,) = con.execute(
            f"select count(distinct row_group_id) from pragma_storage_info('{table}')"
        ).fetchone() or (0,)
    return int(count)


def test_a_refresh_writer_appends_in_small_row_groups_until_a_plain_writer_merges_them(
    tmp_path: Path,
) -> None:
    rows = 3 * WRITER_ROW_GROUP_ROWS
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path) as con:
        con.execute(f"create table raw.plain as select range as i from range({rows})")
    with open_warehouse(path, bounded_memory=True) as con:
        # The file keeps its usual name inside DuckDB, as `duckdb.connect` names it.
        assert con.execute("select current_database()").fetchone() == ("warehouse",)
        con.execute(f"create table raw.bounded as select range as i from range({rows})")
        con.execute("checkpoint")
    assert row_groups(path, "raw.plain") == 1
    assert row_groups(path, "raw.bounded") == 3
    # A later plain writer's checkpoint merges them into DuckDB's default size again (dbt's,
    # after the raw phase: in its own 600 MB, not in a worker's).
    with open_warehouse(path) as con:
        con.execute("create table raw.later as select 1 as i")
    assert row_groups(path, "raw.bounded") == 1
