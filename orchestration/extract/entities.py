"""Sync one entity (products, customers, subscriptions, orders or refunds) of every active
organization into its raw table: incremental, resumable, one organization at a time.

A failure in one organization keeps its previous rows and progress and never stops the others;
a missing scope is reported once (it is the same token for every organization) with the fix.
"""

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from connectors.polar.client import PolarClient
from connectors.polar.entities import ENDPOINTS, EntityClient, MissingScopeError
from connectors.polar.errors import EndpointNotServedError, NeedsReauthError
from connectors.polar.pii import PiiPolicy
from connectors.polar.records import Organization
from orchestration.extract.entity_run import EntityRun, SyncPolicy
from orchestration.extract.entity_sync import STRATEGIES
from orchestration.warehouse import entity_writes as ew
from orchestration.warehouse.bounded_writer import memory_unbounded
from orchestration.warehouse.session import WarehouseSession

log = logging.getLogger(__name__)
# The CLI prints this logger's lines (`polar-metrics refresh` progress); Dagster logs them too.
PROGRESS_LOGGER = "polar_metrics.sync_progress"
ENTITY_ORDER = ("products", "customers", "subscriptions", "refunds", "orders")
# Entities whose items carry personal data (customers, and the customer embedded in the others).
PERSONAL_ENTITIES = frozenset({"customers", "subscriptions", "orders"})
# Stored items rewritten per statement when the PII policy changes: bounds what is held at once
# (40,000 orders of ~3 KB: 2.4 GB peak RSS read and written at once, 0.43 GB in chunks of 1,000).
REWRITE_CHUNK = 1000


@dataclass(frozen=True)
class EntityProgress:
    """One page written: which entity and organization, how far, how many rows so far."""

    entity: str
    organization: str
    pages_read: int
    page_number: int
    rows: int

    def describe(self) -> str:
        """A progress line for people."""
        return (
            f"{self.entity} {self.organization}: {self.pages_read} page(s), "
            f"{self.rows} row(s) written"
        )


@dataclass
class OrganizationSync:
    """How one organization's sync of the entity ended."""

    organization_id: str
    label: str
    status: str  # ok | missing_scope | not_served | failed
    mode: str = ""
    rows: int = 0
    requests: int = 0
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class EntitySyncOutcome:
    """One entity across the organizations: statuses, drift, missing scope."""

    entity: str
    connection_name: str
    organizations: list[OrganizationSync] = field(default_factory=list)
    new_fields: set[str] = field(default_factory=set)
    missing_fields: set[str] = field(default_factory=set)
    missing_scope: str | None = None
    scope_error: str | None = None

    @property
    def rows(self) -> int:
        """Rows written over all organizations."""
        return sum(o.rows for o in self.organizations)

    @property
    def requests(self) -> int:
        """Requests spent over all organizations."""
        return sum(o.requests for o in self.organizations)

    @property
    def failed(self) -> list[OrganizationSync]:
        """Organizations that failed for another reason than scope or an unserved endpoint."""
        return [o for o in self.organizations if o.status == "failed"]

    @property
    def drift(self) -> dict[str, list[str]]:
        """Fields Polar sent that its schema lacks (`new`) and schema fields it left out."""
        return {"new": sorted(self.new_fields), "missing": sorted(self.missing_fields)}


def sync_entity(
    client: PolarClient,
    *,
    warehouse_path: Path,
    connection_name: str,
    organizations: Sequence[Organization],
    entity: str,
    policy: SyncPolicy,
    pii: PiiPolicy,
    on_progress: Callable[[EntityProgress], None] | None = None,
    now: Callable[[], datetime] | None = None,
    concurrency: int = 1,
) -> EntitySyncOutcome:
    """Sync `entity` for every active organization, `concurrency` at a time (pages are fetched
    in parallel, written one transaction at a time); `now` is Polar's clock (default: ours)."""
    entities = EntityClient(client)
    outcome = EntitySyncOutcome(entity, connection_name)
    active = [o for o in organizations if o.is_queried]
    workers = max(1, min(concurrency, len(active)))
    # The threads share one session: the file is open for their reads and writes and let go
    # between them when another process's writer waits (session.py).
    with (
        WarehouseSession(warehouse_path, bounded_memory=True) as session,
        ThreadPoolExecutor(workers, thread_name_prefix=f"sync-{entity}") as pool,
    ):

        def sync_organization(organization: Organization) -> _Done:
            if outcome.missing_scope is not None:
                return _Done(_skipped(organization, outcome), None)
            run = _start(session, entities, connection_name, organization, entity, policy, pii, now)
            if on_progress is not None:
                run.on_page = _progress_hook(on_progress, entity, organization)
            return _Done(_sync_one(run, organization, outcome), run)

        done = list(pool.map(sync_organization, active))
    for result in done:
        outcome.organizations.append(result.status)
        if result.run is not None:
            outcome.new_fields |= result.run.new_fields
            outcome.missing_fields |= result.run.missing_fields
    return outcome


@dataclass(frozen=True)
class _Done:
    status: OrganizationSync
    run: EntityRun | None


def _start(
    session: WarehouseSession,
    entities: EntityClient,
    connection_name: str,
    organization: Organization,
    entity: str,
    policy: SyncPolicy,
    pii: PiiPolicy,
    now: Callable[[], datetime] | None,
) -> EntityRun:
    endpoint = ENDPOINTS[entity]
    with session.connection() as con:
        stored = ew.read_sync_state(con, connection_name, organization.id, entity)
    state = stored or ew.SyncState()
    run = EntityRun(
        entities, session, connection_name, organization.id, endpoint, policy, pii,
        now() if now is not None else datetime.now(UTC), state,
        requests_before=entities.requests(endpoint),
    )  # fmt: skip
    if state.pii_signature != pii.signature:
        _apply_new_pii_policy(run)
    return run


def _apply_new_pii_policy(run: EntityRun) -> None:
    """A new PII mode or key: stored rows are rewritten under it and everything is re-read."""
    had_rows = run.state.pii_signature is not None
    if not had_rows or run.entity not in PERSONAL_ENTITIES:
        run.state = run.state.with_changes(pii_signature=run.pii.signature)
        return
    run.state = ew.SyncState(
        requests_total=run.state.requests_total, pii_signature=run.pii.signature
    )
    log.warning(
        "%s: the PII policy changed; rewriting stored rows, then a full re-read", run.entity
    )
    with run.transaction() as con, memory_unbounded(con):
        after = ""
        while chunk := ew.stored_items(
            con, run.entity, run.connection_name, run.organization_id, after, REWRITE_CHUNK
        ):
            ew.upsert_items(
                con,
                run.entity,
                connection_name=run.connection_name,
                organization_id=run.organization_id,
                items=[run.pii.scrub(run.entity, item) for item in chunk],
                fetched_at=datetime.now(UTC),
            )
            after = str(chunk[-1]["id"])
        run.save_state(con, "running")


def _sync_one(
    run: EntityRun, organization: Organization, outcome: EntitySyncOutcome
) -> OrganizationSync:
    label = organization.name or organization.slug or organization.id
    started = time.monotonic()
    status, error = "ok", None
    try:
        STRATEGIES[run.entity](run)
    except NeedsReauthError:
        raise
    except MissingScopeError as missing:
        status, error = "missing_scope", str(missing)
        outcome.missing_scope, outcome.scope_error = missing.scope, str(missing)
    except EndpointNotServedError as unserved:
        status, error = "not_served", str(unserved)
    except Exception as failure:  # one organization's failure never sinks the others
        status, error = "failed", f"{type(failure).__name__}: {failure}"
        log.warning("%s of %s (%s) failed: %s", run.entity, label, organization.id, error)
    if status != "ok":
        with run.transaction() as con:
            run.save_state(con, status, error)
    if run.missing_fields:
        log.warning("%s: fields missing from Polar's items: %s", run.entity, run.missing_fields)
    return OrganizationSync(
        organization.id, label, status, run.mode, run.rows, run.requests(), run.pages,
        round(time.monotonic() - started, 3), error,
    )  # fmt: skip


def _skipped(organization: Organization, outcome: EntitySyncOutcome) -> OrganizationSync:
    """No request: the token lacks the scope for every organization alike."""
    label = organization.name or organization.slug or organization.id
    return OrganizationSync(organization.id, label, "missing_scope", error=outcome.scope_error)


def _progress_hook(
    on_progress: Callable[[EntityProgress], None], entity: str, organization: Organization
) -> Callable[[int, int, int], None]:
    label = organization.name or organization.slug or organization.id

    def hook(pages_read: int, page_number: int, rows: int) -> None:
        on_progress(EntityProgress(entity, label, pages_read, page_number, rows))

    return hook


def organization_table_markdown(outcome: EntitySyncOutcome) -> str:
    """Per-organization status as a Markdown table (Dagster metadata)."""
    lines = [
        "| organization | id | status | mode | rows | requests | error |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcome.organizations:
        label = o.label.replace("|", "\\|")
        error = (o.error or "").replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {label} | `{o.organization_id}` | {o.status} | {o.mode} | {o.rows} | "
            f"{o.requests} | {error} |"
        )
    return "\n".join(lines)
