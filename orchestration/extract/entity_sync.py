"""How each entity of one organization is synced: which reads, in which order, with which
filters, and where an interrupted sync resumes. The reasons are in docs/internals.md.

- orders: oldest first from min(cursor, now - look-back) (`created_after`); then the older
  orders a refund read since the last sync postdates, one instant each.
- subscriptions: started since the cursor (`started_after`), then every non-terminal one
  (`status`), the ones canceled in the look-back (`canceled_at_after`), and, by customer, any
  stored one that could change but none of those reads returned.
- customers: new ones newest first down to the cursor; a full sweep every N days (and first).
- products: a full sweep every sync (one request for most organizations).
- refunds: newest first down to min(cursor, now - look-back).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.polar.entities import EntityQuery, parse_datetime
from orchestration.extract.entity_paging import (
    Item,
    ReadResult,
    TieFilters,
    read_ascending,
    read_descending,
)
from orchestration.extract.entity_run import EntityRun, iso, newest_of, page_of
from orchestration.warehouse import entity_writes as ew

# Cursor reads start this much before the cursor: Polar stamps created_at at transaction start,
# so an item committed late can carry a slightly older time than one already read.
CURSOR_OVERLAP = timedelta(hours=1)
TERMINAL_SUBSCRIPTION_STATUSES = ("canceled", "incomplete_expired")
NON_TERMINAL_SUBSCRIPTION_STATUSES = (
    "incomplete",
    "trialing",
    "active",
    "past_due",
    "unpaid",
    "paused",
)
CUSTOMERS_PER_REQUEST = 25  # repeated customer_id filters per targeted subscriptions request


def sync_orders(run: EntityRun) -> None:
    """Oldest first from min(cursor, now - look-back); then orders refunded since."""
    cursor = run.state.cursor_at
    start = None if cursor is None else min(cursor, run.now - run.policy.lookback) - CURSOR_OVERLAP
    run.mode = "full" if start is None else "incremental"
    query = run.query("created_at").where(created_after=start)
    ties = TieFilters("created_after", "created_before")
    write = run.cursor_writer("created_at")
    read_ascending(run.entities, run.endpoint, query, key="created_at", write=write, ties=ties)
    if start is not None and run.state.last_synced_at is not None:
        with run.reading() as con:
            stale = ew.orders_touched_by_recent_refunds(
                con,
                connection_name=run.connection_name,
                organization_id=run.organization_id,
                refunds_seen_since=run.state.last_synced_at,
                created_before=start,
            )
        for _order_id, created_at, customer_id in stale:
            instant = run.query("created_at").where(
                created_after=created_at - timedelta(microseconds=1),
                created_before=created_at + timedelta(microseconds=1),
                customer_id=customer_id,
            )
            read_ascending(run.entities, run.endpoint, instant, key="created_at", write=write)
    run.finish(run.state.with_changes(resume=None))


def sync_subscriptions(run: EntityRun) -> None:
    """Started since the cursor; then whatever can still change (see the module docstring)."""
    cursor = run.state.cursor_at
    run.mode = "full" if cursor is None else "incremental"
    may_change: dict[str, str | None] = {}
    if cursor is not None:
        with run.reading() as con:
            may_change = ew.subscriptions_that_may_change(
                con,
                connection_name=run.connection_name,
                organization_id=run.organization_id,
                terminal_statuses=TERMINAL_SUBSCRIPTION_STATUSES,
                canceled_since=run.now - run.policy.lookback,
            )
    started_after = None if cursor is None else cursor - CURSOR_OVERLAP
    new = run.query("started_at").where(started_after=started_after)
    ties = TieFilters("started_after", "started_before")
    seen = read_ascending(
        run.entities, run.endpoint, new, key="started_at",
        write=run.cursor_writer("started_at"), ties=ties,
    ).ids  # fmt: skip
    if cursor is not None:
        for changing in (
            run.query("started_at").where(status=NON_TERMINAL_SUBSCRIPTION_STATUSES),
            run.query("started_at").where(canceled_at_after=run.now - run.policy.lookback),
        ):
            seen |= _read_all(run, changing)
        seen |= _reread_by_customer(run, {i: c for i, c in may_change.items() if i not in seen})
    run.finish(run.state.with_changes(resume=None))


def _read_all(run: EntityRun, query: EntityQuery) -> set[str]:
    return read_ascending(
        run.entities, run.endpoint, query, key="started_at", write=run.plain_writer()
    ).ids


def _reread_by_customer(run: EntityRun, missing: dict[str, str | None]) -> set[str]:
    """Subscriptions the other reads skipped (offsets shifted under them), by their customers."""
    customers = sorted({c for c in missing.values() if c})
    seen: set[str] = set()
    for start in range(0, len(customers), CUSTOMERS_PER_REQUEST):
        batch = customers[start : start + CUSTOMERS_PER_REQUEST]
        seen |= _read_all(run, run.query("started_at").where(customer_id=batch))
    return seen


def sync_products(run: EntityRun) -> None:
    """A verified full sweep every sync: archived ones are listed too, deleted ones marked."""
    sweep(run)


def sync_customers(run: EntityRun) -> None:
    """A full sweep when due (first sync, every N days, or resuming one); else new customers."""
    state = run.state
    resuming_sweep = bool(state.resume and state.resume.get("mode") == "sweep")
    sweep_due = (
        state.last_full_sweep_at is None
        or resuming_sweep
        or run.now - state.last_full_sweep_at >= timedelta(days=run.policy.customers_sweep_days)
    )
    if sweep_due:
        sweep(run)
    else:
        newest_first(run, horizon=_minus(state.cursor_at, CURSOR_OVERLAP))


def sync_refunds(run: EntityRun) -> None:
    """Newest first down to min(cursor, now - look-back): every refund that can still change."""
    cursor = run.state.cursor_at
    horizon = None if cursor is None else min(cursor, run.now - run.policy.lookback)
    newest_first(run, horizon=_minus(horizon, CURSOR_OVERLAP))


def _minus(value: datetime | None, delta: timedelta) -> datetime | None:
    return None if value is None else value - delta


def newest_first(run: EntityRun, *, horizon: datetime | None) -> None:
    """Read `-created_at` down to `horizon` (all when None), resumable by page."""
    resume = run.state.resume if (run.state.resume or {}).get("mode") == "descending" else None
    if resume is not None:
        horizon = parse_datetime(resume.get("horizon"))
    run.mode = "full" if horizon is None else "incremental"
    newest = parse_datetime((resume or {}).get("newest")) or run.state.cursor_at
    seen: list[datetime | None] = [newest]

    def write(items: list[Item], next_position: dict[str, Any] | None) -> None:
        seen[0] = newest_of(items, "created_at", seen[0])
        position = (
            None
            if next_position is None
            else {**next_position, "mode": "descending", "horizon": iso(horizon),
                  "newest": iso(seen[0])}
        )  # fmt: skip
        run.write(items, run.state.with_changes(resume=position), page_of(next_position))

    start_page = int(resume["page"]) if resume else 1
    query = run.query("-created_at")
    read_descending(
        run.entities, run.endpoint, query, key="created_at", horizon=horizon, write=write,
        start_page=start_page,
    )  # fmt: skip
    run.finish(run.state.with_changes(cursor_at=seen[0], resume=None))


def sweep(run: EntityRun) -> None:
    """Every item, oldest first, boundaries probed; unlisted rows marked missing if verified."""
    resume = run.state.resume if (run.state.resume or {}).get("mode") == "sweep" else None
    started_wall = parse_datetime((resume or {}).get("started_wall")) or datetime.now(UTC)
    started_polar = parse_datetime((resume or {}).get("started_polar")) or run.now
    run.mode = "sweep" if run.state.last_full_sweep_at else "full"
    marks = {
        "mode": "sweep",
        "started_wall": iso(started_wall),
        "started_polar": iso(started_polar),
    }

    def write(items: list[Item], next_position: dict[str, Any] | None) -> None:
        newest = newest_of(items, "created_at", run.state.cursor_at)
        position = None if next_position is None else {**next_position, **marks}
        run.write(
            items, run.state.with_changes(cursor_at=newest, resume=position), page_of(next_position)
        )

    result: ReadResult = read_ascending(
        run.entities, run.endpoint, run.query("created_at"), key="created_at", write=write,
        start_page=int(resume["page"]) if resume else 1,
        boundary_id=(resume or {}).get("boundary_id"), probe_boundaries=True,
    )  # fmt: skip
    if not result.verified:
        # Unproven (the list kept moving): nothing is marked, and the next sync sweeps again.
        run.finish(run.state.with_changes(resume=None))
        return
    run.finish(
        run.state.with_changes(resume=None, last_full_sweep_at=started_polar),
        also=lambda con: ew.mark_missing(
            con,
            run.entity,
            connection_name=run.connection_name,
            organization_id=run.organization_id,
            sweep_started_at=started_wall,
            marked_at=datetime.now(UTC),
        ),
    )


STRATEGIES: dict[str, Callable[[EntityRun], None]] = {
    "products": sync_products,
    "customers": sync_customers,
    "subscriptions": sync_subscriptions,
    "orders": sync_orders,
    "refunds": sync_refunds,
}
