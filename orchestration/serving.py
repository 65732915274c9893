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

SERVED_SCHEMAS = ("marts",)
MANIFEST_TABLE = "marts.serving_manifest"


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


def publish_serving_copy(warehouse: duckdb.DuckDBPyConnection, serving_path: Path) -> PublishedCopy:
    """Copy the marts (tables and table macros) into a fresh file and swap it in atomically."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.tmp")
    alias = f"serving_{uuid.uuid4().hex[:8]}"
    published_at = datetime.now(UTC)
    warehouse.execute(f"ATTACH '{_sql_path(temporary)}' AS {alias}")
    try:
        tables = _copy_tables(warehouse, alias)
        macros = _copy_table_macros(warehouse, alias)
        _write_manifest(warehouse, alias, tables, published_at)
    finally:
        warehouse.execute(f"DETACH {alias}")
    try:
        _fsync(temporary)
        os.replace(temporary, serving_path)
        _fsync(serving_path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return PublishedCopy(serving_path, tables, macros, published_at)


def _copy_tables(warehouse: duckdb.DuckDBPyConnection, alias: str) -> dict[str, int]:
    rows = warehouse.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and schema_name in ? order by 1, 2",
        [list(SERVED_SCHEMAS)],
    ).fetchall()
    counts: dict[str, int] = {}
    for schema in SERVED_SCHEMAS:
        warehouse.execute(f'create schema if not exists {alias}."{schema}"')
    for schema, table in rows:
        if f"{schema}.{table}" == MANIFEST_TABLE:
            continue
        warehouse.execute(
            f'create table {alias}."{schema}"."{table}" as select * from "{schema}"."{table}"'
        )
        count = warehouse.execute(f'select count(*) from {alias}."{schema}"."{table}"').fetchone()
        counts[f"{schema}.{table}"] = int(count[0]) if count else 0
    return counts


def _copy_table_macros(warehouse: duckdb.DuckDBPyConnection, alias: str) -> list[str]:
    """Recreate the marts' table macros (e.g. `marts.polar_summary`) inside the serving file."""
    macros = warehouse.execute(
        "select schema_name, function_name, parameters, macro_definition from duckdb_functions() "
        "where function_type = 'table_macro' and database_name = current_database() "
        "and schema_name in ?",
        [list(SERVED_SCHEMAS)],
    ).fetchall()
    names = []
    for schema, name, parameters, definition in macros:
        params = ", ".join(parameters)
        warehouse.execute(
            f'create or replace macro {alias}."{schema}"."{name}"({params}) as table {definition}'
        )
        names.append(f"{schema}.{name}")
    return names


def _write_manifest(
    warehouse: duckdb.DuckDBPyConnection, alias: str, tables: dict[str, int], at: datetime
) -> None:
    warehouse.execute(
        f"create table {alias}.{MANIFEST_TABLE} "
        "(table_name varchar primary key, row_count bigint, published_at timestamptz)"
    )
    warehouse.executemany(
        f"insert into {alias}.{MANIFEST_TABLE} values (?, ?, ?)",
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
