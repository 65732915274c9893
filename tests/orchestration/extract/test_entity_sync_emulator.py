"""The real entity sync against the real emulator over loopback (its `demo` business): an
incremental sync after the emulator's clock moved 1, 7 and 40 days equals a full re-sync row for
row, and a crash mid-sync (a committed page then the process dying, or the emulator failing every
request from some page on) then a rerun leaves no duplicate and no gap."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.polar.records import Organization
from connectors.polar.retry import Backoff
from orchestration.extract.entities import (
    ENTITY_ORDER,
    EntityProgress,
    EntitySyncOutcome,
    sync_entity,
)
from orchestration.extract.entity_run import SyncPolicy
from tests.fake_polar.fixtures import TEST_PII
from tests.orchestration.conftest import EmulatedPolar, emulated_polar
from tests.orchestration.extract.entity_helpers import rows, snapshot, stored_ids

# A fixed business "now" (the demo business is relative to it), so nothing happens between two
# syncs unless the test moves the emulator's clock.
BUSINESS_NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SWEEP_DAYS = SyncPolicy().customers_sweep_days


@dataclass
class Emulated:
    """The running emulator and what the sync needs from it."""

    polar: EmulatedPolar
    organizations: list[Organization]

    def now(self) -> datetime:
        """Polar's clock: the emulator's business clock (moved by the clock control)."""
        clock = self.polar.control("GET", "clock")["now"]
        return datetime.fromisoformat(clock.replace("Z", "+00:00"))

    def advance(self, days: int) -> None:
        """Let `days` of business happen."""
        self.polar.control("POST", "clock", {"advance_days": days})

    def sync(
        self,
        path: Path,
        entities: tuple[str, ...] = ENTITY_ORDER,
        on_progress: Callable[[EntityProgress], None] | None = None,
    ) -> dict[str, EntitySyncOutcome]:
        """The real sync of `entities`, in the pipeline's order, into `path`."""
        outcomes = {}
        with self.polar.client() as client:
            for entity in entities:
                outcomes[entity] = sync_entity(
                    client,
                    warehouse_path=path,
                    connection_name="default",
                    organizations=self.organizations,
                    entity=entity,
                    policy=SyncPolicy(),
                    pii=TEST_PII,
                    on_progress=on_progress,
                    now=self.now,
                    concurrency=2,
                )
        return outcomes

    def listed_ids(self, entity: str) -> set[str]:
        """Every id the emulator lists now for the active organizations."""
        ids: set[str] = set()
        with self.polar.client() as client:
            for organization in self.organizations:
                if not organization.is_queried:
                    continue
                page = 1
                while True:
                    answer = client.get_json(
                        f"/v1/{entity}/",
                        {"organization_id": organization.id, "limit": 100, "page": page},
                    )
                    ids |= {item["id"] for item in answer["items"]}
                    if page >= answer["pagination"]["max_page"]:
                        break
                    page += 1
        return ids


@pytest.fixture(scope="module")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulated]:
    """The `demo` business at a fixed now, rate limit off, connected through OAuth."""
    state = tmp_path_factory.mktemp("state")
    with emulated_polar(state, "demo", rate_limit_per_minute=None, now=BUSINESS_NOW) as polar:
        with polar.client() as client:
            organizations = client.list_organizations()
        assert sum(o.is_queried for o in organizations) == 2
        yield Emulated(polar, organizations)


def current_rows(
    listed: set[str], path: Path, entity: str, *, swept: bool
) -> list[tuple[object, ...]]:
    """The rows of what Polar still lists. Deleted customers and products stay, marked with
    `missing_since` by the first full sweep that no longer sees them (`swept`): a daily sync
    between two sweeps cannot know about a deletion yet."""
    kept = [row for row in snapshot(path, entity) if row[2] in listed]  # (connection, org, id..)
    gone = stored_ids(path, entity) - listed
    assert not gone or entity in ("customers", "products"), (entity, sorted(gone)[:5])
    if gone and swept:
        unmarked = rows(
            path,
            f"select id from raw.polar_{entity} where missing_since is null",
        )
        assert gone.isdisjoint(r[0] for r in unmarked), (entity, sorted(gone)[:5])
    return kept


def test_incremental_after_1_7_and_40_days_equals_a_full_resync_row_for_row(
    emulated: Emulated, tmp_path: Path
) -> None:
    incremental = tmp_path / "incremental.duckdb"
    emulated.sync(incremental)
    for days in (1, 7, 40):
        before = {e: len(stored_ids(incremental, e)) for e in ENTITY_ORDER}
        emulated.advance(days)
        emulated.sync(incremental)
        fresh = tmp_path / f"fresh-{days}.duckdb"
        emulated.sync(fresh)
        for entity in ENTITY_ORDER:
            listed = emulated.listed_ids(entity)
            current = current_rows(listed, incremental, entity, swept=days >= SWEEP_DAYS)
            assert_same_rows(current, snapshot(fresh, entity), days, entity)
            assert stored_ids(fresh, entity) == listed, (days, entity)
        grown = {e: len(stored_ids(incremental, e)) - before[e] for e in ENTITY_ORDER}
        assert grown["orders"] > 0 and grown["subscriptions"] > 0, (days, grown)
        modes = rows(incremental, "select distinct last_mode from raw.polar_entity_sync")
        assert ("incremental",) in modes, modes


def assert_same_rows(
    got: list[tuple[object, ...]], want: list[tuple[object, ...]], days: int, entity: str
) -> None:
    """Equal rows, or which ids are missing, extra or different (and in which values)."""
    if got == want:
        return
    by_id_got = {row[2]: row for row in got}
    by_id_want = {row[2]: row for row in want}
    differing = {
        key: [(a, b) for a, b in zip(by_id_got[key], row, strict=True) if a != b]
        for key, row in by_id_want.items()
        if key in by_id_got and by_id_got[key] != row
    }
    raise AssertionError(
        f"after {days} day(s), {entity}: missing {sorted(set(by_id_want) - set(by_id_got))[:5]}, "
        f"extra {sorted(set(by_id_got) - set(by_id_want))[:5]}, "
        f"{len(differing)} different, e.g. {list(differing.items())[:2]}"
    )


class Crash(BaseException):
    """Stands for the process dying right after a page was committed."""


@pytest.mark.parametrize("entity", ["orders", "customers", "subscriptions"])
def test_a_crash_after_committed_pages_then_a_rerun_leaves_no_duplicate_and_no_gap(
    emulated: Emulated, tmp_path: Path, entity: str
) -> None:
    path = tmp_path / "w.duckdb"
    before = ("products",) if entity == "customers" else ("products", "customers")
    emulated.sync(path, before)  # what the pipeline syncs before this entity

    def die_after_two_pages(progress: EntityProgress) -> None:
        if progress.entity == entity and progress.pages_read >= 2:
            raise Crash(progress.describe())

    with pytest.raises(Crash):
        emulated.sync(path, (entity,), on_progress=die_after_two_pages)
    assert 0 < len(stored_ids(path, entity)) < len(emulated.listed_ids(entity))
    emulated.sync(path, (entity,))
    assert_complete_and_unique(emulated, path, entity, tmp_path / "fresh.duckdb")


def test_the_emulator_failing_mid_sync_then_a_rerun_leaves_no_duplicate_and_no_gap(
    emulated: Emulated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Backoff, "delay", lambda self, failed_attempts: 0.0)  # retries, no wait
    path = tmp_path / "w.duckdb"
    emulated.sync(path, ("products", "customers", "subscriptions", "refunds"))

    def fail_everything_after_three_pages(progress: EntityProgress) -> None:
        if progress.pages_read == 3:  # from here on every request fails, retries included
            emulated.polar.faults(fail_next={"count": 10_000, "status": 500})

    try:
        outcome = emulated.sync(path, ("orders",), on_progress=fail_everything_after_three_pages)
    finally:
        emulated.polar.control("DELETE", "faults")
    assert outcome["orders"].failed, "the injected failure should fail the sync"
    assert 0 < len(stored_ids(path, "orders")) < len(emulated.listed_ids("orders"))
    statuses = rows(path, "select last_status from raw.polar_entity_sync where entity = 'orders'")
    assert ("failed",) in statuses
    emulated.sync(path, ("orders",))
    assert_complete_and_unique(emulated, path, "orders", tmp_path / "fresh.duckdb")


def assert_complete_and_unique(emulated: Emulated, path: Path, entity: str, fresh: Path) -> None:
    """Every listed item stored once, and the rows equal a fresh full sync's."""
    ids = [r[0] for r in rows(path, f"select id from raw.polar_{entity}")]
    assert len(ids) == len(set(ids))
    assert set(ids) == emulated.listed_ids(entity)
    emulated.sync(fresh, ("products", "customers", entity) if entity != "customers" else (entity,))
    assert snapshot(path, entity) == snapshot(fresh, entity)
