"""A synthetic warehouse whose entities and metrics reconcile exactly, as the emulator's do:
the synthetic raw metrics (raw_fixture) with revenue, net revenue, orders, active subscriptions
and MRR of each organization replaced by the values Polar computes from its synthetic entities
(polar_reference), the entities written by the sync's own writer, and the sync state of each.

One sync is left unfinished on purpose: org-usd's orders stopped part-way (its revenue is the
base fixture's, which its orders do not explain) - such days must not be compared."""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from orchestration.warehouse.entity_writes import upsert_items
from tests.dbt.polar_reference import daily_metrics
from tests.dbt.raw_fixture import CONNECTION, NOW, ORGANIZATIONS, create_raw_warehouse, window_days
from tests.dbt.synthetic_entities import TIMEZONE, Business, Item, synthetic_business

ENTITIES = ("products", "customers", "subscriptions", "orders", "refunds")
SYNCED_AT = NOW + timedelta(minutes=2)  # the entity sync ran right after the metrics
UNFINISHED = ("org-usd", "orders")  # this sync stopped part-way
ORDER_METRICS = ("orders", "revenue", "net_revenue")


@dataclass
class ReconciledAccount:
    """The businesses written, and Polar's values computed from them."""

    businesses: dict[str, Business]
    reported: dict[str, dict[date, dict[str, int | float]]]


def create_reconciled_warehouse(path: Path) -> ReconciledAccount:
    """Write the warehouse; returns what it holds."""
    businesses = {
        org_id: synthetic_business(org_id, currency, seed=index)
        for index, (org_id, _, _, currency, queried) in enumerate(ORGANIZATIONS)
        if queried
    }
    reported = {
        org_id: daily_metrics(business, window_days(), TIMEZONE)
        for org_id, business in businesses.items()
    }
    unfinished_org, _ = UNFINISHED
    for values in reported[unfinished_org].values():
        for slug in ORDER_METRICS:
            del values[slug]
    create_raw_warehouse(path, reported=reported)
    with duckdb.connect(str(path)) as connection:
        connection.execute("update raw.polar_refreshes set timezone = ?", [TIMEZONE])
        for business in businesses.values():
            write_business(connection, business)
    return ReconciledAccount(businesses, reported)


def write_business(connection: duckdb.DuckDBPyConnection, business: Business) -> None:
    """The entities through the sync's writer, deletions marked, and a finished sync each."""
    for entity, items in business.by_entity().items():
        upsert_items(
            connection,
            entity,
            connection_name=CONNECTION,
            organization_id=business.organization_id,
            items=[as_json(item) for item in items],
            fetched_at=NOW,
        )
    for table, item in (("products", business.products[-1]), ("customers", business.customers[-1])):
        connection.execute(
            f"update raw.polar_{table} set missing_since = ? where id = ?", [NOW, item["id"]]
        )
    for entity in ENTITIES:
        unfinished = (business.organization_id, entity) == UNFINISHED
        connection.execute(
            "insert into raw.polar_entity_sync (connection_name, organization_id, entity, "
            "resume, last_synced_at, last_status, last_mode) values (?, ?, ?, ?, ?, ?, 'full')",
            [
                CONNECTION,
                business.organization_id,
                entity,
                json.dumps({"page": 3}) if unfinished else None,
                SYNCED_AT,
                "running" if unfinished else "ok",
            ],
        )


def as_json(item: Item) -> dict[str, Any]:
    """The item as Polar's JSON would carry it (ISO 8601 datetimes)."""
    return json.loads(json.dumps(item, default=lambda value: _iso(value)))


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")
