"""Reclaiming the raw tables' deleted rows, in bounded memory, before a dbt build.

A refresh's writers do not let DuckDB vacuum (bounded_writer.WRITERS_DO_NOT_VACUUM): its merges
of thin row groups were the refresh's memory peak. A checkpoint still drops a row group whose
rows are all deleted, but rows deleted from a row group still in use stay in the file: an order
refunded, a subscription renewed (its new version is appended), the days of a metrics window
fetched again. When they are COMPACT_DEAD_SHARE of a table's stored rows, the table is copied
without them (`create table ... as select`, which DuckDB streams to the file in bounded memory
and spills beyond it) and the copy takes its place in the same transaction. Only tables without
constraints are copied this way (a copy would lose them); they are the ones written at volume.

Thin row groups are copied away too (COMPACT_THIN_ROW_GROUPS). The writers append in small row
groups, and every checkpoint starts a new one, so `raw.polar_metrics` of a 619-connection
refresh was 4,777 row groups for 9.3 million rows (76 in a copy). DuckDB keeps each scanned
row group's metadata in memory, outside its memory limit: dbt's build over that warehouse (in
300 MB) peaked at 524 MB of its own memory, and over the same rows in full row groups at
464 MB. At 1,000 connections dbt's process reached 640 MB in 300 MB.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.warehouse.bounded_writer import memory_limit, release_idle_writers
from orchestration.warehouse.files import open_warehouse, transaction

COMPACT_DEAD_SHARE = 0.25
COMPACT_MIN_DEAD_ROWS = 2_048  # one row group: below it nothing is worth copying
# It runs alone, between the raw refreshes and dbt's build, and gives its memory back. 256 MB
# failed a copy's commit at 1,000 connections ("failed to pin block").
COMPACTION_MEMORY = "512MB"
FULL_ROW_GROUP_ROWS = 122_880  # DuckDB's row-group size, which a copy gets
# Row groups beyond a copy's that make a table worth copying: a daily refresh of one connection
# adds a few, a refresh of hundreds adds hundreds.
COMPACT_THIN_ROW_GROUPS = 64


@dataclass(frozen=True)
class StoredRows:
    """One raw table's rows: stored in the file (deleted ones included) and live."""

    table: str  # in schema raw
    stored: int
    live: int
    row_groups: int

    @property
    def dead(self) -> int:
        """Deleted rows still stored."""
        return self.stored - self.live

    def worth_compacting(self) -> bool:
        """Enough deleted rows, by share and by count, to copy the table without them; or
        enough thin row groups to copy it into full ones."""
        if self.dead >= COMPACT_MIN_DEAD_ROWS and self.dead >= COMPACT_DEAD_SHARE * self.stored:
            return True
        full = math.ceil(self.live / FULL_ROW_GROUP_ROWS)
        return self.row_groups - full >= COMPACT_THIN_ROW_GROUPS


@dataclass(frozen=True)
class Compaction:
    """What a compaction copied, and where it stopped if DuckDB failed on a copy."""

    copied: list[StoredRows]
    left: list[StoredRows]  # worth compacting, not copied (after a failure)
    failure: str = ""  # DuckDB's message


def compact_raw_tables(path: Path) -> Compaction:
    """Copy every unconstrained raw table worth compacting without its deleted rows and into
    full row groups; what was copied and left (nothing when the warehouse does not exist yet).

    A DuckDB failure (out of COMPACTION_MEMORY: a copy's `Failed to commit: failed to pin
    block`, met once at 1,000 connections) rolls back the copy under way and ends the
    compaction: it saves memory and disk for dbt's build, which reads the tables as they are
    either way.
    """
    if not path.exists():
        return Compaction([], [])
    wanted: list[StoredRows] = []
    copied: list[StoredRows] = []
    failure = ""
    try:
        # Not a refresh's writer: those append in small row groups (bounded_writer), and a
        # copy is to get full ones.
        with open_warehouse(path) as con, memory_limit(con, COMPACTION_MEMORY):
            con.execute("set threads = 1")
            con.execute("set preserve_insertion_order = false")
            con.execute("set max_vacuum_tasks = 0")  # its close checkpoints the rest as they are
            wanted = [rows for rows in stored_rows(con) if rows.worth_compacting()]
            for rows in wanted:
                copy_live_rows(con, rows.table)
                copied.append(rows)
                # The old table's blocks are free from here on, for the next copy to reuse:
                # the file grows by the largest table copied, not by all of them.
                con.execute("checkpoint")
    except duckdb.Error as error:  # also from the limit's reset and the close after a failure
        failure = str(error).split("\n")[0]
    release_idle_writers()  # dbt's build comes next, beside this process: give back the memory
    return Compaction(copied, wanted[len(copied) :], failure)


def stored_rows(con: duckdb.DuckDBPyConnection) -> list[StoredRows]:
    """Stored and live rows, and row groups, of every raw table without constraints.

    DuckDB's `estimated_size` counts every row stored, deleted ones included; `count(*)` the
    live ones: both from the table's metadata. The row groups are counted from the storage
    info of the table's first column (2 s for the 4,777 of a 619-connection warehouse's
    metrics; what it loads is let go with the writers' DuckDB after the compaction).
    """
    rows = con.execute(
        "select table_name, estimated_size from duckdb_tables() t "
        "where database_name = current_database() and schema_name = 'raw' "
        "and not exists (select 1 from duckdb_constraints() c "
        "where c.database_name = t.database_name and c.schema_name = 'raw' "
        "and c.table_name = t.table_name) order by table_name"
    ).fetchall()
    found = []
    for name, stored in rows:
        (live,) = con.execute(f"select count(*) from raw.{_identifier(name)}").fetchone() or (0,)
        literal = "'raw." + _identifier(name).replace("'", "''") + "'"
        (groups,) = con.execute(
            f"select count(distinct row_group_id) from pragma_storage_info({literal}) "
            "where column_id = 0"
        ).fetchone() or (0,)
        found.append(StoredRows(name, int(stored), int(live), int(groups)))
    return found


def copy_live_rows(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """raw.`table` replaced by a copy of its live rows, in one transaction."""
    name, copy = _identifier(table), _identifier(f"{table}__compacted")
    with transaction(con):
        con.execute(f"create table raw.{copy} as select * from raw.{name}")
        con.execute(f"drop table raw.{name}")
        con.execute(f"alter table raw.{copy} rename to {name}")


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
