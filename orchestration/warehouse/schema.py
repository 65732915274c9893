"""The raw schema: its version, tables, and the migration steps between versions.

Standard library and duckdb only: readers check the version without importing pandas.
"""

from collections.abc import Callable

import duckdb

from orchestration.warehouse.entity_tables import ENTITY_DDL, ENTITY_TABLES

# The `organization_id` of Polar's server-side sum over every active organization.
ALL_SCOPE = "all"

# The raw schema version this release writes and reads. Writers migrate older warehouses
# (MIGRATIONS below); readers only check it.
SCHEMA_VERSION = 5

# A value Polar restated: what a later fetch changed (refunds move net revenue back to the
# order's day, cancellations move committed MRR), old and new kept.
REVISIONS_DDL = """create table if not exists raw.polar_metric_revisions(
    connection_name varchar, organization_id varchar, date date, metric_slug varchar,
    previous_value double, value double, previously_fetched_at timestamptz,
    fetched_at timestamptz,
    primary key (connection_name, organization_id, date, metric_slug, fetched_at))"""

METRICS_DDL = """create table if not exists raw.polar_metrics(
    connection_name varchar, organization_id varchar, date date, metric_slug varchar,
    value double, fetched_at timestamptz)"""

RAW_DDL = (
    "create schema if not exists raw",
    """create table if not exists raw.polar_connections(
        connection_name varchar primary key, environment varchar, status varchar,
        updated_at timestamptz)""",
    """create table if not exists raw.polar_organizations(
        connection_name varchar, organization_id varchar, name varchar, slug varchar,
        status varchar, default_presentment_currency varchar, created_at timestamptz,
        is_queried boolean, discovered_at timestamptz,
        primary key (connection_name, organization_id))""",
    # No primary key (schema 5), as the entity tables (EntityTable.ddl): a checkpoint rewrote
    # the whole key index, and `refresh --all` workers close the file (a checkpoint) after
    # every connection's metrics. With 8 million rows (540 connections) a close took 1.2-1.4 s
    # and the writer's RSS went from 200 MB to 525 MB in its 192 MB DuckDB pool. One row per
    # (connection, organization, date, slug) is kept by writes.replace_metrics and checked by
    # dbt (unique_combination on stg_polar__metrics).
    METRICS_DDL,
    """create table if not exists raw.polar_metric_definitions(
        connection_name varchar, slug varchar, display_name varchar, type varchar,
        drift varchar, first_seen_at timestamptz, last_seen_at timestamptz,
        primary key (connection_name, slug))""",
    """create table if not exists raw.polar_api_responses(
        connection_name varchar, organization_id varchar, start_date date, end_date date,
        fetched_at timestamptz, body json)""",
    """create table if not exists raw.polar_refreshes(
        refresh_id varchar primary key, connection_name varchar, started_at timestamptz,
        finished_at timestamptz, timezone varchar, window_start date, window_end date,
        status varchar, organizations_ok integer, organizations_failed integer, detail json)""",
    """create table if not exists raw.polar_backfill_progress(
        connection_name varchar, organization_id varchar, window_start date, window_end date,
        rows_written integer, completed_at timestamptz,
        primary key (connection_name, organization_id, window_start, window_end))""",
)

# `raw.polar_metrics` in column order (the frames written into it have exactly these columns).
METRIC_COLUMNS = [
    "connection_name",
    "organization_id",
    "date",
    "metric_slug",
    "value",
    "fetched_at",
]


def add_missing_tables_and_columns(con: duckdb.DuckDBPyConnection) -> None:
    """0 -> 1 (a warehouse from before versioning): create missing raw tables and columns.

    Existing rows are kept; an added column is null on them.
    """
    for statement in RAW_DDL:
        con.execute(statement)
    for table, columns in _expected_columns().items():
        present = {row[0] for row in con.execute(f"describe raw.{table}").fetchall()}
        for name, column_type in columns:
            if name not in present:
                con.execute(f'alter table raw.{table} add column "{name}" {column_type}')


def _expected_columns() -> dict[str, list[tuple[str, str]]]:
    """Each raw table's (column, type) as RAW_DDL creates it (read from a scratch database)."""
    scratch = duckdb.connect()
    try:
        for statement in RAW_DDL:
            scratch.execute(statement)
        tables = [
            row[0]
            for row in scratch.execute(
                "select table_name from duckdb_tables() where schema_name = 'raw'"
            ).fetchall()
        ]
        return {
            table: [(r[0], r[1]) for r in scratch.execute(f"describe raw.{table}").fetchall()]
            for table in tables
        }
    finally:
        scratch.close()


def add_entity_tables(con: duckdb.DuckDBPyConnection) -> None:
    """1 -> 2: the raw entity tables (products ... refunds) and their sync state, empty."""
    for statement in ENTITY_DDL:
        con.execute(statement)


def add_metric_revisions(con: duckdb.DuckDBPyConnection) -> None:
    """2 -> 3: raw.polar_metric_revisions (restated values), empty."""
    con.execute(REVISIONS_DDL)


def drop_entity_keys(con: duckdb.DuckDBPyConnection) -> None:
    """3 -> 4: the entity tables without their primary key (why: EntityTable.ddl), rows kept."""
    for table in ENTITY_TABLES.values():
        _copy_without_key(con, table.name, table.ddl())


def drop_metrics_key(con: duckdb.DuckDBPyConnection) -> None:
    """4 -> 5: raw.polar_metrics without its primary key (why: RAW_DDL), rows kept."""
    _copy_without_key(con, "raw.polar_metrics", METRICS_DDL)


def _copy_without_key(con: duckdb.DuckDBPyConnection, table: str, ddl: str) -> None:
    """Replace a keyed `table` by an unkeyed one (`ddl`) with the same rows and columns.

    DuckDB cannot drop a key, so the table is renamed, created again and copied.
    """
    name = table.split(".")[1]
    keyed = con.execute(
        "select count(*) from duckdb_constraints() where schema_name = 'raw' "
        "and table_name = ? and constraint_type = 'PRIMARY KEY'",
        [name],
    ).fetchone()
    if not keyed or not keyed[0]:
        return
    con.execute(f"alter table {table} rename to {name}_keyed")
    con.execute(ddl)
    con.execute(f"insert into {table} by name select * from raw.{name}_keyed")
    con.execute(f"drop table raw.{name}_keyed")


# MIGRATIONS[v] brings a version-v warehouse to v + 1; a new schema version appends one step
# and bumps SCHEMA_VERSION above.
MIGRATIONS: tuple[Callable[[duckdb.DuckDBPyConnection], None], ...] = (
    add_missing_tables_and_columns,
    add_entity_tables,
    add_metric_revisions,
    drop_entity_keys,
    drop_metrics_key,
)
