"""The tenant serving files, published again only for the tenants whose rows changed.

Publishing a tenant file scans every mart for its rows and writes a new file: done for every
connection after every batch, the cost grew with connections x warehouse size (79-367 s at 50
connections, README "Many connections"). One scan of every mart now gives each connection a
digest of its rows (count and sum of row hashes per table, order-free), of the shared tables
(no `connection_name`: copied whole into every tenant file) and of the tables' columns and the
table macros (a new version of the marts changes every digest). A tenant whose digest equals
the one recorded beside its file when it was published is left as it is. Standard library and
DuckDB only.
"""

import fcntl
import hashlib
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.warehouse.serving import (
    SERVED_SCHEMAS,
    SOURCE,
    ServedTable,
    attach_source,
    served_connections,
    served_tables,
    source_macros,
    sql_path,
    tenant_serving_path_for,
    write_serving_file,
)

SHARED = ""  # the key of what every tenant file holds (shared tables, columns, macros)


@dataclass(frozen=True)
class TenantCopies:
    """Every served connection's tenant file, and which of them this publication rewrote."""

    paths: dict[str, Path]
    copied: list[str]
    unchanged: list[str]


def publish_tenant_copies(warehouse_path: Path) -> TenantCopies:
    """A tenant serving file for every connection of the marts, copied when its rows changed."""
    fingerprints = tenant_fingerprints(warehouse_path, SERVED_SCHEMAS)
    paths, copied, unchanged = {}, [], []
    for name in served_connections(warehouse_path):
        path = paths[name] = tenant_serving_path_for(warehouse_path, name)
        fingerprint = fingerprints.get(name)
        if fingerprint is not None and recorded_fingerprint(path) == fingerprint:
            unchanged.append(name)
        else:
            copied.append(name)
    if copied:
        _copy_tenants(warehouse_path, {name: paths[name] for name in copied}, fingerprints)
    return TenantCopies(paths, copied, unchanged)


# Column and table names of the staging file (a name no mart uses).
TENANT_INDEX, TENANTS = "__tenant_index", "__tenants"
STAGING = "tenant_staging"  # its alias in the copying connection
TENANT_WRITERS = 2  # tenant files written at once (measured: README, "Many connections")


def _copy_tenants(
    warehouse_path: Path, paths: dict[str, Path], fingerprints: dict[str, str]
) -> None:
    """Every tenant file of `paths`, from one sorted staging copy of their rows.

    Filtering every mart for each tenant read all of every mart once per tenant: the cost grew
    with tenants x warehouse. Instead, the rows of the tenants to copy are written once into a
    staging file, each table sorted by an integer tenant index; a tenant's select then reads
    only the row groups its index falls in (DuckDB's min/max statistics; an integer, because
    the statistics of text keep only its first 8 bytes, which names such as `account-0001`
    share).
    """
    # Beside the warehouse (its directory is the owner's alone), never in a tenant's directory.
    remove_abandoned_staging(warehouse_path)
    staging = warehouse_path.with_name(f"{_staging_prefix(warehouse_path)}{uuid.uuid4().hex}")
    con = attach_source(warehouse_path)
    try:
        # Sorting spills to the staging file's directory beyond the copy's COPY_MEMORY.
        con.execute(f"set temp_directory = '{sql_path(staging)}.tmp'")
        con.execute(f"ATTACH '{sql_path(staging)}' AS {STAGING}")
        con.execute(
            f"create table {STAGING}.{TENANTS} as select connection_name, "
            f"{TENANT_INDEX} from unnest(?) with ordinality as t(connection_name, {TENANT_INDEX})",
            [list(paths)],
        )
        tables, macros = served_tables(con), source_macros(con)
        for table in tables:
            if table.per_connection:
                con.execute(
                    f"create table {STAGING}.{_staged(table)} as select rows.*, "
                    f"tenants.{TENANT_INDEX} from {SOURCE}.{table.sql} rows "
                    f"join {STAGING}.{TENANTS} tenants using (connection_name) "
                    f"order by tenants.{TENANT_INDEX}"
                )

        def write_tenant(index: int, name: str, path: Path) -> None:
            selects = {
                table: (
                    f"select * exclude ({TENANT_INDEX}) from {STAGING}.{_staged(table)} "
                    f"where {TENANT_INDEX} = ?",
                    [index],
                )
                if table.per_connection
                else (f"select * from {SOURCE}.{table.sql}", [])
                for table in tables
            }
            with con.cursor() as own:  # a connection of its own to the same DuckDB
                write_serving_file(own, path, selects, macros)
            if name in fingerprints:
                record_fingerprint(path, fingerprints[name])

        # DuckDB works without the GIL: TENANT_WRITERS files are written at once.
        with ThreadPoolExecutor(TENANT_WRITERS) as pool:
            written = [
                pool.submit(write_tenant, index, name, path)
                for index, (name, path) in enumerate(paths.items(), start=1)
            ]
            try:
                for future in written:
                    future.result()
            except BaseException:  # the first failure: start no more files, end those started
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        con.close()
        for leftover in (staging, staging.with_name(staging.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(f"{staging}.tmp", ignore_errors=True)


def _staging_prefix(warehouse_path: Path) -> str:
    return f".{warehouse_path.stem}.tenant-staging."


def remove_abandoned_staging(warehouse_path: Path) -> list[Path]:
    """Delete the staging files (with their WAL and spill directory) a killed publication left.

    A staging file in use is locked by the DuckDB that writes it (a POSIX lock); one that can
    be locked here is nobody's. This process writes no staging file at this point, so a lock
    taken here cannot be one of its own DuckDB's (POSIX locks never conflict within a process).
    """
    removed = []
    for staging in warehouse_path.parent.glob(f"{_staging_prefix(warehouse_path)}*"):
        if staging.suffix in {".wal", ".tmp"}:
            continue
        try:
            with staging.open("r+b") as file:
                fcntl.lockf(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                staging.unlink()
        except (BlockingIOError, PermissionError, FileNotFoundError):
            continue  # being written by a publication of another process (or gone already)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(f"{staging}.tmp", ignore_errors=True)
        removed.append(staging)
    return removed


def _staged(table: ServedTable) -> str:
    return f'"{table.schema}__{table.name}"'


def tenant_fingerprints(warehouse_path: Path, schemas: tuple[str, ...]) -> dict[str, str]:
    """connection name -> digest of everything its tenant serving file would hold."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        parts = _parts(con, schemas)
    finally:
        con.close()
    shared = parts.pop(SHARED, [])
    return {
        connection: hashlib.sha256("\n".join(sorted(shared + lines)).encode()).hexdigest()
        for connection, lines in parts.items()
    }


def _parts(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, list[str]]:
    """Lines describing the content, by connection (SHARED for what every tenant gets)."""
    columns = con.execute(
        "select schema_name, table_name, list(column_name order by column_index), "
        "list(data_type order by column_index) from duckdb_columns() "
        "where database_name = current_database() and schema_name in ? "
        "and table_name in (select table_name from duckdb_tables() "
        "  where database_name = current_database() and schema_name in ?) "
        "group by 1, 2 order by 1, 2",
        [list(schemas), list(schemas)],
    ).fetchall()
    macros = con.execute(
        "select schema_name, function_name, parameters, macro_definition from duckdb_functions() "
        "where function_type = 'table_macro' and database_name = current_database() "
        "and schema_name in ? order by 1, 2",
        [list(schemas)],
    ).fetchall()
    parts: dict[str, list[str]] = {SHARED: [repr(macro) for macro in macros]}
    for schema, table, names, types in columns:
        parts[SHARED].append(f"{schema}.{table} columns {list(zip(names, types, strict=True))}")
        row = ", ".join(f'"{name}"' for name in names)
        source = f'"{schema}"."{table}"'
        if "connection_name" in names:
            sums = con.execute(
                f"select connection_name, count(*), sum(hash({row})) from {source} group by 1"
            ).fetchall()
            for connection, count, total in sums:
                parts.setdefault(connection, []).append(f"{schema}.{table} {count} {total}")
        else:
            count, total = con.execute(
                f"select count(*), sum(hash({row})) from {source}"
            ).fetchone()
            parts[SHARED].append(f"{schema}.{table} {count} {total}")
    return parts


def recorded_fingerprint(serving_path: Path) -> str | None:
    """The digest recorded when this tenant file was published; None if either is missing."""
    recorded = _record_path(serving_path)
    if not serving_path.exists() or not recorded.exists():
        return None
    return recorded.read_text().strip() or None


def record_fingerprint(serving_path: Path, fingerprint: str) -> None:
    """Remember the digest of the file just published (written after the file: a crash in
    between leaves the old digest, so the next batch publishes again rather than skip)."""
    _record_path(serving_path).write_text(fingerprint + "\n")


def remove_tenant_copy(serving_path: Path) -> bool:
    """Delete a tenant serving file and its recorded digest; False if there was no file."""
    _record_path(serving_path).unlink(missing_ok=True)
    if not serving_path.exists():
        return False
    serving_path.unlink()
    return True


def _record_path(serving_path: Path) -> Path:
    return serving_path.with_name(serving_path.name + ".fingerprint")
