"""Schema versions: writers migrate older warehouses, readers refuse any other version."""

from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import files, schema
from orchestration.warehouse.files import WarehouseNotReadyError, open_read_only


def set_version(path: Path, version: int) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("delete from raw.schema_version")
        con.execute("insert into raw.schema_version values (?)", [version])
    finally:
        con.close()


def test_every_older_version_has_a_migration_step() -> None:
    assert len(schema.MIGRATIONS) == schema.SCHEMA_VERSION


def test_a_new_warehouse_gets_every_raw_table_and_one_version_row(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with files.open_warehouse(path):
        pass
    with files.open_warehouse(path) as con:
        versions = con.execute("select version from raw.schema_version").fetchall()
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert versions == [(schema.SCHEMA_VERSION,)]
    assert {"polar_metrics", "polar_api_responses", "polar_refreshes"} <= tables


def test_a_warehouse_without_a_version_table_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute("create table raw.polar_organizations(connection_name varchar, name varchar)")
    con.execute("insert into raw.polar_organizations values ('default', 'Acme')")
    con.close()
    with files.open_warehouse(path) as con:
        row = con.execute("select name, slug, is_queried from raw.polar_organizations").fetchall()
        version = con.execute("select version from raw.schema_version").fetchall()
    assert row == [("Acme", None, None)]
    assert version == [(schema.SCHEMA_VERSION,)]


def test_a_newer_warehouse_is_refused_by_the_writer_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with files.open_warehouse(path):
        pass
    set_version(path, schema.SCHEMA_VERSION + 1)
    with pytest.raises(files.WarehouseError, match="newer polar-metrics.*upgrade"):
        with files.open_warehouse(path):
            pass
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("select version from raw.schema_version").fetchall() == [
        (schema.SCHEMA_VERSION + 1,)
    ]
    con.close()


@pytest.mark.parametrize("offset", [-1, 1])
def test_readers_refuse_another_version_with_what_to_do(tmp_path: Path, offset: int) -> None:
    path = tmp_path / "w.duckdb"
    with files.open_warehouse(path):
        pass
    set_version(path, schema.SCHEMA_VERSION + offset)
    advice = "polar-metrics refresh" if offset < 0 else "upgrade polar-metrics"
    with pytest.raises(WarehouseNotReadyError, match=advice):
        with open_read_only(path):
            pass
    with pytest.raises(files.WarehouseError, match=advice):
        with files.open_warehouse(path, read_only=True):
            pass


def test_a_refresh_writer_gets_the_fixed_memory_bound_and_a_plain_writer_does_not(
    tmp_path: Path,
) -> None:
    """The bound is a constant, not a share of the file: a share let each `refresh --all` worker
    grow with the warehouse of every connection (649 MB at 250 connections). A large
    transaction lifts it and sets it back (DuckDB shows 192 MB as 183.x MiB, rounded)."""
    path = tmp_path / "w.duckdb"

    def limit(con: duckdb.DuckDBPyConnection) -> str:
        return con.execute("select current_setting('memory_limit')").fetchone()[0]

    with files.open_warehouse(path, bounded_memory=True) as con:
        assert limit(con).startswith("183.")
        with files.memory_unbounded(con):
            assert not limit(con).startswith("183.")
        assert limit(con).startswith("183.")
    with files.open_warehouse(path) as con:
        assert not limit(con).startswith("183.")
