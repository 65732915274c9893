"""A load that dies between organizations, then a rerun: no duplicate, no gap."""

from pathlib import Path

import pytest

from connectors.polar.connection import PolarConnection
from orchestration.extract.metrics import ScopeStatus, refresh_metrics
from orchestration.extract.scopes import local_today, metrics_window
from orchestration.warehouse.schema import ALL_SCOPE
from tests.orchestration.conftest import EmulatedPolar, query
from tests.orchestration.helpers import active_org_ids, materialize_raw


class Crash(Exception):
    """Stands for the process dying right after the first organization's commit."""


def crash_after_first(status: ScopeStatus) -> None:
    """The hook that interrupts the load once one scope is committed."""
    raise Crash(status.scope_id)


def test_rerun_after_a_crash_between_organizations_has_no_duplicate_and_no_gap(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    settings = polar.settings()
    connection = PolarConnection.open(settings, "default")
    window = metrics_window(local_today("UTC"), 90)
    with polar.client() as client, pytest.raises(Crash) as crashed:
        refresh_metrics(
            client,
            warehouse_path=warehouse_path,
            connection_name="default",
            organizations=connection.organizations(),
            timezone="UTC",
            window=window,
            concurrency=1,  # one result per write batch: the crash lands between scopes
            after_scope_written=crash_after_first,
        )
    committed = str(crashed.value)
    partial = query(warehouse_path, "select distinct organization_id from raw.polar_metrics")
    assert partial == [(committed,)]  # exactly one scope got in; the rest never started writing

    assert materialize_raw().success

    scopes = [*active_org_ids(warehouse_path), ALL_SCOPE]
    counts = query(
        warehouse_path,
        "select organization_id, count(*), count(distinct (date, metric_slug)), "
        "count(distinct date), min(date), max(date) from raw.polar_metrics group by 1 order by 1",
    )
    assert sorted(row[0] for row in counts) == sorted(scopes)
    for _, rows, distinct, days, first, last in counts:
        assert rows == distinct == days * 55  # no duplicate
        assert (days, first, last) == (90, *window)  # no gap
