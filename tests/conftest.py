"""How the suite splits over parallel workers (`make test` runs pytest-xdist, `--dist loadgroup`).

Each worker builds its own fixtures, so a fixture shared by many tests must see all of them on
one worker or it is built once per worker: tests are grouped by module (module-scoped emulators
and warehouses are built once), and every test that reads one of the session's built warehouses
joins that warehouse's group. The groups that take longest are started first, so no worker is
left with a long group at the end.
"""

from typing import Any

import pytest

# Session fixtures that build a whole warehouse: every test using one runs on the same worker.
SHARED_WAREHOUSES = ("pipeline", "synthetic_warehouse", "demo_business")
# The first test of such a group also builds the warehouse (a few minutes when the machine is
# shared): it gets this timeout instead of pyproject's per-test one.
BUILDING_TIMEOUT = 900
# Groups that take the longest, longest first (a profile of `make test`, December 2026: these
# twelve were two thirds of its time): handed out first, so the many short groups fill in at the
# end and neither worker is left alone with a long one.
LONGEST_FIRST = (
    "pipeline",
    "tests/orchestration/cli/test_refresh_terminal.py",
    "tests/connectors/polar_emulator/test_entities_clock.py",
    "tests/orchestration/extract/test_entity_sync.py",
    "tests/orchestration/extract/test_entity_sync_emulator.py",
    "tests/dbt/test_dagster_wiring.py",
    "tests/dbt/test_entity_reconciliation.py",
    "tests/dbt/test_invariants_fail_the_build.py",
    "synthetic_warehouse",
    "tests/orchestration/extract/test_entity_failures.py",
    "tests/connectors/polar_emulator/test_entities_match_metrics.py",
    "tests/dbt/test_subscription_analytics_emulator.py",
    "demo_business",
)


def xdist_group_of(item: pytest.Item) -> str:
    """The shared warehouse the test reads, else its module."""
    for fixture in SHARED_WAREHOUSES:
        if fixture in item.fixturenames:
            return fixture
    return item.nodeid.split("::")[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (its hook would run first)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its group (an explicit `xdist_group` mark wins); longest groups first."""
    groups = {}
    for item in items:
        marker = item.get_closest_marker("xdist_group")
        if marker is None:
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))
            groups[item.nodeid] = xdist_group_of(item)
        else:
            groups[item.nodeid] = marker.args[0] if marker.args else marker.kwargs.get("name")
    rank = {group: index for index, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(groups[item.nodeid], len(rank)))
    builders = {}
    for item in items:
        builders.setdefault(groups[item.nodeid], item)
    for group in SHARED_WAREHOUSES:
        first = builders.get(group)
        if first is not None and first.get_closest_marker("timeout") is None:
            first.add_marker(pytest.mark.timeout(BUILDING_TIMEOUT))


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under `--dist loadgroup`, stop if xdist dropped the groups: every module and shared
    warehouse would be built on each worker (it did, silently, with pytest 9.2: pytest-xdist
    issue 1386)."""
    ungrouped = [nodeid for nodeid in ids if "@" not in nodeid]
    if ungrouped and node.config.getvalue("dist") == "loadgroup":
        pytest.exit(
            f"pytest-xdist ignored the test groups (e.g. {ungrouped[0]}): this pytest and "
            "pytest-xdist do not work together; install the versions of uv.lock (`make venv`).",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
