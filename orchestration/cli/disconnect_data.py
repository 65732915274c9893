"""What `disconnect` does to the stored data: mark it disconnected, or purge it (`--purge`)."""

import os

from connectors.polar.config import PolarSettings
from orchestration.extract.organizations import record_connection_status
from orchestration.warehouse.files import open_read_only
from orchestration.warehouse.purge import purge_connection, rows_to_purge
from orchestration.warehouse.serving import (
    publish_serving_copy,
    serving_path_for,
    tenant_serving_path_for,
)
from orchestration.warehouse.tenant_copies import remove_tenant_copy

DISCONNECTED = "disconnected"


def mark_disconnected(settings: PolarSettings, name: str) -> int:
    """Record `disconnected` and rebuild the marts, serving copy and dashboard from stored data."""
    from orchestration.cli.runner import DOWNSTREAM_JOB, run_refresh

    path = settings.warehouse_path
    if not path.exists():
        return 0
    record_connection_status(
        path, connection_name=name, environment=settings.environment.name, status=DISCONNECTED
    )
    os.environ.setdefault("POLAR_METRICS_WAREHOUSE", str(path))  # dbt's path must agree
    print("Rebuilding the marts and the dashboard from the stored data...")
    report = run_refresh(connection_name=name, job_name=DOWNSTREAM_JOB)
    for step, error in report.failed_steps.items():
        print(f"  step failed: {step}: {error}")
    if not report.success:
        return 1
    stopped = _data_stopped_on(settings, name)
    print(
        f"The marts and the dashboard show {name!r} as disconnected"
        + (f"; its data stops on {stopped}." if stopped else ".")
    )
    print(f"To delete its data: polar-metrics disconnect --connection {name} --purge --yes")
    return 0


def print_purge_plan(settings: PolarSettings, name: str) -> int:
    """Without --yes: what a purge would delete and how to confirm; nothing is changed."""
    counts = rows_to_purge(settings.warehouse_path, name)
    if counts:
        print(f"--purge would disconnect {name!r} and delete {sum(counts.values())} row(s):")
        for table, count in counts.items():
            print(f"  {table}: {count}")
        print(f"and republish the serving copy {serving_path_for(settings.warehouse_path)}.")
    else:
        print(f"--purge would disconnect {name!r}; the warehouse holds no row of it.")
    print(
        f"Nothing was changed. To confirm: polar-metrics disconnect --connection {name} "
        "--purge --yes"
    )
    return 1


def purge_data(settings: PolarSettings, name: str) -> int:
    """Delete every row of the connection, then republish the serving copy without them."""
    path = settings.warehouse_path
    counts = purge_connection(path, name)
    print(f"Deleted {sum(counts.values())} row(s) of {name!r} from {len(counts)} table(s).")
    serving = serving_path_for(path)
    if serving.exists():
        publish_serving_copy(path, serving)
        print(f"Republished the serving copy {serving} without them.")
    tenant = tenant_serving_path_for(path, name)
    if remove_tenant_copy(tenant):
        print(f"Deleted the connection's own serving file {tenant}.")
    return 0


def _data_stopped_on(settings: PolarSettings, name: str) -> object:
    with open_read_only(settings.warehouse_path) as con:
        row = con.execute(
            "select data_stopped_on from marts.polar_connections where connection_name = ?",
            [name],
        ).fetchone()
    return row[0] if row else None
