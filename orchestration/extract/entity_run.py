"""One (organization, entity) sync in progress: the client, the warehouse session, the state
reached so far, and the page writers that store a page together with that state in one
transaction. The warehouse is open only inside those transactions and the reads of stored rows
(session.py), never while a page is awaited from Polar.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from connectors.polar.entities import EntityClient, EntityEndpoint, EntityQuery, parse_datetime
from connectors.polar.pii import PiiPolicy
from orchestration.extract.entity_paging import Item
from orchestration.warehouse import entity_writes as ew
from orchestration.warehouse.session import WarehouseSession


@dataclass(frozen=True)
class SyncPolicy:
    """The tunables: look-back of orders/refunds/cancellations and the customers sweep period."""

    lookback_days: int = 35
    customers_sweep_days: int = 7

    @property
    def lookback(self) -> timedelta:
        """The look-back as a timedelta."""
        return timedelta(days=self.lookback_days)


ProgressHook = Callable[[int, int, int], None]  # (pages read, pages known, rows written)


@dataclass
class EntityRun:
    """One (organization, entity) sync: the client, the warehouse session and the state so far."""

    entities: EntityClient
    session: WarehouseSession
    connection_name: str
    organization_id: str
    endpoint: EntityEndpoint
    policy: SyncPolicy
    pii: PiiPolicy
    now: datetime  # Polar's clock: look-backs and sweeps are measured on it
    state: ew.SyncState
    mode: str = "incremental"
    rows: int = 0
    pages: int = 0
    requests_before: int = 0
    new_fields: set[str] = field(default_factory=set)
    missing_fields: set[str] = field(default_factory=set)
    on_page: ProgressHook | None = None
    inspect_item: Callable[[Item], None] | None = None

    @property
    def entity(self) -> str:
        """The entity name (orders, ...)."""
        return self.endpoint.name

    def query(self, *sorting: str) -> EntityQuery:
        """A query of this organization sorted by `sorting`."""
        return EntityQuery(self.organization_id, sorting)

    def requests(self) -> int:
        """Requests this sync has sent so far."""
        return self.entities.requests(self.endpoint) - self.requests_before

    def write(self, items: list[Item], state: ew.SyncState, page_number: int = 0) -> None:
        """Store one page and the state reached after it, in one transaction."""
        for item in items:
            keys = set(item)
            self.new_fields |= keys - self.endpoint.known_fields
            self.missing_fields |= self.endpoint.required_fields - keys
        scrubbed = [self.pii.scrub(self.entity, item) for item in items]
        self.state = state
        with self.transaction() as con:
            self.rows += ew.upsert_items(
                con,
                self.entity,
                connection_name=self.connection_name,
                organization_id=self.organization_id,
                items=scrubbed,
                fetched_at=datetime.now(UTC),
            )
            self.save_state(con, "running")
        self.pages += 1
        if self.on_page is not None:
            self.on_page(self.pages, page_number, self.rows)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on the warehouse, while no other organization's is open."""
        with self.session.transaction() as con:
            yield con

    def reading(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """The warehouse for reading stored rows (held only for the read)."""
        return self.session.connection()

    def save_state(
        self, con: duckdb.DuckDBPyConnection, status: str, error: str | None = None
    ) -> None:
        """Write the sync state with this sync's outcome so far (inside a transaction)."""
        ew.write_sync_state(
            con,
            connection_name=self.connection_name,
            organization_id=self.organization_id,
            entity=self.entity,
            state=self.state.with_changes(
                requests_total=self.state.requests_total + self.requests()
            ),
            report=self.report(status, error),
            synced_at=datetime.now(UTC),
        )

    def report(self, status: str, error: str | None = None) -> ew.SyncReport:
        """This sync's outcome columns."""
        drift = {"new": sorted(self.new_fields), "missing": sorted(self.missing_fields)}
        return ew.SyncReport(status, self.mode, self.rows, self.requests(), error, drift)

    def finish(
        self,
        state: ew.SyncState,
        also: Callable[[duckdb.DuckDBPyConnection], object] | None = None,
    ) -> None:
        """Store the final state (no resume point) and the outcome `ok`, with `also`, atomically."""
        self.state = state
        with self.transaction() as con:
            if also is not None:
                also(con)
            self.save_state(con, "ok")

    def cursor_writer(self, key: str) -> Callable[[list[Item], dict[str, Any] | None], None]:
        """A page writer that advances the cursor to the newest `key` written (ascending reads)."""

        def write(items: list[Item], resume: dict[str, Any] | None) -> None:
            newest = newest_of(items, key, self.state.cursor_at)
            self.write(items, self.state.with_changes(cursor_at=newest), page_of(resume))

        return write

    def plain_writer(self) -> Callable[[list[Item], dict[str, Any] | None], None]:
        """A page writer that leaves the state as it is."""
        return lambda items, resume: self.write(items, self.state, page_of(resume))


def page_of(resume: dict[str, Any] | None) -> int:
    """The number of the page just written, from the resume point after it (0 = the last)."""
    return int(resume["page"]) - 1 if resume else 0


def newest_of(items: list[Item], key: str, current: datetime | None) -> datetime | None:
    """The newest `key` among the items and `current`."""
    values = [v for v in (parse_datetime(i.get(key)) for i in items) if v is not None]
    if current is not None:
        values.append(current)
    return max(values) if values else None


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text for the resume JSON (None stays None)."""
    return value.isoformat() if value is not None else None
