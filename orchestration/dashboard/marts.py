"""Read-only access to the marts: open the warehouse, run a query, find organizations.

Shared by the dashboard, the alerts and `polar-metrics summary`; duckdb and the standard library
only, so the CLI stays fast.
"""

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from connectors.polar.errors import PolarError

ALL_SCOPE = "all"


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
# (`orchestration.warehouse.MIGRATIONS`); readers only check it. Kept here, not in the writer's
# module, because readers must not import pandas (the summary answers in well under a second).
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


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict]:
    """Rows of a query as dicts; a missing mart becomes WarehouseNotReadyError."""
    try:
        cursor = con.execute(sql, list(params))
    except duckdb.CatalogException as error:
        raise WarehouseNotReadyError(
            f"The marts are not built yet ({error}). Run `polar-metrics refresh` first."
        ) from None
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def organizations(con: duckdb.DuckDBPyConnection, connection: str) -> list[dict[str, Any]]:
    """Every organization of the connection (marts.polar_organizations), active ones first."""
    rows = fetch_dicts(
        con, "select * from marts.polar_organizations where connection_name = ?", [connection]
    )
    found = [
        {
            "id": str(row["organization_id"]),
            "name": str(_first(row, "organization_name", "name") or ""),
            "slug": str(_first(row, "organization_slug", "slug") or ""),
            "status": str(_first(row, "organization_status", "status") or ""),
            "currency": str(
                _first(row, "presentment_currency", "default_presentment_currency") or ""
            ),
            "is_queried": bool(row.get("is_queried")),
        }
        for row in rows
    ]
    return sorted(found, key=lambda org: (not org["is_queried"], org["name"].lower(), org["id"]))


def _first(row: dict[str, Any], *names: str) -> Any:
    return next((row[name] for name in names if row.get(name) is not None), None)


def find_scope(con: duckdb.DuckDBPyConnection, connection: str, scope: str) -> str | None:
    """`all`, or the organization id for an id or slug; None when there is no such one."""
    if scope == ALL_SCOPE:
        return scope
    matches = [
        org["id"] for org in organizations(con, connection) if scope in (org["id"], org["slug"])
    ]
    return matches[0] if matches else None


def resolve_scope(con: duckdb.DuckDBPyConnection, connection: str, scope: str) -> str:
    """Like find_scope, with a clear error for an unknown organization."""
    found = find_scope(con, connection, scope)
    if found is None:
        raise PolarError(
            f"No organization {scope!r} in connection {connection!r}; "
            "`polar-metrics status` lists them."
        )
    return found
