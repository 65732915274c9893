"""Opening the warehouse file: for readers, for the writer (schema created or migrated, memory
bounded), transactions, and what a lock conflict or a corrupt file means.

Shared by the writer and every reader (summary, dashboard, alerts); duckdb and the standard
library only, because readers must answer fast (no pandas import).
"""

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

from connectors.polar.errors import PolarError
from connectors.polar.private_files import PRIVATE_DIRECTORY, private_files
from orchestration.warehouse.bounded_writer import (
    bounded_writer,
    checkpoint_large_wal,
    memory_unbounded,
)
from orchestration.warehouse.schema import MIGRATIONS, SCHEMA_VERSION
from orchestration.warehouse.serving import serving_path_for
from orchestration.warehouse.writer_lock import current_holder, writer_lock


class WarehouseNotReadyError(PolarError):
    """The warehouse file or its marts do not exist yet."""


class WarehouseError(PolarError):
    """The warehouse file is missing, locked by another writer, or unreadable."""


@contextmanager
def open_read_only(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse, or a clear error when there is none yet."""
    if not path.exists():
        raise WarehouseNotReadyError(
            f"No warehouse at {path} yet: run `polar-metrics refresh` first "
            "(or `polar-metrics demo` to try it on the emulator)."
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        con = _serving_copy_while_written(path, error)
    else:
        private_files(path)  # owner-only, also when an older version left it readable
    try:
        check_readable_version(con, path)
        yield con
    finally:
        con.close()


def _serving_copy_while_written(path: Path, error: duckdb.Error) -> duckdb.DuckDBPyConnection:
    """While a polar-metrics writer holds the warehouse, readers answer from the serving copy
    (the marts of the last complete refresh) instead of failing; anything else is an error."""
    serving = serving_path_for(path)
    locked = any(marker in str(error).lower() for marker in _LOCK_MARKERS)
    if locked and current_holder(path) is not None and serving.exists():
        try:
            return duckdb.connect(str(serving), read_only=True)
        except duckdb.Error:
            pass  # being replaced this instant: report the lock as it is
    raise WarehouseNotReadyError(open_failure(path, error, writer=False)) from None


_LOCK_MARKERS = ("could not set lock", "conflicting lock")
_CORRUPT_MARKERS = ("not a valid duckdb database", "corrupt", "checksum", "serializ")
_PID = re.compile(r"\(PID (\d+)\)")


def open_failure(path: Path, error: Exception, *, writer: bool) -> str:
    """What went wrong opening the warehouse and what to do: locked, corrupt, or other."""
    text = str(error)
    if any(marker in text.lower() for marker in _LOCK_MARKERS):
        found = _PID.search(text)
        return _locked_message(path, int(found.group(1)) if found else None, writer=writer)
    if any(marker in text.lower() for marker in _CORRUPT_MARKERS):
        return corrupt_message(path)
    return f"Cannot open the warehouse {path}: {text}"


def _locked_message(path: Path, pid: int | None, *, writer: bool) -> str:
    """Who holds the file: our own writer (named by the writer lock) or a foreign program."""
    ours = current_holder(path)
    if ours is not None and not writer and (pid is None or pid == ours.pid):
        return (
            f"Cannot open the warehouse {path}: it is being written by {ours.describe()}. "
            f"Try again when it finishes; the serving copy {serving_path_for(path)} answers "
            "meanwhile."
        )
    program = f"PID {pid} ({_process_name(pid)})" if pid else "another program"
    return (
        f"Cannot open the warehouse {path}: {program} has it open and is not a polar-metrics "
        "writer, e.g. a BI tool or the duckdb shell. Close it there, and point BI tools at the "
        f"serving copy {serving_path_for(path)}, made for readers."
    )


def _process_name(pid: int) -> str:
    """The program's short name (never its arguments, which may carry secrets)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or "unknown program"
    except OSError:
        return "unknown program"


def corrupt_message(path: Path) -> str:
    """The advice for a warehouse file DuckDB cannot read."""
    return (
        f"The warehouse {path} is not a readable DuckDB database (not a valid DuckDB database "
        "file): move it aside and rebuild it with `polar-metrics refresh` (history older than "
        "the window needs `polar-metrics backfill`)."
    )


def stored_schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's raw schema version; 0 before versioning; None when it has no raw data."""
    tables = {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'raw' and table_name in ('schema_version', 'polar_metrics')"
        ).fetchall()
    }
    if "schema_version" in tables:
        row = con.execute("select max(version) from raw.schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0
    return 0 if "polar_metrics" in tables else None


def newer_version_message(path: Path, version: int) -> str:
    """The refusal for a warehouse written by a later release."""
    return (
        f"The warehouse {path}: this warehouse was written by a newer polar-metrics "
        f"(schema {version}; this one knows schema {SCHEMA_VERSION}); upgrade polar-metrics."
    )


def check_readable_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a warehouse of another schema version (a reader never migrates)."""
    try:
        version = stored_schema_version(con)
    except duckdb.Error:
        raise WarehouseNotReadyError(corrupt_message(path)) from None
    if version is None or version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise WarehouseNotReadyError(newer_version_message(path, version))
    raise WarehouseNotReadyError(
        f"The warehouse {path} has schema version {version}, older than this polar-metrics "
        f"reads ({SCHEMA_VERSION}): run `polar-metrics refresh` to migrate it, then try again."
    )


@contextmanager
def open_warehouse(
    path: Path,
    *,
    read_only: bool = False,
    bounded_memory: bool = False,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse; writers get the raw schema created or migrated first.

    `bounded_memory` (a refresh's writers) caps DuckDB's buffer pool (`BOUNDED_WRITER_CONFIG`)
    and closes without a checkpoint (HANDOVER_WITHOUT_CHECKPOINT).
    """
    if read_only and not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `polar-metrics refresh` first.")
    path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    with ExitStack() as stack:
        if not read_only:  # queue behind other processes' writers instead of failing
            stack.enter_context(writer_lock(path))
        try:
            if bounded_memory and not read_only:
                con = stack.enter_context(bounded_writer(path))
            else:
                con = duckdb.connect(str(path), read_only=read_only)
                stack.callback(con.close)
        except duckdb.Error as error:
            raise WarehouseError(open_failure(path, error, writer=not read_only)) from None
        # Business data: owner-only, also when an older version left it readable.
        private_files(path, path.with_name(path.name + ".wal"))
        if read_only:
            _check_reader_version(con, path)
        else:
            ensure_schema(con, path)
        yield con
        if bounded_memory and not read_only:
            checkpoint_large_wal(con, path)


def _check_reader_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The readers' version check, raised as the writer's error."""
    try:
        check_readable_version(con, path)
    except WarehouseNotReadyError as error:
        raise WarehouseError(str(error)) from None


def ensure_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Bring the raw schema to SCHEMA_VERSION (one transaction); refuse a newer warehouse."""
    try:
        version = stored_schema_version(con) or 0
    except duckdb.Error:
        raise WarehouseError(corrupt_message(path)) from None
    if version > SCHEMA_VERSION:
        raise WarehouseError(newer_version_message(path, version))
    if version == SCHEMA_VERSION:
        return
    # Unbounded: copying keyed entity tables (schema 4) failed its checkpoint in a refresh's
    # 192 MB at 500 connections (3.1 GB, 413,000 orders); unbounded it took 89 s and 3.9 GB RSS.
    with memory_unbounded(con), transaction(con):
        for step in MIGRATIONS[version:]:
            step(con)
        con.execute("create table if not exists raw.schema_version(version integer)")
        con.execute("delete from raw.schema_version")
        con.execute("insert into raw.schema_version values (?)", [SCHEMA_VERSION])


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the block as one transaction: commit on success, roll back on any exception."""
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
