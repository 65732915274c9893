"""Opening the warehouse file: schema version, lock conflicts and corrupt files.

Shared by the writer (`orchestration.warehouse`) and every reader (summary, dashboard, alerts);
duckdb and the standard library only, because readers must answer fast (no pandas import).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from connectors.polar.errors import PolarError


class WarehouseNotReadyError(PolarError):
    """The warehouse file or its marts do not exist yet."""


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
        raise WarehouseNotReadyError(open_failure(path, error, writer=False)) from None
    try:
        check_readable_version(con, path)
        yield con
    finally:
        con.close()


# The raw schema version this release writes and reads. Writers migrate older warehouses
# (`orchestration.warehouse.MIGRATIONS`); readers only check it.
SCHEMA_VERSION = 1

_LOCK_MARKERS = ("could not set lock", "conflicting lock")
_CORRUPT_MARKERS = ("not a valid duckdb database", "corrupt", "checksum", "serializ")
_PID = re.compile(r"\(PID (\d+)\)")


def open_failure(path: Path, error: Exception, *, writer: bool) -> str:
    """What went wrong opening the warehouse and what to do: locked, corrupt, or other."""
    text = str(error)
    if any(marker in text.lower() for marker in _LOCK_MARKERS):
        found = _PID.search(text)
        holder = f" (PID {found.group(1)})" if found else ""
        if writer:
            return (
                f"Cannot open the warehouse {path}: Another process is writing it{holder}. "
                "Wait for it to finish or stop it; run writers through Dagster "
                "(pool `duckdb_warehouse`) so they queue instead of colliding."
            )
        return (
            f"Cannot open the warehouse {path}: another process holds it for writing{holder}, "
            "e.g. a refresh. Wait for it to finish (or stop it) and try again."
        )
    if any(marker in text.lower() for marker in _CORRUPT_MARKERS):
        return corrupt_message(path)
    return f"Cannot open the warehouse {path}: {text}"


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
