"""The read-only serving copy of the marts for BI tools.

DuckDB allows one writing process per file, and a BI tool that keeps the warehouse open would
block the pipeline (or the reverse). So after every successful dbt build the marts are copied
into a new file that is then renamed over the serving file: a reader that opens the serving file
gets either the previous refresh or the new one, never half of one, and a reader that kept the
old file open goes on reading the old snapshot until it reconnects.
"""

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from connectors.polar.private_files import PRIVATE_DIRECTORY, private_files

SERVED_SCHEMAS = ("marts",)
MANIFEST_TABLE = "marts.serving_manifest"
SOURCE, TARGET = "warehouse_source", "serving_target"  # aliases inside the copying connection


@dataclass(frozen=True)
class PublishedCopy:
    """What one publication wrote."""

    path: Path
    tables: dict[str, int]  # table -> row count
    macros: list[str]
    published_at: datetime


def serving_path_for(warehouse_path: Path) -> Path:
    """Serving file beside the warehouse: `w.duckdb` -> `w.serving.duckdb`."""
    return warehouse_path.with_name(f"{warehouse_path.stem}.serving{warehouse_path.suffix}")


def tenant_directory(warehouse_path: Path, connection: str) -> Path:
    """`tenants/<connection>/` beside the warehouse: one connection's serving file and
    dashboard, in a directory of their own so each can be shared, mounted or permitted alone."""
    safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in connection)
    return warehouse_path.parent / "tenants" / safe


def tenant_serving_path_for(warehouse_path: Path, connection: str) -> Path:
    """One connection's serving file: `tenants/<connection>/w.serving.duckdb`."""
    return tenant_directory(warehouse_path, connection) / serving_path_for(warehouse_path).name


def publish_serving_copy(
    warehouse_path: Path, serving_path: Path, *, connection: str | None = None
) -> PublishedCopy:
    """Copy the marts (tables and table macros) into a fresh file and swap it in atomically.

    With `connection`, a tenant's copy: every table with a `connection_name` column keeps only
    that connection's rows (the table macros then read only those); tables without one are
    shared reference data (exchange rates, metric definitions) and copied whole.
    The warehouse is only read (attached read-only), so the caller must not hold it open for
    writing; in the pipeline this runs after dbt, inside the `duckdb_warehouse` pool.
    """
    serving_path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    temporary = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.tmp")
    published_at = datetime.now(UTC)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{_sql_path(warehouse_path)}' AS {SOURCE} (READ_ONLY)")
        con.execute(f"ATTACH '{_sql_path(temporary)}' AS {TARGET}")
        tables = _copy_tables(con, connection)
        macros = _copy_table_macros(con)
        _write_manifest(con, tables, published_at)
        con.execute("use memory")
        con.execute(f"DETACH {TARGET}")
    finally:
        con.close()
    try:
        private_files(temporary)  # owner-only before it takes the serving copy's name
        _fsync(temporary)
        os.replace(temporary, serving_path)
        _fsync(serving_path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return PublishedCopy(serving_path, tables, macros, published_at)


def _copy_tables(con: duckdb.DuckDBPyConnection, connection: str | None) -> dict[str, int]:
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = ? and schema_name in ? order by 1, 2",
        [SOURCE, list(SERVED_SCHEMAS)],
    ).fetchall()
    counts: dict[str, int] = {}
    for schema in SERVED_SCHEMAS:
        con.execute(f'create schema if not exists {TARGET}."{schema}"')
    for schema, table in rows:
        if f"{schema}.{table}" == MANIFEST_TABLE:
            continue
        name = f'"{schema}"."{table}"'
        source = f"select * from {SOURCE}.{name}"
        if connection is not None and _has_connection_column(con, schema, table):
            con.execute(
                f"create table {TARGET}.{name} as {source} where connection_name = ?", [connection]
            )
        else:
            con.execute(f"create table {TARGET}.{name} as {source}")
        count = con.execute(f"select count(*) from {TARGET}.{name}").fetchone()
        counts[f"{schema}.{table}"] = int(count[0]) if count else 0
    return counts


def _has_connection_column(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select 1 from duckdb_columns() where database_name = ? and schema_name = ? "
        "and table_name = ? and column_name = 'connection_name'",
        [SOURCE, schema, table],
    ).fetchone()
    return found is not None


def served_connections(warehouse_path: Path) -> list[str]:
    """The connections the marts hold rows of (each gets a tenant serving file)."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select distinct connection_name from marts.polar_connections order by 1"
        ).fetchall()
    finally:
        con.close()
    return [name for (name,) in rows]


def _copy_table_macros(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Recreate the marts' table macros (e.g. `marts.polar_summary`) inside the serving file.

    Their bodies name tables as `marts.x`, which resolve in the reader's database: the copy.
    """
    macros = con.execute(
        "select schema_name, function_name, parameters, macro_definition from duckdb_functions() "
        "where function_type = 'table_macro' and database_name = ? and schema_name in ?",
        [SOURCE, list(SERVED_SCHEMAS)],
    ).fetchall()
    names = []
    con.execute(f"use {TARGET}")  # macro bodies bind `marts.x` against the copied tables
    for schema, name, parameters, definition in macros:
        params = ", ".join(parameters)
        con.execute(
            f'create or replace macro {TARGET}."{schema}"."{name}"({params}) as table {definition}'
        )
        names.append(f"{schema}.{name}")
    return names


def _write_manifest(con: duckdb.DuckDBPyConnection, tables: dict[str, int], at: datetime) -> None:
    con.execute(
        f"create table {TARGET}.{MANIFEST_TABLE} "
        "(table_name varchar primary key, row_count bigint, published_at timestamptz)"
    )
    con.executemany(
        f"insert into {TARGET}.{MANIFEST_TABLE} values (?, ?, ?)",
        [(table, count, at) for table, count in tables.items()],
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
