"""While an entity sync pages against a slow Polar, a writer in another process gets the
warehouse within a short bounded wait, and the sync goes on writing after it: the sync holds
the file for its reads and writes, not while it waits for Polar (warehouse/session.py).
Before the session, the sync kept the file open for all of its paging and this writer timed out.
"""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from connectors.polar.connection import PolarConnection
from orchestration.extract.entities import EntityProgress, sync_entity
from orchestration.extract.entity_run import SyncPolicy
from tests.fake_polar.fixtures import TEST_PII
from tests.orchestration.conftest import EmulatedPolar, query

REPO = Path(__file__).resolve().parents[3]
LATENCY_MS = 3000  # every page of the sync waits this long for the emulator
WRITER_WAIT_SECONDS = 10  # the other writer's bound (it would time out while the sync pages)
# A write of one page and the handover (the session's watcher and the waiter each poll every
# 50 ms) take a fraction of this, even on a loaded machine; one request takes LATENCY_MS.
HANDOVER_BOUND_SECONDS = 2.0
# Another polar-metrics writer: imports first, then on "go" opens the warehouse and writes.
OTHER_WRITER = """
import sys, time
from pathlib import Path
from orchestration.warehouse.files import open_warehouse
print("ready", flush=True)
sys.stdin.readline()
started = time.monotonic()
with open_warehouse(Path(sys.argv[1])) as con:
    waited = time.monotonic() - started
    con.execute("create table other_writer as select 1 as n")
print(f"{waited:.3f}", flush=True)
"""


class Stop(BaseException):
    """Ends the sync once the property is shown (the orders of `acme` are many pages)."""


def test_another_process_writes_while_an_entity_sync_waits_for_polar(
    polar: EmulatedPolar, warehouse_path: Path
) -> None:
    organizations = PolarConnection.open(polar.settings(), "default").organizations()
    polar.faults(latency_ms=LATENCY_MS)
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_WRITER, str(warehouse_path)],
        cwd=REPO,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "POLAR_METRICS_WRITER_WAIT_SECONDS": str(WRITER_WAIT_SECONDS),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline().strip() == "ready"
    committed: list[float] = []  # when each page was committed
    other_finished = threading.Event()

    def on_progress(_: EntityProgress) -> None:
        committed.append(time.monotonic())
        if other_finished.is_set():
            raise Stop  # it wrote a page after the other writer: shown, no need to page on

    def sync() -> None:
        with polar.client() as client:
            try:
                sync_entity(
                    client,
                    warehouse_path=warehouse_path,
                    connection_name="default",
                    organizations=organizations,
                    entity="orders",
                    policy=SyncPolicy(),
                    pii=TEST_PII,
                    on_progress=on_progress,
                    concurrency=2,
                )
            except Stop:
                pass

    syncing = threading.Thread(target=sync)
    syncing.start()
    try:
        deadline = time.monotonic() + 120
        while not committed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert committed, "the sync committed a first page"
        other.stdin.write("go\n")  # the sync is now between pages, waiting for the emulator
        other.stdin.flush()
        waited_line = other.stdout.readline().strip()
        finished_at = time.monotonic()
        other_finished.set()
        assert other.wait(30) == 0, other.stderr.read()  # WriterLockTimeout before the session
    finally:
        other_finished.set()
        if other.poll() is None:
            other.kill()
        syncing.join(120)
    assert float(waited_line) < HANDOVER_BOUND_SECONDS
    assert any(at > finished_at for at in committed), "the sync wrote on after the other writer"
    assert query(warehouse_path, "select n from other_writer") == [(1,)]
    assert query(warehouse_path, "select count(*) > 0 from raw.polar_orders") == [(True,)]
