"""Deleted rows the refresh's writers leave (they do not vacuum) are reclaimed before dbt builds:
a table whose stored rows are a quarter deleted or more is copied without them, in place, and
keeps every live row; others and keyed tables stay as they are."""

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import bounded_writer, compaction
from orchestration.warehouse.bounded_writer import WRITER_ROW_GROUP_ROWS
from orchestration.warehouse.compaction import Compaction, compact_raw_tables, copy_live_rows
from orchestration.warehouse.entity_writes import upsert_items
from orchestration.warehouse.files import open_warehouse, transaction
from tests.orchestration.warehouse.test_bounded_writer import row_groups

ORDERS = 16_000


def order(number: int, status: str) -> dict[str, object]:
    return {"id": f"o{number:06d}", "status": status}


def refresh_writes(
    path: Path,
    changed_every: int | None = None,
    status: str = "refunded",
    checkpoint_every_page: bool = False,
) -> None:
    """Orders and customers written page by page as a sync does; or one order in every
    `changed_every` listed again with a new `status`, which deletes its stored row from a row
    group that stays in use. A checkpoint after every page starts a new row group each."""
    now = datetime.now(UTC)
    numbers = (
        list(range(ORDERS)) if changed_every is None else list(range(0, ORDERS, changed_every))
    )
    status = "paid" if changed_every is None else status
    with open_warehouse(path, bounded_memory=True) as con:
        for start in range(0, len(numbers), 100):
            with transaction(con):
                upsert_items(
                    con,
                    "orders",
                    connection_name="c",
                    organization_id="org",
                    items=[order(n, status) for n in numbers[start : start + 100]],
                    fetched_at=now,
                )
                if changed_every is None:
                    upsert_items(
                        con,
                        "customers",
                        connection_name="c",
                        organization_id="org",
                        items=[{"id": f"c{start}", "email": "x"}],
                        fetched_at=now,
                    )
            if checkpoint_every_page:
                con.execute("checkpoint")
        con.execute("checkpoint")


def stored_and_live(path: Path, table: str) -> tuple[int, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        (stored,) = con.execute(
            f"select sum(count) from pragma_storage_info('{table}') where column_path = '[0]'"
        ).fetchone() or (0,)
        (live,) = con.execute(f"select count(*) from {table}").fetchone() or (0,)
    return int(stored), int(live)


def orders(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select connection_name, organization_id, id, status, fetched_at, item "
            "from raw.polar_orders order by id"
        ).fetchall()


def test_a_table_a_quarter_deleted_is_copied_without_its_deleted_rows(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    refresh_writes(path)
    refresh_writes(path, changed_every=2)
    stored, live = stored_and_live(path, "raw.polar_orders")
    assert (stored, live) == (ORDERS + ORDERS // 2, ORDERS)  # the refunded ones' old rows stay
    before = orders(path)

    compacted = compact_raw_tables(path).copied

    assert [(c.table, c.stored, c.live) for c in compacted] == [("polar_orders", stored, live)]
    assert bounded_writer._writers is None  # its DuckDB closed: dbt's build runs beside us
    assert stored_and_live(path, "raw.polar_orders") == (ORDERS, ORDERS)
    assert orders(path) == before
    # The copy took the table's place for every later writer: a sync's page writes as before.
    refresh_writes(path, changed_every=4, status="disputed")
    assert stored_and_live(path, "raw.polar_orders") == (ORDERS + ORDERS // 4, ORDERS)


def test_a_table_of_many_thin_row_groups_is_copied_into_full_ones(tmp_path: Path) -> None:
    """Nothing deleted, but a row group per page (as checkpoints between a refresh's pages
    leave them): DuckDB holds every scanned row group's metadata outside its memory limit, so
    dbt's build is copied full row groups."""
    path = tmp_path / "warehouse.duckdb"
    refresh_writes(path, checkpoint_every_page=True)
    assert row_groups(path, "raw.polar_orders") == ORDERS // 100
    before = orders(path)

    compacted = compact_raw_tables(path).copied

    assert sorted((c.table, c.dead, c.row_groups) for c in compacted) == [
        ("polar_customers", 0, ORDERS // 100),
        ("polar_orders", 0, ORDERS // 100),
    ]
    assert row_groups(path, "raw.polar_orders") == 1
    assert row_groups(path, "raw.polar_customers") == 1
    assert orders(path) == before


def test_few_deleted_rows_and_keyed_tables_are_left_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    refresh_writes(path)
    refresh_writes(path, changed_every=16)  # 1,000 deleted: 6 % of the stored rows
    with open_warehouse(path, bounded_memory=True) as con:  # a keyed table, most rows deleted
        con.execute(
            "insert into raw.polar_connections select 'c' || range, 'emulator', 'active', now() "
            f"from range({4 * WRITER_ROW_GROUP_ROWS})"
        )
        con.execute("checkpoint")
        con.execute("delete from raw.polar_connections where connection_name[2:]::int % 4 <> 0")
        con.execute("checkpoint")
    stored, live = stored_and_live(path, "raw.polar_connections")
    assert live == stored // 4
    assert compact_raw_tables(path) == Compaction([], [])
    assert stored_and_live(path, "raw.polar_orders") == (ORDERS + 1_000, ORDERS)


def test_no_warehouse_yet_is_nothing_to_compact(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    assert compact_raw_tables(path) == Compaction([], [])
    assert not path.exists()


def copy_in_1mb(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The compaction's copy with 1 MB: the counting before it fits in 6 MB, a copy does not."""
    con.execute("set memory_limit = '1MB'")
    copy_live_rows(con, table)


def test_a_copy_duckdb_fails_is_rolled_back_and_the_warehouse_stays_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of its memory (1 MB for a copy here; at 1,000 connections a copy's commit failed in
    256 MB), the compaction says where it stopped instead of failing dbt's build: the tables
    keep their rows and row groups, a writer opens the file afterwards, and the next compaction
    copies them."""
    path = tmp_path / "warehouse.duckdb"
    refresh_writes(path, checkpoint_every_page=True)
    before = orders(path)
    monkeypatch.setattr(compaction, "COMPACTION_MEMORY", "6MB")
    monkeypatch.setattr(compaction, "copy_live_rows", copy_in_1mb)

    result = compact_raw_tables(path)

    assert result.copied == []
    assert [rows.table for rows in result.left] == ["polar_customers", "polar_orders"]
    assert "Out of Memory" in result.failure and "\n" not in result.failure
    assert row_groups(path, "raw.polar_orders") == ORDERS // 100
    assert orders(path) == before
    with open_warehouse(path, bounded_memory=True) as con:
        con.execute("insert into raw.polar_refunds (id) values ('r1')")
    monkeypatch.undo()
    assert [rows.table for rows in compact_raw_tables(path).copied] == [
        "polar_customers",
        "polar_orders",
    ]
    assert orders(path) == before
