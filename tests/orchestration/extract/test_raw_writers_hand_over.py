"""Every writer of a refresh's raw phase closes the warehouse without a checkpoint
(bounded_writer.HANDOVER_WITHOUT_CHECKPOINT). One writer that checkpoints at its close does it
for all the WAL that other workers' handovers left, outside the refresh's memory bound: the
organizations' write did (a `refresh --all` worker went from 450 to 573 MB RSS there). So each
raw-phase writer is run after a WAL exists, and the WAL must still be there after it."""

from datetime import date
from pathlib import Path

from connectors.polar.records import Organization
from orchestration.extract.organizations import record_connection_status, sync_organizations
from orchestration.extract.recheck import recheck_window
from orchestration.warehouse.files import open_read_only
from orchestration.warehouse.session import WarehouseSession


class OneOrganization:
    def list_organizations(self) -> list[Organization]:
        return [Organization("org-1", "Shop", "shop", "active", "usd")]


def test_organizations_status_and_recheck_leave_the_wal_to_the_threshold(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    wal = path.with_name(path.name + ".wal")
    with WarehouseSession(path, bounded_memory=True) as session, session.transaction() as con:
        con.execute("create table raw.handed_over as select range as n from range(1000)")
    assert wal.exists()  # another worker's handover: committed, not yet in the file

    sync_organizations(
        OneOrganization(),  # type: ignore[arg-type]
        warehouse_path=path,
        connection_name="shop",
        environment="sandbox",
        connection_status="active",
    )
    assert wal.exists(), "the organizations' write checkpointed the WAL at its close"
    record_connection_status(path, connection_name="shop", environment="sandbox", status="active")
    assert wal.exists(), "the connection status write checkpointed the WAL at its close"
    recheck_window(
        path, "shop", (date(2026, 11, 1), date(2026, 12, 1)), every_days=7, recheck_days=90
    )
    assert wal.exists(), "the re-check's read checkpointed the WAL at its close"

    with open_read_only(path) as reader:  # and everything is there for a reader
        assert reader.execute("select count(*) from raw.handed_over").fetchone() == (1000,)
        assert reader.execute("select name from raw.polar_organizations").fetchall() == [("Shop",)]
