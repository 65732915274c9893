"""Single-writer discipline: the whole graph, multiprocess executor, persistent instance."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.polar.partitions import ensure_partition
from orchestration.warehouse.schema import ALL_SCOPE
from tests.orchestration.conftest import EmulatedPolar, emulated_polar, query
from tests.orchestration.warehouse.multiprocess_job import full_refresh_job

REPO_ROOT = Path(__file__).resolve().parents[3]
RUNS = 3
# Step processes fork from a server that already imported the definitions (seconds saved per
# step); they are still separate processes, each opening the DuckDB file itself.
MULTIPROCESS = {
    "execution": {
        "config": {
            "multiprocess": {
                "max_concurrent": 4,
                "start_method": {
                    "forkserver": {
                        "preload_modules": ["tests.orchestration.warehouse.multiprocess_job"]
                    }
                },
            }
        }
    }
}
LOCK_WORDS = ("could not set lock", "conflicting lock", "lock on file")


@pytest.fixture(scope="module")
def polar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """The small `demo` business: this module proves one writer at a time, not volume (three
    whole-graph runs of `default` would page its entire entity history three times)."""
    with emulated_polar(tmp_path_factory.mktemp("state"), scenario="demo") as running:
        yield running


def all_messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Every log message and error text of a run, lower-cased."""
    texts = []
    for record in instance.all_logs(run_id):
        texts.append((record.user_message or "").lower())
        event = record.dagster_event
        if event is not None and event.is_step_failure and event.step_failure_data.error:
            texts.append(event.step_failure_data.error.to_string().lower())
    return texts


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """Keys of the steps that failed in a run."""
    return {
        record.dagster_event.step_key or ""
        for record in instance.all_logs(run_id)
        if record.dagster_event is not None and record.dagster_event.is_step_failure
    }


@pytest.mark.slow
def test_whole_graph_with_multiprocess_executor_never_hits_a_lock(
    polar: EmulatedPolar, warehouse_path: Path, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")  # the shipped pool config
    with dg.DagsterInstance.from_config(str(home)) as instance:
        ensure_partition(instance, "default")
        for _ in range(RUNS):
            result = dg.execute_job(
                dg.reconstructable(full_refresh_job),
                instance=instance,
                run_config=MULTIPROCESS,
                tags={"dagster/partition": "default"},  # the connection's partition
            )
            messages = all_messages(instance, result.run_id)
            assert not [m for m in messages if any(word in m for word in LOCK_WORDS)]
            failed = failed_steps(instance, result.run_id)
            # Raw assets must succeed; a failing dbt data test (not a lock) is reported, not ours.
            assert not failed & {"polar_organizations", "polar_metrics_daily"}, messages[-5:]
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    days = query(
        warehouse_path,
        "select count(distinct date) from raw.polar_metrics where organization_id = ?",
        [ALL_SCOPE],
    )
    assert days == [(90,)]
    assert query(warehouse_path, "select count(*) from raw.polar_refreshes") == [(RUNS,)]
