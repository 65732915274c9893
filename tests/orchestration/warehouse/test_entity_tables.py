"""The raw entity tables: added by the schema-2 migration, unkeyed by schema 4, idempotent
upserts by (connection, id)."""

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.warehouse import files, schema
from orchestration.warehouse.entity_tables import ENTITY_TABLES
from orchestration.warehouse.entity_writes import upsert_items

VERSION_1_TABLES = ("polar_connections", "polar_organizations", "polar_metrics")


def version_1_warehouse(path: Path) -> None:
    """A warehouse as release schema 1 left it: its tables, one metric row, version 1."""
    con = duckdb.connect(str(path))
    for statement in schema.RAW_DDL:
        con.execute(statement)
    con.execute(
        "insert into raw.polar_metrics values ('default', 'o1', '2026-01-01', 'revenue', 5, now())"
    )
    con.execute("create table raw.schema_version(version integer)")
    con.execute("insert into raw.schema_version values (1)")
    con.close()


def test_a_version_1_warehouse_gains_the_entity_tables_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    version_1_warehouse(path)
    with files.open_warehouse(path) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        kept = con.execute("select value from raw.polar_metrics").fetchall()
        version = con.execute("select version from raw.schema_version").fetchall()
    assert {f"polar_{e}" for e in ENTITY_TABLES} | {"polar_entity_sync"} <= tables
    assert (kept, version) == ([(5.0,)], [(schema.SCHEMA_VERSION,)])


def test_every_entity_table_has_item_and_fetched_at_and_no_key_index(tmp_path: Path) -> None:
    """No primary key: DuckDB rewrites a key index at every checkpoint (see EntityTable.ddl);
    the writes keep one row per (connection_name, id), tested below."""
    with files.open_warehouse(tmp_path / "w.duckdb") as con:
        for table in ENTITY_TABLES.values():
            columns = {r[0]: r[1] for r in con.execute(f"describe {table.name}").fetchall()}
            assert columns["item"] == "JSON" and columns["fetched_at"] == "TIMESTAMP WITH TIME ZONE"
            assert {"connection_name", "organization_id", "id", "created_at"} <= set(columns)
            keys = con.execute(
                "select constraint_column_names from duckdb_constraints() "
                "where constraint_type = 'PRIMARY KEY' and table_name = ?",
                [table.name.split(".")[1]],
            ).fetchall()
            assert keys == []


def version_3_warehouse(path: Path) -> None:
    """A warehouse as schema 3 left it: entity tables keyed by (connection_name, id), a row."""
    con = duckdb.connect(str(path))
    for statement in (*schema.RAW_DDL, schema.REVISIONS_DDL):
        con.execute(statement)
    for table in ENTITY_TABLES.values():
        con.execute(table.ddl()[: -len(")")] + ", primary key (connection_name, id))")
    con.execute(
        "insert into raw.polar_orders (connection_name, organization_id, id, status, item) "
        "values ('c', 'org', 'o1', 'paid', '{\"id\": \"o1\"}')"
    )
    con.execute("create table raw.schema_version(version integer)")
    con.execute("insert into raw.schema_version values (3)")
    con.close()


def test_a_version_3_warehouse_loses_the_entity_keys_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    version_3_warehouse(path)
    with files.open_warehouse(path) as con:
        keyed = con.execute(
            "select table_name from duckdb_constraints() where constraint_type = 'PRIMARY KEY' "
            "and table_name in ?",
            [[t.name.split(".")[1] for t in ENTITY_TABLES.values()]],
        ).fetchall()
        kept = con.execute("select connection_name, id, status from raw.polar_orders").fetchall()
        version = con.execute("select version from raw.schema_version").fetchall()
        columns = [r[0] for r in con.execute("describe raw.polar_orders").fetchall()]
    assert keyed == []
    assert (kept, version) == ([("c", "o1", "paid")], [(schema.SCHEMA_VERSION,)])
    assert columns == ENTITY_TABLES["orders"].column_names


def test_upserting_the_same_items_twice_keeps_one_row_each_with_the_latest_values(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    first = {
        "id": "o1",
        "created_at": "2026-01-01T10:00:00.5Z",
        "net_amount": 900,
        "status": "paid",
    }
    changed = {**first, "status": "refunded", "refunded_amount": 900}
    with files.open_warehouse(tmp_path / "w.duckdb") as con, files.transaction(con):
        for item in (first, changed, changed):
            upsert_items(
                con,
                "orders",
                connection_name="c",
                organization_id="org",
                items=[item],
                fetched_at=now,
            )
        stored = con.execute(
            "select id, status, net_amount, refunded_amount, created_at, item from raw.polar_orders"
        ).fetchall()
    assert len(stored) == 1
    assert stored[0][:4] == ("o1", "refunded", 900, 900)
    assert stored[0][4] == datetime(2026, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert json.loads(stored[0][5]) == changed


def test_an_item_listed_again_unchanged_keeps_its_row_and_is_marked_seen(tmp_path: Path) -> None:
    """A re-listed identical item is not deleted and appended again (a dead row left for DuckDB's
    vacuum to merge away): its row keeps its place (rowid), with the new `fetched_at` and
    `missing_since` cleared. A changed item is replaced."""
    first_seen = datetime(2026, 1, 1, tzinfo=UTC)
    seen_again = datetime(2026, 1, 2, tzinfo=UTC)
    kept = {"id": "c1", "email": "a@example.com", "created_at": "2026-01-01T00:00:00Z"}
    edited = {"id": "c2", "email": "b@example.com", "created_at": "2026-01-01T00:00:00Z"}

    def page(items: list[dict[str, str]], fetched_at: datetime) -> None:
        with files.transaction(con):
            upsert_items(
                con,
                "customers",
                connection_name="c",
                organization_id="org",
                items=items,
                fetched_at=fetched_at,
            )

    def rows() -> dict[str, tuple[object, ...]]:
        found = con.execute(
            "select id, rowid, fetched_at, missing_since, email from raw.polar_customers"
        ).fetchall()
        return {row[0]: row[1:] for row in found}

    with files.open_warehouse(tmp_path / "w.duckdb") as con:
        page([kept, edited], first_seen)
        con.execute("update raw.polar_customers set missing_since = ?", [first_seen])
        before = rows()
        page([kept, {**edited, "email": "new@example.com"}], seen_again)
        after = rows()
    assert after["c1"] == (before["c1"][0], seen_again, None, "a@example.com")
    assert after["c2"][1:] == (seen_again, None, "new@example.com")
    assert after["c2"][0] != before["c2"][0]  # deleted and appended


def test_a_page_replaces_only_its_own_connections_rows_and_a_repeated_id_once(
    tmp_path: Path,
) -> None:
    """The same Polar id in two connections (two accounts can see one organization) is two rows;
    a page listing an id twice (Polar moved it between two pages) stores it once."""
    now = datetime.now(UTC)
    with files.open_warehouse(tmp_path / "w.duckdb") as con:
        for connection, status in (("c", "paid"), ("d", "paid"), ("c", "refunded")):
            with files.transaction(con):
                upsert_items(
                    con,
                    "orders",
                    connection_name=connection,
                    organization_id="org",
                    items=[{"id": "o1", "status": status}, {"id": "o1", "status": status}],
                    fetched_at=now,
                )
        stored = con.execute(
            "select connection_name, id, status from raw.polar_orders order by 1"
        ).fetchall()
    assert stored == [("c", "o1", "refunded"), ("d", "o1", "paid")]


def test_an_odd_value_types_to_null_instead_of_failing_the_page(tmp_path: Path) -> None:
    with files.open_warehouse(tmp_path / "w.duckdb") as con, files.transaction(con):
        upsert_items(
            con,
            "subscriptions",
            connection_name="c",
            organization_id="org",
            items=[{"id": "s1", "amount": "lots", "started_at": "yesterday", "seats": None}],
            fetched_at=datetime.now(UTC),
        )
        assert con.execute(
            "select amount, started_at, seats from raw.polar_subscriptions"
        ).fetchall() == [(None, None, None)]


def test_a_version_2_warehouse_gains_the_empty_revisions_table_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    """Schema 3: raw.polar_metric_revisions (restatements) is added, nothing else changes."""
    path = tmp_path / "w.duckdb"
    version_1_warehouse(path)
    con = duckdb.connect(str(path))
    schema.add_entity_tables(con)
    con.execute("update raw.schema_version set version = 2")
    con.close()
    with files.open_warehouse(path) as con:
        revisions = con.execute("select count(*) from raw.polar_metric_revisions").fetchall()
        kept = con.execute("select value from raw.polar_metrics").fetchall()
        version = con.execute("select version from raw.schema_version").fetchall()
    assert (revisions, kept, version) == ([(0,)], [(5.0,)], [(schema.SCHEMA_VERSION,)])
