"""The partitioned refresh on a real Dagster deployment: a DAGSTER_HOME instance with the queued
run coordinator, `dagster-daemon run` loading workspace.yaml, three emulated Polar accounts (one
needing re-authorization). The daily schedule launches one run per connection partition through
the queue; the healthy partitions materialize, the other fails with the fix; the automation
sensor then builds the dbt marts exactly once for the whole batch.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

from connectors.polar.config import PolarSettings
from orchestration.cli.headless import connect_headless
from tests.orchestration.conftest import EmulatedPolar, emulated_polar
from tests.orchestration.defs.test_connection_partitions import set_status

pytestmark = pytest.mark.slow  # a daemon, four to six runs in subprocesses and a dbt build
REPO = Path(__file__).resolve().parents[3]
DAEMON = Path(sys.executable).with_name("dagster-daemon")
CONNECTIONS = ("default", "second", "third")
MART = dg.AssetKey(["marts", "polar_metrics_daily"])
TIMEOUT = 900  # seconds, per wait: the machine may be shared and slow
T = TypeVar("T")

DAGSTER_YAML = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 2
  pools:
    default_limit: 1
    granularity: op
telemetry:
  enabled: false
"""


def wait_for(what: str, probe: Callable[[], T | None], describe: Callable[[], str]) -> T:
    """Poll `probe` until it answers; fail naming what never happened and the state seen."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        time.sleep(2)
    pytest.fail(f"timed out after {TIMEOUT} s waiting for {what}; state: {describe()}")


def next_minute_cron(lead_seconds: int = 45) -> str:
    """A daily cron at the first whole minute at least `lead_seconds` from now (UTC).

    One tick, not "every minute": a second batch a minute later would keep raw runs in progress
    and the test would measure two overlapping batches instead of one.
    """
    at = (datetime.now(UTC) + timedelta(seconds=lead_seconds + 60)).replace(second=0)
    return f"{at.minute} {at.hour} * * *"


@pytest.fixture(scope="module")
def three_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedPolar]:
    """`default`, `second` and `third` connected by login_hint; `third` needs re-authorization."""
    with emulated_polar(tmp_path_factory.mktemp("state"), scenario="demo", accounts=3) as polar:
        port = urlsplit(polar.emulator.redirect_uris[0]).port
        settings = PolarSettings.from_env()
        for number, name in enumerate(CONNECTIONS[1:], start=2):
            connect_headless(settings, name, port, login_hint=f"account-{number}@example.com")
        set_status(settings, "third", "needs_reauth")
        yield polar


@pytest.fixture(scope="module")
def daemon_home(
    three_accounts: EmulatedPolar, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """DAGSTER_HOME with the queued coordinator, and `dagster-daemon run` on the workspace."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    # Create the instance's SQLite storage now: the daemon and its code server doing it at once
    # can record two schema heads, and then neither loads.
    with dg.DagsterInstance.from_config(str(home)):
        pass
    env = {
        **os.environ,
        **three_accounts.env,
        "DAGSTER_HOME": str(home),
        "POLAR_METRICS_REFRESH_CRON": next_minute_cron(),
        "POLAR_METRICS_HOURLY_REFRESH": "off",
    }
    log = (home / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(DAEMON), "run", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its code server and run workers are ended with it
    )
    try:
        yield home
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        finally:  # its code servers and run workers too, whatever state they are in
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
            log.close()


@pytest.mark.timeout(3 * TIMEOUT)
def test_schedule_launches_one_queued_run_per_partition_and_dbt_once(
    daemon_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(daemon_home))
    with dg.DagsterInstance.get() as instance:

        def describe() -> str:
            runs = instance.get_runs()
            lines = [f"{r.job_name} {r.tags.get('dagster/partition')} {r.status}" for r in runs]
            tail = (daemon_home / "daemon.log").read_text()[-3000:]
            return "; ".join(lines) + f"\ndaemon log tail:\n{tail}"

        scheduled = RunsFilter(tags={"dagster/schedule_name": "polar_daily_refresh"})

        def batch_finished() -> list[dg.DagsterRun] | None:
            runs = instance.get_runs(filters=scheduled)
            done = len(runs) == len(CONNECTIONS) and all(r.is_finished for r in runs)
            return runs if done else None

        batch = wait_for("the scheduled batch to finish", batch_finished, describe)

        # One run per connected partition, of the raw-only job, through the queue.
        by_partition = {run.tags["dagster/partition"]: run for run in batch}
        assert sorted(by_partition) == sorted(CONNECTIONS)
        assert {run.job_name for run in batch} == {"polar_raw_refresh_job"}
        for run in batch:
            queued = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_ENQUEUED)
            assert queued, f"run of {run.tags['dagster/partition']} did not go through the queue"
        assert by_partition["default"].status == DagsterRunStatus.SUCCESS, describe()
        assert by_partition["second"].status == DagsterRunStatus.SUCCESS, describe()
        assert by_partition["third"].status == DagsterRunStatus.FAILURE, describe()
        for name in ("default", "second"):
            partitions = instance.get_materialized_partitions(dg.AssetKey("polar_metrics_daily"))
            assert name in partitions, f"{name} not materialized: {partitions}"
        failures = instance.all_logs(
            by_partition["third"].run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        )
        messages = [event.dagster_event.step_failure_data.error.message for event in failures]
        assert any("polar-metrics connect --connection third" in m for m in messages), messages

        # The automation sensor: one dbt build after the batch, not one per partition.
        def mart_built() -> list[dg.EventLogRecord] | None:
            records = instance.fetch_materializations(MART, limit=10).records
            return records or None

        (built,) = wait_for("the dbt marts after the batch", mart_built, describe)
        last_end = max(instance.get_run_record_by_id(r.run_id).end_time or 0 for r in batch)
        assert built.timestamp >= last_end, "dbt ran before the batch had finished"
        dbt_run = instance.get_run_by_id(built.run_id)
        assert dbt_run is not None
        assert dbt_run.tags.get("dagster/sensor_name") == "polar_downstream_automation"

        def finished(run_id: str = built.run_id) -> bool:
            run = instance.get_run_by_id(run_id)
            return run is not None and run.is_finished

        wait_for("the dbt and outputs run to finish", finished, describe)
        time.sleep(70)  # two more sensor intervals: no second build of the same batch
        records = instance.fetch_materializations(MART, limit=10).records
        assert len(records) == 1, f"dbt built {len(records)} times for one batch"
        dashboards = instance.fetch_materializations(dg.AssetKey("polar_dashboard"), limit=10)
        assert [r.run_id for r in dashboards.records] == [built.run_id], describe()
