"""The organizations a connection sees, and the connection's state, recorded in the warehouse."""

from datetime import UTC, datetime
from pathlib import Path

from connectors.polar.records import Organization
from orchestration.extract.scopes import MetricsClient
from orchestration.warehouse import writes
from orchestration.warehouse.files import open_warehouse, transaction


def sync_organizations(
    client: MetricsClient,
    *,
    warehouse_path: Path,
    connection_name: str,
    environment: str,
    connection_status: str,
) -> list[Organization]:
    """Every organization the connection sees now, stored with the connection's state."""
    organizations = client.list_organizations()
    now = datetime.now(UTC)
    with open_warehouse(warehouse_path, bounded_memory=True) as con, transaction(con):
        writes.write_connection(
            con,
            connection_name=connection_name,
            environment=environment,
            status=connection_status,
            updated_at=now,
        )
        writes.write_organizations(
            con,
            connection_name=connection_name,
            organizations=[{**o.to_dict(), "is_queried": o.is_queried} for o in organizations],
            discovered_at=now,
        )
    return organizations


def record_connection_status(
    warehouse_path: Path, *, connection_name: str, environment: str, status: str
) -> None:
    """Store the connection's state alone (e.g. `needs_reauth`) so the dashboard can say so."""
    with open_warehouse(warehouse_path, bounded_memory=True) as con, transaction(con):
        writes.write_connection(
            con,
            connection_name=connection_name,
            environment=environment,
            status=status,
            updated_at=datetime.now(UTC),
        )
