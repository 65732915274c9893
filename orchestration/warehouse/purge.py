"""Delete one connection's rows from every warehouse table (`polar-metrics disconnect --purge`)."""

from pathlib import Path

import duckdb

from orchestration.warehouse.files import open_read_only, open_warehouse, transaction


def tables_with_connection_rows(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every base table (raw, intermediate, marts, ...) that has a `connection_name` column."""
    rows = con.execute(
        "select t.table_schema, t.table_name from information_schema.tables t "
        "join information_schema.columns c using (table_catalog, table_schema, table_name) "
        "where c.column_name = 'connection_name' and t.table_type = 'BASE TABLE' "
        "and t.table_catalog = current_database() order by 1, 2"
    ).fetchall()
    return [f'"{schema}"."{table}"' for schema, table in rows]


def connection_row_counts(con: duckdb.DuckDBPyConnection, connection: str) -> dict[str, int]:
    """Rows of `connection` per table, only tables that hold some."""
    counts = {}
    for table in tables_with_connection_rows(con):
        row = con.execute(
            f"select count(*) from {table} where connection_name = ?", [connection]
        ).fetchone()
        if row and row[0]:
            counts[table.replace('"', "")] = int(row[0])
    return counts


def rows_to_purge(path: Path, connection: str) -> dict[str, int]:
    """What a purge of `connection` would delete (read-only; empty without a warehouse)."""
    if not path.exists():
        return {}
    with open_read_only(path) as con:
        return connection_row_counts(con, connection)


def purge_connection(path: Path, connection: str) -> dict[str, int]:
    """Delete every row of `connection` in one transaction; the counts deleted per table."""
    if not path.exists():
        return {}
    with open_warehouse(path) as con, transaction(con):
        counts = connection_row_counts(con, connection)
        for table in tables_with_connection_rows(con):
            con.execute(f"delete from {table} where connection_name = ?", [connection])
    return counts
