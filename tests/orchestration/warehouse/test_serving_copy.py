"""The serving copy: BI readers never block the pipeline and never see half a refresh."""

import json
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse.serving import (
    COPY_MEMORY,
    SOURCE,
    attach_source,
    publish_serving_copy,
    served_tables,
    serving_path_for,
    write_serving_file,
)

READER = textwrap.dedent(
    """
    import json, sys, time, duckdb
    path, stop_file, persistent = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    progress = stop_file + ".reads"
    reads, errors, versions = 0, [], set()
    held = duckdb.connect(path, read_only=True) if persistent else None
    import os
    while not os.path.exists(stop_file):
        try:
            con = held or duckdb.connect(path, read_only=True)
            manifest = dict(con.execute(
                "select table_name, row_count from marts.serving_manifest").fetchall())
            for table, expected in manifest.items():
                actual = con.execute(f"select count(*) from {table}").fetchone()[0]
                if actual != expected:
                    errors.append(f"{table}: {actual} rows, manifest says {expected}")
            version = con.execute("select max(version) from marts.refresh_marker").fetchone()[0]
            if manifest["marts.refresh_marker"] != version:
                errors.append(f"refresh {version} has {manifest['marts.refresh_marker']} markers")
            versions.add(version)
            if held is None:
                con.close()
            reads += 1
            with open(progress + ".tmp", "w") as out:
                out.write(str(reads))
            os.replace(progress + ".tmp", progress)
        except Exception as error:  # report every failure, never hide it
            errors.append(repr(error))
        time.sleep(0.005)
    print(json.dumps({"reads": reads, "errors": errors, "versions": sorted(versions)}))
    """
)


def _reads(stop: Path) -> int:
    """How many complete reads a reader has reported so far."""
    try:
        return int(Path(f"{stop}.reads").read_text())
    except (FileNotFoundError, ValueError):
        return 0


def _wait_for_reads(readers: list[tuple[subprocess.Popen, Path]], more: int) -> None:
    """Until every reader has made `more` further reads (a loaded machine is slow, not wrong)."""
    targets = [(_reads(stop) + more, stop) for _, stop in readers]
    deadline = time.monotonic() + 60
    while any(_reads(stop) < target for target, stop in targets):
        assert time.monotonic() < deadline, "a reader stopped reading"
        time.sleep(0.01)


READS_BETWEEN_REFRESHES = 7  # so each reader makes more than 20 reads across the refreshes


def _refresh(warehouse_path: Path, version: int, extra_sql: str = "") -> None:
    """A stand-in for one dbt build: every mart changes size with the version."""
    warehouse = duckdb.connect(str(warehouse_path))
    warehouse.execute("create schema if not exists marts")
    warehouse.execute(
        f"create or replace table marts.refresh_marker as select {version} as version "
        f"from range({version})"
    )
    warehouse.execute(
        f"create or replace table marts.daily as select range as day from range({version * 100})"
    )
    if extra_sql:
        warehouse.execute(extra_sql)
    warehouse.close()


def _start_reader(tmp_path: Path, serving: Path, persistent: bool) -> tuple[subprocess.Popen, Path]:
    stop = tmp_path / f"stop-{persistent}"
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving), str(stop), "1" if persistent else "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, stop


def test_readers_see_only_complete_refreshes_while_the_pipeline_publishes(tmp_path: Path) -> None:
    warehouse_path = tmp_path / "warehouse.duckdb"
    serving = serving_path_for(warehouse_path)
    _refresh(warehouse_path, 1)
    publish_serving_copy(warehouse_path, serving)

    readers = [_start_reader(tmp_path, serving, persistent) for persistent in (False, True)]
    _wait_for_reads(readers, READS_BETWEEN_REFRESHES)
    for version in (2, 3, 4):  # three refreshes while both readers query in a loop
        _refresh(warehouse_path, version)
        publish_serving_copy(warehouse_path, serving)
        _wait_for_reads(readers, READS_BETWEEN_REFRESHES)
    for _, stop in readers:
        stop.touch()
    results = [json.loads(process.communicate(timeout=30)[0]) for process, _ in readers]

    fresh_reader, holding_reader = results
    assert fresh_reader["errors"] == [] and holding_reader["errors"] == []
    assert fresh_reader["reads"] > 20 and holding_reader["reads"] > 20
    assert fresh_reader["versions"][-1] == 4  # reconnecting readers see the newest refresh
    assert holding_reader["versions"] == [1]  # a held connection keeps its consistent snapshot


def test_publishing_never_waits_for_a_reader_holding_the_serving_file(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "serving.duckdb"
    _refresh(warehouse, 1)
    publish_serving_copy(warehouse, serving)
    bi_tool = duckdb.connect(str(serving), read_only=True)

    _refresh(warehouse, 2)
    published = publish_serving_copy(warehouse, serving)

    assert published.tables == {"marts.daily": 200, "marts.refresh_marker": 2}
    assert bi_tool.execute("select count(*) from marts.daily").fetchone() == (100,)
    assert not list(tmp_path.glob(".*.tmp"))


def test_table_macros_are_usable_in_the_serving_copy(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    _refresh(
        warehouse,
        3,
        "create macro marts.days_between(low, high) as table "
        "select day from marts.daily where day between low and high",
    )
    published = publish_serving_copy(warehouse, tmp_path / "serving.duckdb")

    reader = duckdb.connect(str(published.path), read_only=True)
    assert published.macros == ["marts.days_between"]
    assert reader.execute("select count(*) from marts.days_between(10, 19)").fetchone() == (10,)


def test_the_serving_copy_is_owner_only_even_over_an_older_readable_one(tmp_path: Path) -> None:
    warehouse_path = tmp_path / "w.duckdb"
    serving = serving_path_for(warehouse_path)
    _refresh(warehouse_path, 1)
    serving.write_bytes(b"an older copy, world-readable")
    serving.chmod(0o644)
    publish_serving_copy(warehouse_path, serving)
    assert stat.S_IMODE(serving.stat().st_mode) == 0o600


def test_a_copy_failing_midway_leaves_no_file_and_the_next_one_succeeds(tmp_path: Path) -> None:
    """The file is written in one transaction: a table that fails to copy rolls it back,
    nothing takes the serving file's name, no temporary is left, and the same connection
    publishes the next copy (nothing of the failed one is still attached or open)."""
    warehouse = tmp_path / "warehouse.duckdb"
    _refresh(warehouse, 3)
    serving = serving_path_for(warehouse)
    con = attach_source(warehouse)
    try:
        tables = served_tables(con)
        failing = {table: (f"select * from {SOURCE}.{table.sql}", []) for table in tables}
        failing[tables[-1]] = ("select error('the copy of this table failed')", [])
        with pytest.raises(duckdb.Error, match="the copy of this table failed"):
            write_serving_file(con, serving, failing)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]

        good = {table: (f"select * from {SOURCE}.{table.sql}", []) for table in tables}
        published = write_serving_file(con, serving, good)
    finally:
        con.close()
    assert published.tables == {"marts.daily": 300, "marts.refresh_marker": 3}
    with duckdb.connect(str(serving), read_only=True) as reader:
        assert reader.execute("select count(*) from marts.daily").fetchone() == (300,)


def test_the_copying_connection_keeps_duckdbs_memory_bounded(tmp_path: Path) -> None:
    """Unbounded (DuckDB's default: 80 % of the machine) the copy after 1,000 connections took
    its process to 1,277 MB; every serving and tenant copy goes through this connection."""
    warehouse = tmp_path / "warehouse.duckdb"
    _refresh(warehouse, 1)
    setting = "select current_setting('memory_limit')"
    con = attach_source(warehouse)
    try:
        (limit,) = con.execute(setting).fetchone() or ("",)
    finally:
        con.close()
    with duckdb.connect(config={"memory_limit": COPY_MEMORY}) as reference:
        (expected,) = reference.execute(setting).fetchone() or ("",)
    assert limit == expected
