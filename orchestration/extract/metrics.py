"""One metrics refresh: fetch every scope's window concurrently and load it into DuckDB.

Used by the Dagster assets and by the CLI alike; no Dagster import. Each scope (one organization,
or `all` = Polar's server-side sum over the active ones) is fetched concurrently with a bounded
thread pool and written as it arrives: each write is one transaction holding the scopes that
completed together, and a failed scope is never part of one, so it keeps its previous rows.

The warehouse (and with it the cross-process writer lock) is held through a session
(session.py): opened for the writes, let go between them when another process's writer waits,
so a refresh waiting for Polar does not hold up the other workers of `refresh --all`.
"""

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import duckdb

from connectors.polar.errors import NeedsReauthError
from connectors.polar.records import MetricDefinitionSeen, MetricsResponse, Organization
from orchestration.extract.drift import detect_drift
from orchestration.extract.metric_rows import zero_frame
from orchestration.extract.metrics_fetch import ScopeResult, fetch_in_batches
from orchestration.extract.scopes import MetricsClient, scopes_for
from orchestration.warehouse import writes
from orchestration.warehouse.files import transaction
from orchestration.warehouse.schema import ALL_SCOPE
from orchestration.warehouse.session import WarehouseSession

log = logging.getLogger(__name__)

MRR_SLUG = "monthly_recurring_revenue"
REVENUE_SLUG = "revenue"


@dataclass
class ScopeStatus:
    """How one scope's fetch and load went."""

    scope_id: str
    label: str
    ok: bool
    rows: int = 0
    seconds: float = 0.0
    error: str | None = None
    needs_reauth: bool = False


@dataclass
class RefreshOutcome:
    """Everything one metrics refresh did, for metadata, logs and `raw.polar_refreshes`."""

    refresh_id: str
    connection_name: str
    timezone: str
    window_start: date
    window_end: date
    kind: str = "window"  # window (the whole cached window) | recent (yesterday and today)
    statuses: list[ScopeStatus] = field(default_factory=list)
    drift: dict[str, list[str]] = field(default_factory=dict)
    latest_values: dict[str, float] = field(default_factory=dict)  # `all` scope, window_end

    @property
    def failed(self) -> list[ScopeStatus]:
        """Scopes whose previous data was kept because this fetch failed."""
        return [s for s in self.statuses if not s.ok]

    @property
    def rows_written(self) -> int:
        """Rows inserted into `raw.polar_metrics`."""
        return sum(s.rows for s in self.statuses)

    @property
    def status(self) -> str:
        """success | partial (some scopes failed) | failed (every scope failed)."""
        if not self.failed:
            return "success"
        return "failed" if len(self.failed) == len(self.statuses) else "partial"


def load_batch(
    con: duckdb.DuckDBPyConnection, outcome: RefreshOutcome, batch: Sequence[ScopeResult]
) -> dict[str, int]:
    """Replace the window of every successful scope of the batch in ONE transaction.

    Failed scopes are not touched, so they keep their previous rows. Returns rows per scope.
    """
    loaded = [r for r in batch if r.frame is not None and r.response is not None]
    if not loaded:
        return {}
    now = datetime.now(UTC)
    with transaction(con):
        writes.replace_metrics(
            con,
            connection_name=outcome.connection_name,
            scopes=[r.scope.scope_id for r in loaded],
            start=outcome.window_start,
            end=outcome.window_end,
            frames=[r.frame for r in loaded if r.frame is not None],
            timezone=outcome.timezone,
        )
        writes.store_responses(
            con,
            outcome.connection_name,
            [
                writes.ResponseBody(
                    r.scope.scope_id,
                    outcome.window_start,
                    outcome.window_end,
                    now,
                    (r.response.raw_body if r.response else "") or "{}",
                )
                for r in loaded
            ],
        )
    return {r.scope.scope_id: len(r.frame) for r in loaded if r.frame is not None}


def load_zeros(con: duckdb.DuckDBPyConnection, outcome: RefreshOutcome) -> ScopeStatus:
    """Zero active organizations: zeros for `all` on every catalogue slug and window day."""
    frame = zero_frame(outcome.connection_name, outcome.window_start, outcome.window_end)
    with transaction(con):
        written = writes.replace_metrics(
            con,
            connection_name=outcome.connection_name,
            scopes=[ALL_SCOPE],
            start=outcome.window_start,
            end=outcome.window_end,
            frames=[frame],
            timezone=outcome.timezone,
        )
    return ScopeStatus(ALL_SCOPE, "All organizations", True, rows=written)


def scope_status(result: ScopeResult, rows: int) -> ScopeStatus:
    """The status line of one scope's fetch and load."""
    status = ScopeStatus(
        result.scope.scope_id,
        result.scope.label,
        result.error is None,
        rows,
        round(result.seconds, 3),
    )
    if result.error is not None:
        status.error = f"{type(result.error).__name__}: {result.error}"
        status.needs_reauth = isinstance(result.error, NeedsReauthError)
        log.warning("%s (%s) failed: %s", status.label, status.scope_id, result.error)
    return status


def refresh_metrics(
    client: MetricsClient,
    *,
    warehouse_path: Path,
    connection_name: str,
    organizations: Sequence[Organization],
    timezone: str,
    window: tuple[date, date],
    concurrency: int,
    refresh_id: str | None = None,
    kind: str = "window",
    after_scope_written: Callable[[ScopeStatus], None] | None = None,
) -> RefreshOutcome:
    """Fetch every active organization's window (+ `all`) and replace it in the warehouse."""
    started_at = datetime.now(UTC)
    outcome = RefreshOutcome(
        refresh_id or str(uuid4()), connection_name, timezone, window[0], window[1], kind
    )
    scopes = scopes_for(organizations)
    with WarehouseSession(warehouse_path, bounded_memory=True) as session:
        if not scopes:
            with session.connection() as con:
                outcome.statuses.append(load_zeros(con, outcome))
        batches = fetch_in_batches(
            client,
            scopes,
            connection_name=connection_name,
            start=window[0],
            end=window[1],
            timezone=timezone,
            concurrency=concurrency,
        )
        # closing(): a failed write stops the fetchers at once instead of leaving them blocked.
        with closing(batches):
            seen = write_batches(session, outcome, batches, after_scope_written)
        with session.connection() as con:
            finish_refresh(con, outcome, seen, started_at)
    return outcome


def write_batches(
    session: WarehouseSession,
    outcome: RefreshOutcome,
    batches: Iterable[Sequence[ScopeResult]],
    after_scope_written: Callable[[ScopeStatus], None] | None,
) -> list[MetricsResponse]:
    """Write each batch as it comes; the definitions seen, as one body-less response (or none).

    Only the definitions outlive a batch (for drift): bodies and frames are dropped once written.
    """
    definitions: dict[str, MetricDefinitionSeen] = {}
    answered = False
    for batch in batches:
        rows: dict[str, int] = {}
        if any(r.frame is not None for r in batch):  # not the file for failures alone
            with session.connection() as con:
                rows = load_batch(con, outcome, batch)
        for result in batch:
            if result.response is not None:
                definitions.update(result.response.definitions)
                answered = True
            status = scope_status(result, rows.get(result.scope.scope_id, 0))
            outcome.statuses.append(status)
            if after_scope_written is not None:
                after_scope_written(status)
    return [MetricsResponse(periods=[], totals={}, definitions=definitions)] if answered else []


def finish_refresh(
    con: duckdb.DuckDBPyConnection,
    outcome: RefreshOutcome,
    responses: Sequence[MetricsResponse],
    started_at: datetime,
) -> None:
    """Store drift-checked definitions and the refresh record; read back today's headline."""
    definitions = detect_drift(responses)
    outcome.drift = {
        kind: sorted(d.slug for d in definitions if d.drift == kind)
        for kind in ("new", "missing", "type_changed")
    }
    finished_at = datetime.now(UTC)
    with transaction(con):
        writes.write_metric_definitions(
            con,
            connection_name=outcome.connection_name,
            definitions=definitions,
            seen_at=finished_at,
        )
        writes.record_refresh(con, refresh_record(outcome, started_at, finished_at))
    outcome.latest_values = dict(
        con.execute(
            "select metric_slug, value from raw.polar_metrics where connection_name = ? "
            "and organization_id = ? and date = ? and metric_slug in (?, ?)",
            [outcome.connection_name, ALL_SCOPE, outcome.window_end, MRR_SLUG, REVENUE_SLUG],
        ).fetchall()
    )


def refresh_record(
    outcome: RefreshOutcome, started_at: datetime, finished_at: datetime
) -> writes.RefreshRecord:
    """The `raw.polar_refreshes` row for this outcome (detail = per-scope status and drift)."""
    detail = {
        "kind": outcome.kind,
        "scopes": [asdict(s) for s in outcome.statuses],
        "drift": outcome.drift,
    }
    return writes.RefreshRecord(
        refresh_id=outcome.refresh_id,
        connection_name=outcome.connection_name,
        started_at=started_at,
        finished_at=finished_at,
        timezone=outcome.timezone,
        window_start=outcome.window_start,
        window_end=outcome.window_end,
        status=outcome.status,
        organizations_ok=sum(1 for s in outcome.statuses if s.ok and s.scope_id != ALL_SCOPE),
        organizations_failed=sum(
            1 for s in outcome.statuses if not s.ok and s.scope_id != ALL_SCOPE
        ),
        detail_json=json.dumps(detail, default=str),
    )


def scope_table_markdown(outcome: RefreshOutcome) -> str:
    """Per-scope status as a Markdown table (Dagster metadata)."""
    lines = ["| organization | id | status | rows | seconds | error |", "|---|---|---|---|---|---|"]
    for s in outcome.statuses:
        label = s.label.replace("|", "\\|")
        error = (s.error or "").replace("|", "\\|").replace("\n", " ")
        state = "ok" if s.ok else "FAILED (previous data kept)"
        lines.append(f"| {label} | `{s.scope_id}` | {state} | {s.rows} | {s.seconds} | {error} |")
    return "\n".join(lines)
