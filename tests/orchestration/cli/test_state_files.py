"""Broken state files: a corrupt token store, a corrupt, locked or old-schema warehouse."""

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.warehouse import files, schema
from tests.orchestration.cli.conftest import (
    ConnectedState,
    assert_clean_failure,
    file_digest,
    token_row,
    warehouse_content,
)

HOLD_WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def copied_state(connected: ConnectedState, tmp_path: Path) -> Iterator[ConnectedState]:
    """A copy of the connected state (files this test may break), pointed at by the env."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(connected.token_store, home / "tokens.sqlite")
    shutil.copy(connected.warehouse, home / "warehouse.duckdb")
    env = {
        **connected.env,
        "POLAR_METRICS_HOME": str(home),
        "POLAR_METRICS_WAREHOUSE": str(home / "warehouse.duckdb"),
    }
    yield ConnectedState(connected.polar, env, home / "tokens.sqlite", home / "warehouse.duckdb")


@pytest.fixture
def warehouse_writer(connected: ConnectedState) -> Iterator[subprocess.Popen[str]]:
    """A foreign program holding the warehouse open for writing (like a BI tool or the duckdb
    shell): DuckDB's own lock, not polar-metrics' writer lock, so nothing can queue behind it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(connected.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    yield holder
    release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    """Let the holder close its connection and exit."""
    if holder.poll() is None:
        holder.communicate("\n", timeout=30)


def test_a_corrupt_token_store_says_move_it_aside_and_is_left_untouched(
    copied_state: ConnectedState,
) -> None:
    copied_state.token_store.write_bytes(os.urandom(8192))
    before = file_digest(copied_state.token_store)
    result = copied_state.cli("status")
    assert_clean_failure(result, str(copied_state.token_store), "corrupt", "connect")
    assert file_digest(copied_state.token_store) == before


def test_a_locked_warehouse_names_the_holder_for_a_summary_and_nothing_is_lost(
    connected: ConnectedState, warehouse_writer: subprocess.Popen[str]
) -> None:
    result = connected.cli("summary", "--period", "30d")
    assert_clean_failure(
        result, str(connected.warehouse), f"PID {warehouse_writer.pid} (python", "Close it"
    )
    release(warehouse_writer)
    assert warehouse_content(connected.warehouse) == connected.loaded


def test_a_foreign_program_holding_the_warehouse_fails_the_refresh_named_for_what_it_is(
    connected: ConnectedState, warehouse_writer: subprocess.Popen[str]
) -> None:
    before_tokens = token_row(connected.token_store)
    result = connected.cli("refresh", timeout=300)
    output = assert_clean_failure(
        result, str(connected.warehouse), f"PID {warehouse_writer.pid} (python", "Close it"
    )
    assert "is not a polar-metrics writer" in output and "serving copy" in output
    release(warehouse_writer)
    assert warehouse_content(connected.warehouse) == connected.loaded
    assert token_row(connected.token_store) == before_tokens


def test_a_corrupt_warehouse_fails_the_summary_clearly_and_is_left_untouched(
    copied_state: ConnectedState,
) -> None:
    copied_state.warehouse.write_bytes(os.urandom(16384))
    before = file_digest(copied_state.warehouse)
    result = copied_state.cli("summary", "--period", "30d")
    assert_clean_failure(result, str(copied_state.warehouse), "not a valid DuckDB")
    assert file_digest(copied_state.warehouse) == before


@pytest.mark.parametrize("reader", ["summary", "writer"])
def test_a_corrupt_warehouse_is_not_blamed_on_another_process(
    copied_state: ConnectedState, reader: str
) -> None:
    copied_state.warehouse.write_bytes(os.urandom(16384))
    before = file_digest(copied_state.warehouse)
    if reader == "summary":
        output = assert_clean_failure(copied_state.cli("summary", "--period", "30d"))
    else:
        with pytest.raises(files.WarehouseError) as caught:
            with files.open_warehouse(copied_state.warehouse):
                pass
        output = str(caught.value)
    assert "writing" not in output.lower()
    assert "move" in output.lower() and "refresh" in output.lower()
    assert file_digest(copied_state.warehouse) == before


def make_version_zero_warehouse(path: Path) -> None:
    """A warehouse written by an older release: schema version 0, `fetched_at` not yet added."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema raw")
        con.execute("create table raw.schema_version(version integer)")
        con.execute("insert into raw.schema_version values (0)")
        con.execute(
            "create table raw.polar_metrics(connection_name varchar, organization_id varchar, "
            "date date, metric_slug varchar, value double, "
            "primary key (connection_name, organization_id, date, metric_slug))"
        )
        con.execute(
            "insert into raw.polar_metrics values ('default', 'o1', '2025-01-01', 'revenue', 7)"
        )
    finally:
        con.close()


def test_an_older_schema_is_migrated_or_refused_with_instructions(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_version_zero_warehouse(path)
    try:
        with files.open_warehouse(path) as con:
            version = con.execute("select max(version) from raw.schema_version").fetchone()[0]
            columns = {row[0] for row in con.execute("describe raw.polar_metrics").fetchall()}
            kept = con.execute("select value from raw.polar_metrics").fetchall()
        migrated = version == schema.SCHEMA_VERSION and "fetched_at" in columns
        assert migrated and kept == [(7.0,)], "opened without migrating"
    except files.WarehouseError as error:
        assert "schema version 0" in str(error) and "polar-metrics" in str(error)
        con = duckdb.connect(str(path), read_only=True)
        try:
            assert con.execute("select value from raw.polar_metrics").fetchall() == [(7.0,)]
        finally:
            con.close()


def test_a_newer_schema_is_refused_with_instructions(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    con.execute("create table raw.schema_version(version integer)")
    con.execute("insert into raw.schema_version values (?)", [schema.SCHEMA_VERSION + 1])
    con.close()
    with pytest.raises(files.WarehouseError, match="(?i)upgrade"):
        with files.open_warehouse(path):
            pass


def mode(path: Path) -> int:
    """The permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


def test_connect_and_a_refresh_leave_the_state_directory_0700_and_its_files_0600(
    connected: ConnectedState,
) -> None:
    # The serving copy and the dashboard: test_serving_copy.py, test_dashboard_render.py and
    # the demo test (the whole graph) check theirs.
    home = connected.token_store.parent
    files = [connected.token_store, connected.warehouse]
    assert mode(home) == 0o700
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_modes_an_older_version_left_open_are_tightened_by_the_next_command(
    copied_state: ConnectedState,
) -> None:
    home = copied_state.token_store.parent
    home.chmod(0o755)
    copied_state.token_store.chmod(0o644)
    copied_state.warehouse.chmod(0o644)
    assert copied_state.cli("status").returncode == 0
    # This state has raw tables only (no marts): summary opens the warehouse, then says so.
    summary = copied_state.cli("summary", "--period", "7d")
    assert "Traceback" not in summary.stderr and "refresh" in summary.stderr
    assert mode(home) == 0o700
    assert mode(copied_state.token_store) == 0o600
    assert mode(copied_state.warehouse) == 0o600


def test_a_side_file_gone_before_its_mode_is_tightened_is_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite removes its -shm file when the last connection closes: listed, then gone before
    chmod (seen as a warning per worker in a 50-connection run) has nothing left to protect."""
    from connectors.polar import private_files as module

    side = tmp_path / "tokens.sqlite-shm"
    side.write_bytes(b"")
    side.chmod(0o644)
    real_stat = Path.stat
    calls = {"side": 0}

    def vanishing_stat(path: Path, *args: object, **kwargs: object) -> os.stat_result:
        if path == side:
            calls["side"] += 1
            if calls["side"] == 2:  # the race: there for exists(), gone for the mode check
                side.unlink()
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", vanishing_stat)
    with caplog.at_level("WARNING"):
        module.private_files(side)
    assert calls["side"] >= 2 and not side.exists() and caplog.records == []
    other = tmp_path / "other"
    other.write_bytes(b"")
    other.chmod(0o644)

    def refused(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(module.os, "chmod", refused)
    with caplog.at_level("WARNING"):
        module.private_files(other)
    assert "could not make" in caplog.text  # any other failure still warns
