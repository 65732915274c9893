"""The transactional writes of the raw tables (call each inside `files.transaction`).

Every write here runs inside one transaction, so a crash leaves either the old rows or the new
ones. Only one process writes at a time (the Dagster pool and the writer lock); readers read
serving copies.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd


def replace_metrics(
    con: duckdb.DuckDBPyConnection,
    *,
    connection_name: str,
    scopes: Sequence[str],
    start: date,
    end: date,
    frames: Sequence[pd.DataFrame],
    timezone: str = "UTC",
) -> int:
    """Make these scopes' rows in [start, end] exactly `frames` (call inside a transaction).

    A changed value of a day that had ended (in `timezone`) when it was stored is kept in
    raw.polar_metric_revisions first: Polar restated it.

    The table has no key index (schema.RAW_DDL says why): the window's rows are deleted and the
    frames inserted in the caller's transaction, under the writer lock, which keeps one row per
    (connection, organization, date, slug). Rows outside the window or a key given twice would
    break that, so they are refused before anything is written.
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
    window = [connection_name, list(scopes), start, end]
    _refuse_rows_outside_the_window(con, window)
    keep_revisions(con, timezone, window)
    con.execute(f"delete from raw.polar_metrics m where {_in_window('m')}", window)
    con.execute("insert into raw.polar_metrics select * from incoming_metrics")
    written = con.execute("select count(*) from incoming_metrics").fetchone()
    con.execute("drop table incoming_metrics")
    return int(written[0]) if written else 0


def _refuse_rows_outside_the_window(con: duckdb.DuckDBPyConnection, window: list[object]) -> None:
    found = con.execute(
        f"select count(*) filter (where not ({_in_window('i')})), "
        "count(*) - count(distinct (organization_id, date, metric_slug)) "
        "from incoming_metrics i",
        window,
    ).fetchone()
    outside, repeated = found if found else (0, 0)
    if outside or repeated:
        raise ValueError(
            f"metric rows to write: {outside} outside the window replaced, {repeated} keys "
            "given twice (a bug in the caller; nothing was written)"
        )


def keep_revisions(con: duckdb.DuckDBPyConnection, timezone: str, window: list[object]) -> None:
    """Record every stored value the incoming rows change (old and new) before they replace it.

    A day still running when it was stored (today) grows by itself; only the change of a day
    that had ended by then is a restatement.
    """
    con.execute(
        "insert or ignore into raw.polar_metric_revisions select m.connection_name, "
        "m.organization_id, m.date, m.metric_slug, m.value, i.value, m.fetched_at, i.fetched_at "
        f"from raw.polar_metrics m join incoming_metrics i on {_SAME_KEY} "
        f"where {_in_window('m')} and m.value is distinct from i.value "
        "and m.date < cast(timezone(?, m.fetched_at) as date)",
        [*window, timezone],
    )


def _in_window(alias: str) -> str:
    """The rows a replacement owns: one connection's scopes in [start, end] (its parameters:
    connection name, scopes, start, end)."""
    return (
        f"{alias}.connection_name = ? and list_contains(?, {alias}.organization_id) "
        f"and {alias}.date between ? and ?"
    )


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
