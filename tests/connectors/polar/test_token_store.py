"""The SQLite token store: WAL, generations, refused stale writes, clear errors on corruption."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.polar.errors import StaleGenerationError, TokenStoreError
from connectors.polar.token_store import ACTIVE, StoredConnection, TokenStore


def _row(name: str = "default") -> StoredConnection:
    now = datetime.now(UTC)
    return StoredConnection(
        name=name,
        status=ACTIVE,
        environment="emulator",
        access_token_ct="v1.k.AAAA",
        refresh_token_ct="v1.k.BBBB",
        access_token_expires_at=now,
        granted_scopes=("metrics:read", "organizations:read"),
        metadata={"organizations": [{"id": "o1"}]},
        generation=0,
        created_at=now,
        updated_at=now,
    )


def test_rows_round_trip_and_every_write_bumps_the_generation(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    created = store.create(_row())
    assert created.generation == 1
    read = store.read("default")
    assert read == created
    updated = store.update(read.with_changes(status="needs_reauth"))
    assert updated.generation == 2
    assert store.read("default").status == "needs_reauth"
    assert store.read("missing") is None


def test_store_runs_in_wal_mode(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    store.create(_row())
    mode = sqlite3.connect(store.path).execute("pragma journal_mode").fetchone()[0]
    assert mode == "wal"


def test_write_based_on_a_stale_generation_is_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    first = store.create(_row())
    store.update(first.with_changes(access_token_ct="v1.k.NEWER"))
    with pytest.raises(StaleGenerationError, match="changed since it was read"):
        store.update(first.with_changes(access_token_ct="v1.k.OLDER"))
    assert store.read("default").access_token_ct == "v1.k.NEWER"


def test_several_named_connections_coexist(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    store.create(_row("default"))
    store.create(_row("agency"))
    assert [row.name for row in store.all()] == ["agency", "default"]


def test_reconnect_replaces_the_row_and_keeps_its_creation_time(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    first = store.create(_row())
    second = store.create(_row().with_changes(access_token_ct="v1.k.CCCC"))
    assert second.generation == first.generation + 1
    assert second.created_at == first.created_at


def test_corrupt_file_gives_an_actionable_error_and_is_left_in_place(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(TokenStoreError, match="corrupt.*Move it aside.*polar-metrics connect"):
        TokenStore(path).read("default")
    assert path.read_bytes().startswith(b"this is not a database")


def test_repr_of_a_row_hides_the_ciphertexts(tmp_path: Path) -> None:
    assert "AAAA" not in repr(_row()) and "BBBB" not in repr(_row())


def test_store_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.sqlite")
    store.create(_row())
    assert store.path.stat().st_mode & 0o777 == 0o600
