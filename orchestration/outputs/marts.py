"""Read-only queries on the marts: rows as dicts, organizations, scopes (`all` or one).

Shared by the dashboard, the alerts and `polar-metrics summary`; duckdb and the standard library
only, so the CLI stays fast.
"""

from collections.abc import Sequence
from typing import Any

import duckdb

from connectors.polar.errors import PolarError
from orchestration.outputs.formatting import terminal_safe
from orchestration.warehouse.files import WarehouseNotReadyError
from orchestration.warehouse.schema import ALL_SCOPE


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


def connection_state(con: duckdb.DuckDBPyConnection, connection: str) -> dict[str, Any]:
    """The connection's row of marts.polar_connections: status, last refresh, timezone, and the
    day its data stopped when disconnected (empty when the connection has no row)."""
    rows = fetch_dicts(
        con, "select * from marts.polar_connections where connection_name = ?", [connection]
    )
    return rows[0] if rows else {}


def currency_warning(con: duckdb.DuckDBPyConnection, connection: str) -> str | None:
    """The mismatch warning of marts.polar_currency_check, when it flags one."""
    rows = fetch_dicts(
        con, "select * from marts.polar_currency_check where connection_name = ?", [connection]
    )
    if not rows or not rows[0].get("currency_mismatch"):
        return None
    return str(rows[0]["currency_warning"]) if rows[0].get("currency_warning") else None


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
        known = ", ".join(
            terminal_safe(f"{org['slug']} ({org['name']})")
            for org in organizations(con, connection)
        )
        raise PolarError(
            f"No organization {terminal_safe(scope)!r} in connection {connection!r}; "
            f"known: {known or 'none'} (`polar-metrics status` shows them)."
        )
    return found
