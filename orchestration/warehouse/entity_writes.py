"""Writes and reads of the raw entity tables and their sync state (no pandas, no Dagster).

Each page of items replaces the stored rows of its ids that changed and marks the others seen
(one row per (connection_name, id): the tables have no key index, see entity_tables.py),
together with the sync state that says how far the sync got, inside one transaction
(`files.transaction`): a crash leaves either the page and its progress mark, or neither, so a
rerun resumes with no gap and no duplicate.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import duckdb
import orjson

from orchestration.warehouse.entity_tables import ENTITY_TABLES, SYNC_STATE_VALUES, EntityTable


def upsert_items(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    *,
    connection_name: str,
    organization_id: str,
    items: Sequence[dict[str, Any]],
    fetched_at: datetime,
) -> int:
    """Insert or replace these items (the last one wins for a repeated id); rows written.

    An item stored exactly as listed keeps its row: only its `fetched_at` (and `missing_since`)
    are updated. Call it inside a transaction: its writes must commit together.
    """
    listed = {str(item["id"]): orjson.dumps(item).decode() for item in items if item.get("id")}
    if not listed:
        return 0
    table = ENTITY_TABLES[entity]
    unchanged = _stored_unchanged(con, table, connection_name, organization_id, listed)
    if unchanged:
        _mark_seen(con, table, connection_name, fetched_at, unchanged)
    changed = [id_ for id_ in listed if id_ not in unchanged]
    if changed:
        con.execute(
            f"delete from {table.name} where connection_name = ? and id in (select unnest(?))",
            [connection_name, changed],
        )
        con.execute(
            _insert_sql(table),
            [connection_name, organization_id, fetched_at, [listed[i] for i in changed]],
        )
    return len(listed)


# Syncs list most items again unchanged: a first sync reads every active subscription twice
# (started since the cursor, then by status), a daily one the 35-day look-back of orders. A
# replaced row stays in its row group as a deleted one until DuckDB's vacuum merges the row
# groups so thinned, and that merge rewrites their `item` JSON in the writer's memory: on the
# 1,000-connection benchmark's warehouse a writer's checkpoint rose 455 MB that way (6 MB with
# the vacuum off). An unchanged item's row gets a new `fetched_at` (an in-place update) instead.
def _stored_unchanged(
    con: duckdb.DuckDBPyConnection,
    table: EntityTable,
    connection_name: str,
    organization_id: str,
    listed: dict[str, str],
) -> set[str]:
    """Ids of `listed` stored for this organization with exactly this JSON."""
    stored = con.execute(
        f"select id, item from {table.name} where connection_name = ? "
        "and organization_id = ? and id in (select unnest(?))",
        [connection_name, organization_id, list(listed)],
    ).fetchall()
    return {id_ for id_, item in stored if listed[id_] == item}


def _mark_seen(
    con: duckdb.DuckDBPyConnection,
    table: EntityTable,
    connection_name: str,
    fetched_at: datetime,
    ids: set[str],
) -> None:
    listed_again = ", missing_since = null" if "missing_since" in table.column_names else ""
    con.execute(
        f"update {table.name} set fetched_at = ?{listed_again} "
        "where connection_name = ? and id in (select unnest(?))",
        [fetched_at, connection_name, list(ids)],
    )


def _insert_sql(table: EntityTable) -> str:
    # One json_extract_string with the list of paths parses each item once; one call per column
    # parsed it again for every column (orders: 22 parses of ~4.6 KB, a third of the write's time).
    paths = ["id", *(c.path for c in table.columns if c.path is not None)]
    position = {path: index for index, path in enumerate(paths, start=1)}  # SQL lists count from 1
    typed = ", ".join(c.select_expression(f"v[{position.get(c.path)}]") for c in table.columns)
    listed = ", ".join(f"'$.{path}'" for path in paths)
    return (
        f"insert into {table.name} ({', '.join(table.column_names)}) "
        f"select ?, ?, v[1], {typed}, ?, j from "
        f"(select j, json_extract_string(j, [{listed}]) as v from (select unnest(?::json[]) as j))"
    )


def stored_items(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    connection_name: str,
    organization_id: str,
    after_id: str = "",
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Stored items of one organization by id, the first `limit` after `after_id` (to rewrite
    them under a new PII policy, a chunk at a time)."""
    rows = con.execute(
        f"select item from {ENTITY_TABLES[entity].name} "
        "where connection_name = ? and organization_id = ? and id > ? order by id limit ?",
        [connection_name, organization_id, after_id, limit],
    ).fetchall()
    return [json.loads(row[0]) for row in rows]


def mark_missing(
    con: duckdb.DuckDBPyConnection,
    entity: str,
    *,
    connection_name: str,
    organization_id: str,
    sweep_started_at: datetime,
    marked_at: datetime,
) -> int:
    """Rows a complete sweep did not list (not written since it started): `missing_since` set.

    The rows stay (deleted customers and products are kept and marked, never dropped).
    """
    table = ENTITY_TABLES[entity].name
    where = (
        "connection_name = ? and organization_id = ? and fetched_at < ? and missing_since is null"
    )
    params = [connection_name, organization_id, sweep_started_at]
    count = con.execute(f"select count(*) from {table} where {where}", params).fetchone()
    con.execute(f"update {table} set missing_since = ? where {where}", [marked_at, *params])
    return int(count[0]) if count else 0


@dataclass(frozen=True)
class SyncState:
    """How far one (connection, organization, entity) sync got; stored in raw.polar_entity_sync."""

    cursor_at: datetime | None = None  # newest created_at (started_at) stored in order
    last_full_sweep_at: datetime | None = None
    resume: dict[str, Any] | None = None  # where an interrupted read goes on
    requests_total: int = 0
    pii_signature: str | None = None
    last_synced_at: datetime | None = None

    def with_changes(self, **changes: Any) -> "SyncState":
        """A copy with these fields changed."""
        return replace(self, **changes)


def read_sync_state(
    con: duckdb.DuckDBPyConnection, connection_name: str, organization_id: str, entity: str
) -> SyncState | None:
    """The stored state, or None before the first sync."""
    row = con.execute(
        "select cursor_at, last_full_sweep_at, resume, requests_total, pii_signature, "
        "last_synced_at from raw.polar_entity_sync "
        "where connection_name = ? and organization_id = ? and entity = ?",
        [connection_name, organization_id, entity],
    ).fetchone()
    if row is None:
        return None
    return SyncState(
        cursor_at=row[0],
        last_full_sweep_at=row[1],
        resume=json.loads(row[2]) if row[2] else None,
        requests_total=int(row[3] or 0),
        pii_signature=row[4],
        last_synced_at=row[5],
    )


@dataclass(frozen=True)
class SyncReport:
    """The outcome columns of raw.polar_entity_sync for one sync."""

    status: str  # running | ok | missing_scope | not_served | failed
    mode: str  # full | incremental | sweep
    rows: int
    requests: int
    error: str | None = None
    drift: dict[str, list[str]] = field(default_factory=dict)


def write_sync_state(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    organization_id: str,
    entity: str,
    state: SyncState,
    report: SyncReport,
    synced_at: datetime,
) -> None:
    """Upsert the state and this sync's outcome (call inside the page's transaction).

    An update of the row, inserted only when missing: it is written with every page, and
    `insert or replace` on the keyed table cost 3.5 ms of CPU a page against 1.1 ms."""
    key = [connection_name, organization_id, entity]
    values = [
        state.cursor_at,
        state.last_full_sweep_at,
        json.dumps(state.resume) if state.resume is not None else None,
        synced_at,
        report.status,
        report.error,
        report.mode,
        report.rows,
        report.requests,
        state.requests_total,
        json.dumps(report.drift),
        state.pii_signature,
    ]
    assignments = ", ".join(f"{column} = ?" for column in SYNC_STATE_VALUES)
    (updated,) = con.execute(
        f"update raw.polar_entity_sync set {assignments} "
        "where connection_name = ? and organization_id = ? and entity = ?",
        [*values, *key],
    ).fetchone() or (0,)
    if not updated:
        con.execute(
            f"insert into raw.polar_entity_sync values ({', '.join('?' * (3 + len(values)))})",
            [*key, *values],
        )


def orders_touched_by_recent_refunds(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    organization_id: str,
    refunds_seen_since: datetime,
    created_before: datetime,
) -> list[tuple[str, datetime, str | None]]:
    """(id, created_at, customer_id) of stored orders older than `created_before` that a refund
    read since `refunds_seen_since` postdates (Polar's clock on both sides): they are stale."""
    return con.execute(
        """select distinct o.id, o.created_at, o.customer_id
        from raw.polar_refunds r join raw.polar_orders o
          on o.connection_name = r.connection_name and o.id = r.order_id
        where r.connection_name = ? and r.organization_id = ? and r.fetched_at >= ?
          and o.created_at < ?
          and greatest(r.created_at, coalesce(r.modified_at, r.created_at))
              > coalesce(o.modified_at, o.created_at)
        order by 2""",
        [connection_name, organization_id, refunds_seen_since, created_before],
    ).fetchall()


def subscriptions_that_may_change(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    organization_id: str,
    terminal_statuses: Sequence[str],
    canceled_since: datetime,
) -> dict[str, str | None]:
    """id -> customer_id of stored subscriptions that can still change: not in a terminal
    status, or canceled since `canceled_since`."""
    rows = con.execute(
        "select id, customer_id from raw.polar_subscriptions "
        "where connection_name = ? and organization_id = ? "
        "and (not list_contains(?, coalesce(status, '')) or canceled_at >= ?)",
        [connection_name, organization_id, list(terminal_statuses), canceled_since],
    ).fetchall()
    return {row[0]: row[1] for row in rows}
