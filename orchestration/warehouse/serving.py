"""The read-only serving copy of the marts for BI tools.

DuckDB allows one writing process per file, and a BI tool that keeps the warehouse open would
block the pipeline (or the reverse). So after every successful dbt build the marts are copied
into a new file that is then renamed over the serving file: a reader that opens the serving file
gets either the previous refresh or the new one, never half of one, and a reader that kept the
old file open goes on reading the old snapshot until it reconnects.
"""

import contextlib
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
TableMacro = tuple[str, str, list[str], str]  # schema, name, parameters, definition
# DuckDB's memory while copying: unbounded (its default, 80 % of the machine) it kept what it
# read and wrote as cache, and the serving copy after a 1,000-connection `refresh --all` took
# its process to 1,277 MB. Bounded, the copy streams: on 130 connections' marts (3.8 million
# rows) 428 MB peak unbounded, 306 MB in 256 MB, 176 MB in 96 MB, in the same 3-4 s.
COPY_MEMORY = "256MB"


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
    con = attach_source(warehouse_path)
    try:
        selects = {}
        for table in served_tables(con):
            rows = f"select * from {SOURCE}.{table.sql}"
            if connection is not None and table.per_connection:
                selects[table] = (f"{rows} where connection_name = ?", [connection])
            else:
                selects[table] = (rows, [])
        return write_serving_file(con, serving_path, selects)
    finally:
        con.close()


@dataclass(frozen=True)
class ServedTable:
    """A table of the served schemas, and whether it holds rows per connection."""

    schema: str
    name: str
    per_connection: bool

    @property
    def sql(self) -> str:
        return f'"{self.schema}"."{self.name}"'


def attach_source(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the warehouse attached read-only as SOURCE, its memory
    bounded by COPY_MEMORY, spilling beside the warehouse (an in-memory DuckDB's default is
    `.tmp` in the working directory)."""
    spill = f"{warehouse_path}.tmp"
    con = duckdb.connect(config={"memory_limit": COPY_MEMORY, "temp_directory": spill})
    try:
        con.execute(f"ATTACH '{sql_path(warehouse_path)}' AS {SOURCE} (READ_ONLY)")
    except BaseException:
        con.close()
        raise
    return con


def served_tables(con: duckdb.DuckDBPyConnection) -> list[ServedTable]:
    """The tables a serving file copies from SOURCE (its manifest is written anew)."""
    rows = con.execute(
        "select t.schema_name, t.table_name, bool_or(c.column_name = 'connection_name') "
        "from duckdb_tables() t join duckdb_columns() c on c.table_oid = t.table_oid "
        "where t.database_name = ? and t.schema_name in ? group by 1, 2 order by 1, 2",
        [SOURCE, list(SERVED_SCHEMAS)],
    ).fetchall()
    return [
        ServedTable(schema, table, bool(per_connection))
        for schema, table, per_connection in rows
        if f"{schema}.{table}" != MANIFEST_TABLE
    ]


def write_serving_file(
    con: duckdb.DuckDBPyConnection,
    serving_path: Path,
    selects: dict[ServedTable, tuple[str, list[object]]],
    macros: list[TableMacro] | None = None,
) -> PublishedCopy:
    """A new serving file of each table's select (SQL, parameters) and SOURCE's table macros
    (`macros`, when the caller read them once for many files), renamed over `serving_path` once
    complete."""
    serving_path.parent.mkdir(mode=PRIVATE_DIRECTORY, parents=True, exist_ok=True)
    unique = uuid.uuid4().hex
    temporary = serving_path.with_name(f".{serving_path.name}.{unique}.tmp")
    target = f"{TARGET}_{unique}"  # its own alias: several files may be written at once
    published_at = datetime.now(UTC)
    try:
        con.execute(f"ATTACH '{sql_path(temporary)}' AS {target}")
        try:
            # One transaction: a commit per table cost a WAL write each (a tenant file took
            # 353 ms, 192 ms so, with the counts from the creates and one manifest insert).
            con.execute("begin")
            try:
                tables = _copy_tables(con, target, selects)
                copied_macros = _copy_table_macros(
                    con, target, source_macros(con) if macros is None else macros
                )
                _write_manifest(con, target, tables, published_at)
                con.execute("commit")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("rollback")
                raise
        finally:
            con.execute("use memory")
            con.execute(f"DETACH {target}")
        private_files(temporary)  # owner-only before it takes the serving copy's name
        _fsync(temporary)
        os.replace(temporary, serving_path)
        _fsync(serving_path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return PublishedCopy(serving_path, tables, copied_macros, published_at)


def _copy_tables(
    con: duckdb.DuckDBPyConnection,
    target: str,
    selects: dict[ServedTable, tuple[str, list[object]]],
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for schema in SERVED_SCHEMAS:
        con.execute(f'create schema if not exists {target}."{schema}"')
    for table, (select, parameters) in selects.items():
        created = con.execute(f"create table {target}.{table.sql} as {select}", parameters)
        count = created.fetchone()  # DuckDB answers a create-as with its row count
        counts[f"{table.schema}.{table.name}"] = int(count[0]) if count else 0
    return counts


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


def source_macros(con: duckdb.DuckDBPyConnection) -> list[TableMacro]:
    """SOURCE's table macros in the served schemas (e.g. `marts.polar_summary`)."""
    rows = con.execute(
        "select schema_name, function_name, parameters, macro_definition from duckdb_functions() "
        "where function_type = 'table_macro' and database_name = ? and schema_name in ?",
        [SOURCE, list(SERVED_SCHEMAS)],
    ).fetchall()
    return [
        (schema, name, list(parameters), definition)
        for schema, name, parameters, definition in rows
    ]


def _copy_table_macros(
    con: duckdb.DuckDBPyConnection, target: str, macros: list[TableMacro]
) -> list[str]:
    """Recreate the marts' table macros inside the serving file.

    Their bodies name tables as `marts.x`, which resolve in the reader's database: the copy.
    """
    names = []
    con.execute(f"use {target}")  # macro bodies bind `marts.x` against the copied tables
    for schema, name, parameters, definition in macros:
        params = ", ".join(parameters)
        con.execute(
            f'create or replace macro {target}."{schema}"."{name}"({params}) as table {definition}'
        )
        names.append(f"{schema}.{name}")
    return names


def _write_manifest(
    con: duckdb.DuckDBPyConnection, target: str, tables: dict[str, int], at: datetime
) -> None:
    con.execute(
        f"create table {target}.{MANIFEST_TABLE} "
        "(table_name varchar primary key, row_count bigint, published_at timestamptz)"
    )
    con.execute(
        f"insert into {target}.{MANIFEST_TABLE} select unnest(?), unnest(?), ?",
        [list(tables), list(tables.values()), at],
    )


def sql_path(path: Path | str) -> str:
    """A path as the text of a single-quoted SQL literal."""
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
