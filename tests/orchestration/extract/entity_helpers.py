"""Helpers of the entity sync tests: table snapshots and what the fake Polar lists."""

import json
from pathlib import Path
from typing import Any

import duckdb

from tests.fake_polar.world import FakeWorld

ENTITIES = ("products", "customers", "subscriptions", "refunds", "orders")
# Objects Polar embeds in items: a snapshot of another entity as of the read, so an old row
# holds an old copy. The entity's own table has the current one; rows are compared without them.
EMBEDDED = ("customer", "user", "product", "subscription", "discount", "price", "prices")


def snapshot(path: Path, entity: str) -> list[tuple[Any, ...]]:
    """Every row of raw.polar_<entity> without fetched_at, embedded copies stripped, by id."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(
            f"select * exclude (fetched_at) from raw.polar_{entity} order by id"
        ).fetchall()
        columns = [d[0] for d in con.description]
    finally:
        con.close()
    item_at = columns.index("item")
    rows = []
    for row in frame:
        item = {k: v for k, v in json.loads(row[item_at]).items() if k not in EMBEDDED}
        rows.append((*row[:item_at], json.dumps(item, sort_keys=True), *row[item_at + 1 :]))
    return rows


def stored_ids(path: Path, entity: str) -> set[str]:
    """Ids in raw.polar_<entity>."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute(f"select id from raw.polar_{entity}").fetchall()}
    finally:
        con.close()


def listed_ids(world: FakeWorld, entity: str) -> set[str]:
    """Ids Polar lists right now (no deleted customer or product, no unstarted subscription)."""
    return {
        record["id"]
        for org in world.organizations.values()
        for record in getattr(org, entity).values()
        if not record.get("deleted_at")
        and not record.get("deleted")
        and record.get("started_at", True) is not None
    }


def rows(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """A read-only query's rows."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
