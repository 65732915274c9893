"""dbt's unit tests (the movements of subscription MRR, the intervals, the currencies; yml files
under dbt_project/models) run here, once per test run: a refresh's `dbt build` leaves them out
(BUILD_ARGS), since they check the SQL against fixed inputs and cannot fail on Polar's data."""

from pathlib import Path

from tests.dbt.conftest import BuiltWarehouse
from tests.dbt.dbt_runner import DbtSession


def test_every_dbt_unit_test_runs_and_passes(
    dbt_session: DbtSession, synthetic_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    declared = {test.name for test in dbt_session.manifest.unit_tests.values()}
    assert len(declared) >= 20, declared  # the project's unit tests were found
    outcome = dbt_session.invoke(
        ["test", "--select", "test_type:unit"], synthetic_warehouse.path, tmp_path
    )
    ran = {name: s for name, s in outcome.statuses.items() if name in declared}  # no run-end hook
    assert set(ran) == declared
    failing = {name: outcome.messages[name] for name, status in ran.items() if status != "pass"}
    assert outcome.success and not failing, failing


def test_a_refresh_builds_every_data_test_and_no_unit_test(
    dbt_session: DbtSession, synthetic_warehouse: BuiltWarehouse
) -> None:
    built = set(synthetic_warehouse.build.statuses)  # the build of BUILD_ARGS, as a refresh runs
    manifest = dbt_session.manifest
    data_tests = {n.name for n in manifest.nodes.values() if n.resource_type == "test"}
    unit_tests = {test.name for test in manifest.unit_tests.values()}
    assert data_tests and data_tests <= built
    assert not unit_tests & built, sorted(unit_tests & built)
