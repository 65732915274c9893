"""The DuckDB warehouse's raw schema and its transactional writes (no Dagster import).

Every write here is one transaction, so a crash leaves either the old rows or the new ones.
Only one process writes at a time (the Dagster pool `duckdb_warehouse`); readers open read-only.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from connectors.polar.errors import PolarError
from orchestration.warehouse_files import (
    SCHEMA_VERSION,
    WarehouseNotReadyError,
    check_readable_version,
    corrupt_message,
    newer_version_message,
    open_failure,
    stored_schema_version,
)

ALL_SCOPE = "all"

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
    """create table if not exists raw.polar_metrics(
        connection_name varchar, organization_id varchar, date date, metric_slug varchar,
        value double, fetched_at timestamptz,
        primary key (connection_name, organization_id, date, metric_slug))""",
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

METRIC_COLUMNS = [
    "connection_name",
    "organization_id",
    "date",
    "metric_slug",
    "value",
    "fetched_at",
]


class WarehouseError(PolarError):
    """The warehouse file is missing, locked by another writer, or unreadable."""


@dataclass(frozen=True)
class MetricRow:
    """One value of one metric for one scope (organization id or `all`) on one local date."""

    organization_id: str
    date: date
    metric_slug: str
    value: float


# A refresh's writer bounds DuckDB's buffer pool so a 1,000-organization refresh stays under
# 500 MB (DuckDB also allocates ~150 MB outside the pool there). The bound follows the file:
# a checkpoint must hold the metrics primary-key index in memory (128 MB failed on the 650 MB
# file of 1,000 organizations), so a bigger (backfilled) warehouse gets a bigger pool.
BOUNDED_MEMORY_FLOOR_MB = 192
BOUNDED_MEMORY_FILE_FRACTION = 0.25


def bounded_writer_config(path: Path) -> dict[str, str | bool | int]:
    """DuckDB settings for a long writer: a buffer pool bounded by the warehouse's size."""
    size_mb = path.stat().st_size / 1e6 if path.exists() else 0.0
    limit_mb = max(BOUNDED_MEMORY_FLOOR_MB, size_mb * BOUNDED_MEMORY_FILE_FRACTION)
    # Every read orders explicitly, so insertion order need not be kept; one DuckDB thread saves
    # ~20 MB of per-thread state and the writer waits on commits, not on CPU.
    return {
        "memory_limit": f"{limit_mb:.0f}MB",
        "preserve_insertion_order": False,
        "threads": 1,
    }


@contextmanager
def open_warehouse(
    path: Path, *, read_only: bool = False, bounded_memory: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse; writers get the raw schema created or migrated first.

    `bounded_memory` (a refresh) caps DuckDB's buffer pool; see `bounded_writer_config`.
    """
    if read_only and not path.exists():
        raise WarehouseError(f"No warehouse at {path}: run `polar-metrics refresh` first.")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        config = bounded_writer_config(path) if bounded_memory and not read_only else {}
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as error:
        raise WarehouseError(open_failure(path, error, writer=not read_only)) from None
    try:
        if read_only:
            _check_reader_version(con, path)
        else:
            ensure_schema(con, path)
        yield con
    finally:
        con.close()


def _check_reader_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The readers' version check, raised as this module's error."""
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
    with transaction(con):
        for step in MIGRATIONS[version:]:
            step(con)
        con.execute("create table if not exists raw.schema_version(version integer)")
        con.execute("delete from raw.schema_version")
        con.execute("insert into raw.schema_version values (?)", [SCHEMA_VERSION])


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


# MIGRATIONS[v] brings a version-v warehouse to v + 1; a new schema version appends one step
# (and bumps SCHEMA_VERSION in orchestration/dashboard/marts.py).
MIGRATIONS: tuple[Callable[[duckdb.DuckDBPyConnection], None], ...] = (
    add_missing_tables_and_columns,
)


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


def metric_frame(
    connection_name: str, rows: Iterable[MetricRow], fetched_at: datetime
) -> pd.DataFrame:
    """The rows as a DataFrame in `raw.polar_metrics` column order."""
    records = [(r.organization_id, r.date, r.metric_slug, r.value) for r in rows]
    frame = pd.DataFrame.from_records(records, columns=METRIC_COLUMNS[1:5])
    frame.insert(0, "connection_name", connection_name)
    frame["fetched_at"] = fetched_at
    return compact_frame(frame)


def compact_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical keys, native dates and floats: DuckDB scans these without the GIL."""
    frame = frame.astype(
        {
            "connection_name": "category",
            "organization_id": "category",
            "metric_slug": "category",
            "value": "float64",
        }
    )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[METRIC_COLUMNS]


def replace_metrics(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    scopes: Sequence[str],
    start: date,
    end: date,
    frames: Sequence[pd.DataFrame],
) -> int:
    """Make these scopes' rows in [start, end] exactly `frames` (call inside a transaction).

    The result equals delete-then-insert, but rows whose key already exists are updated in
    place: deleting from DuckDB's primary-key index costs several times more than updating
    the non-key columns, and a refresh rewrites mostly existing keys.
    """
    con.execute(
        "create or replace temp table incoming_metrics as "
        "select * from raw.polar_metrics with no data"
    )
    for frame in frames:
        con.register("incoming_frame", frame)
        try:
            con.execute(
                "insert into incoming_metrics select cast(connection_name as varchar), "
                "cast(organization_id as varchar), cast(date as date), "
                "cast(metric_slug as varchar), value, fetched_at from incoming_frame"
            )
        finally:
            con.unregister("incoming_frame")
    con.execute(
        "update raw.polar_metrics m set value = i.value, fetched_at = i.fetched_at "
        f"from incoming_metrics i where {_SAME_KEY}"
    )
    con.execute(
        "insert into raw.polar_metrics select * from incoming_metrics i "
        f"where not exists (select 1 from raw.polar_metrics m where {_SAME_KEY})"
    )
    con.execute(
        "delete from raw.polar_metrics m where m.connection_name = ? "
        "and list_contains(?, m.organization_id) and m.date between ? and ? "
        f"and not exists (select 1 from incoming_metrics i where {_SAME_KEY})",
        [connection_name, list(scopes), start, end],
    )
    written = con.execute("select count(*) from incoming_metrics").fetchone()
    con.execute("drop table incoming_metrics")
    return int(written[0]) if written else 0


_SAME_KEY = (
    "m.connection_name = i.connection_name and m.organization_id = i.organization_id "
    "and m.date = i.date and m.metric_slug = i.metric_slug"
)


@dataclass(frozen=True)
class ResponseBody:
    """A raw metrics answer kept for audit (the latest per scope)."""

    scope: str
    start: date
    end: date
    fetched_at: datetime
    body: str


def store_responses(
    con: duckdb.DuckDBPyConnection, connection_name: str, bodies: Sequence[ResponseBody]
) -> None:
    """Replace the audit bodies of these scopes (call inside a transaction)."""
    if not bodies:
        return
    con.execute(
        "delete from raw.polar_api_responses where connection_name = ? "
        "and list_contains(?, organization_id)",
        [connection_name, [b.scope for b in bodies]],
    )
    frame = pd.DataFrame(
        [(connection_name, b.scope, b.start, b.end, b.fetched_at, b.body) for b in bodies],
        columns=[
            "connection_name",
            "organization_id",
            "start_date",
            "end_date",
            "fetched_at",
            "body",
        ],
    )
    con.register("incoming_bodies", frame)
    try:
        con.execute(
            "insert into raw.polar_api_responses select connection_name, organization_id, "
            "cast(start_date as date), cast(end_date as date), fetched_at, cast(body as json) "
            "from incoming_bodies"
        )
    finally:
        con.unregister("incoming_bodies")


def write_connection(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    environment: str,
    status: str,
    updated_at: datetime,
) -> None:
    """Upsert the connection's row (state and environment, never a token)."""
    con.execute(
        "insert or replace into raw.polar_connections values (?, ?, ?, ?)",
        [connection_name, environment, status, updated_at],
    )


def write_organizations(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    organizations: Sequence[dict[str, object]],
    discovered_at: datetime,
) -> None:
    """Upsert every discovered organization; ones no longer listed stay, no longer queried.

    Each dict has the `Organization.to_dict()` keys plus `is_queried`.
    """
    con.execute(
        "update raw.polar_organizations set is_queried = false where connection_name = ?",
        [connection_name],
    )
    for org in organizations:
        con.execute(
            "insert or replace into raw.polar_organizations values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                connection_name,
                org["id"],
                org["name"],
                org["slug"],
                org["status"],
                org["default_presentment_currency"],
                org.get("created_at"),
                org["is_queried"],
                discovered_at,
            ],
        )


@dataclass(frozen=True)
class DefinitionRow:
    """A metric definition with its drift status against the catalogue."""

    slug: str
    display_name: str
    type: str
    drift: str  # known | new | missing | type_changed


def write_metric_definitions(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    definitions: Sequence[DefinitionRow],
    seen_at: datetime,
) -> None:
    """Upsert definitions, keeping when each slug was first seen."""
    if not definitions:
        return
    frame = pd.DataFrame(
        [(connection_name, d.slug, d.display_name, d.type, d.drift) for d in definitions],
        columns=["connection_name", "slug", "display_name", "type", "drift"],
    )
    con.register("incoming_definitions", frame)
    try:
        con.execute(
            """insert into raw.polar_metric_definitions
            select connection_name, slug, display_name, type, drift, ?, ? from incoming_definitions
            on conflict (connection_name, slug) do update set display_name = excluded.display_name,
            type = excluded.type, drift = excluded.drift, last_seen_at = excluded.last_seen_at""",
            [seen_at, seen_at],
        )
    finally:
        con.unregister("incoming_definitions")


@dataclass(frozen=True)
class RefreshRecord:
    """One row of `raw.polar_refreshes`: what a refresh covered and how it ended."""

    refresh_id: str
    connection_name: str
    started_at: datetime
    finished_at: datetime
    timezone: str
    window_start: date
    window_end: date
    status: str  # success | partial | failed
    organizations_ok: int
    organizations_failed: int
    detail_json: str


def record_refresh(con: duckdb.DuckDBPyConnection, record: RefreshRecord) -> None:
    """Store (or overwrite, on a retried run) the refresh's outcome."""
    con.execute(
        "insert or replace into raw.polar_refreshes values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            record.refresh_id,
            record.connection_name,
            record.started_at,
            record.finished_at,
            record.timezone,
            record.window_start,
            record.window_end,
            record.status,
            record.organizations_ok,
            record.organizations_failed,
            record.detail_json,
        ],
    )


def latest_window(con: duckdb.DuckDBPyConnection, connection_name: str) -> tuple[date, date] | None:
    """The (start, end) of the connection's latest successful or partial full refresh."""
    row = con.execute(
        "select window_start, window_end from raw.polar_refreshes where connection_name = ? "
        "and status in ('success', 'partial') "
        "and coalesce(json_extract_string(detail, '$.kind'), 'window') = 'window' "
        "order by finished_at desc limit 1",
        [connection_name],
    ).fetchone()
    return (row[0], row[1]) if row else None


def completed_backfill_windows(
    con: duckdb.DuckDBPyConnection, connection_name: str
) -> set[tuple[str, date, date]]:
    """(scope, start, end) of every backfill window already written (to resume)."""
    rows = con.execute(
        "select organization_id, window_start, window_end from raw.polar_backfill_progress "
        "where connection_name = ?",
        [connection_name],
    ).fetchall()
    return {(r[0], r[1], r[2]) for r in rows}


def mark_backfill_window(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    scope: str,
    start: date,
    end: date,
    rows_written: int,
    completed_at: datetime,
) -> None:
    """Record a finished backfill window (inside the same transaction as its rows)."""
    con.execute(
        "insert or replace into raw.polar_backfill_progress values (?, ?, ?, ?, ?, ?)",
        [connection_name, scope, start, end, rows_written, completed_at],
    )
