"""The token store: one small SQLite file (WAL mode) with one row per named connection.

It holds only ciphertexts (see `connectors.polar.crypto`); it never sees a plaintext token. Every
write is a `BEGIN IMMEDIATE` transaction that checks the row's generation, so a writer that read
an older version of the row is refused instead of overwriting a newer token pair.
"""

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.polar.errors import StaleGenerationError, TokenStoreError
from connectors.polar.private_files import private_directory, private_files

ACTIVE = "active"
NEEDS_REAUTH = "needs_reauth"
INACTIVE = "inactive"
STATUSES = (ACTIVE, NEEDS_REAUTH, INACTIVE)

_SCHEMA = """
create table if not exists connections (
    name text primary key,
    status text not null check (status in ('active', 'needs_reauth', 'inactive')),
    environment text not null,
    access_token_ct text,
    refresh_token_ct text,
    access_token_expires_at text,
    granted_scopes text not null default '',
    metadata text not null default '{}',
    generation integer not null,
    created_at text not null,
    updated_at text not null
)
"""
_SIDE = ("-wal", "-shm")  # SQLite's write-ahead log and shared memory next to the store
_COLUMNS = (
    "name, status, environment, access_token_ct, refresh_token_ct, access_token_expires_at, "
    "granted_scopes, metadata, generation, created_at, updated_at"
)


@dataclass(frozen=True)
class StoredConnection:
    """One row of the store: state, ciphertexts, expiry, scopes, metadata and generation."""

    name: str
    status: str
    environment: str
    access_token_ct: str | None = field(repr=False)
    refresh_token_ct: str | None = field(repr=False)
    access_token_expires_at: datetime | None
    granted_scopes: tuple[str, ...]
    metadata: dict[str, Any]
    generation: int
    created_at: datetime
    updated_at: datetime

    def with_changes(self, **changes: Any) -> "StoredConnection":
        """A copy with some fields changed (generation and timestamps are set by the store)."""
        return replace(self, **changes)


class TokenStore:
    """Reads and writes connection rows in the SQLite file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def read(self, name: str) -> StoredConnection | None:
        """The row of connection `name`, or None."""
        with self._transaction(write=False) as db:
            return _fetch(db, name)

    def all(self) -> list[StoredConnection]:
        """Every stored connection, by name."""
        with self._transaction(write=False) as db:
            rows = db.execute(f"select {_COLUMNS} from connections order by name").fetchall()
        return [_from_row(row) for row in rows]

    def create(self, row: StoredConnection) -> StoredConnection:
        """Insert `row`, or replace the existing row of that name (a reconnect); gen + 1."""
        with self._transaction(write=True) as db:
            current = _fetch(db, row.name)
            now = datetime.now(UTC)
            stored = row.with_changes(
                generation=(current.generation + 1) if current else 1,
                created_at=current.created_at if current else now,
                updated_at=now,
            )
            _write(db, stored)
        return stored

    def update(self, row: StoredConnection) -> StoredConnection:
        """Write `row` if the stored generation still equals `row.generation`; gen + 1."""
        with self._transaction(write=True) as db:
            current = _fetch(db, row.name)
            if current is None or current.generation != row.generation:
                raise StaleGenerationError(
                    f"connection {row.name!r} changed since it was read (generation "
                    f"{row.generation}, now {current.generation if current else 'deleted'}); "
                    "re-read it and try again."
                )
            stored = row.with_changes(generation=row.generation + 1, updated_at=datetime.now(UTC))
            _write(db, stored)
        return stored

    def scrub(self) -> None:
        """Fold the write-ahead log into the file, so no overwritten ciphertext lingers in it."""
        with self._open() as db:
            db.execute("pragma wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        with self._open() as db:
            try:
                db.execute("begin immediate" if write else "begin")
                yield db
                db.execute("commit")
            except BaseException:
                if db.in_transaction:
                    db.execute("rollback")
                raise

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        try:
            private_directory(self.path.parent)  # the state directory (POLAR_METRICS_HOME)
            # Owner-only from the start (SQLite gives its -wal/-shm files the same mode), and
            # tightened if an older version left it readable.
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            private_files(
                self.path, *(self.path.with_name(self.path.name + side) for side in _SIDE)
            )
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise TokenStoreError(
                f"cannot open the token store {self.path}: {error}. Check that the directory "
                "exists and is writable (POLAR_METRICS_HOME)."
            ) from None
        try:
            _prepare(db, self.path)
            yield db
        except sqlite3.DatabaseError as error:
            raise _store_error(self.path, error) from None
        finally:
            db.close()


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    # WAL lets readers proceed while a refresh commits; FULL makes that commit durable before
    # the new token is used; secure_delete overwrites replaced ciphertexts instead of leaving
    # them in free pages.
    db.execute("pragma journal_mode=wal")
    db.execute("pragma synchronous=full")
    db.execute("pragma secure_delete=on")
    db.execute(_SCHEMA)


def _store_error(path: Path, error: sqlite3.DatabaseError) -> TokenStoreError:
    text = str(error)
    if "locked" in text or "busy" in text:
        return TokenStoreError(
            f"the token store {path} stayed locked by another process for 30 s; retry when the "
            "other polar-metrics command has finished."
        )
    return TokenStoreError(
        f"the token store {path} is unreadable or corrupt ({text}). Move it aside (e.g. "
        f"`mv {path} {path}.broken`) and run `polar-metrics connect` again; nothing was deleted."
    )


def _fetch(db: sqlite3.Connection, name: str) -> StoredConnection | None:
    row = db.execute(f"select {_COLUMNS} from connections where name = ?", (name,)).fetchone()
    return _from_row(row) if row else None


def _write(db: sqlite3.Connection, row: StoredConnection) -> None:
    db.execute(
        f"insert or replace into connections ({_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _to_params(row),
    )


def _from_row(row: tuple[Any, ...]) -> StoredConnection:
    try:
        metadata = json.loads(row[7] or "{}")
    except json.JSONDecodeError:
        raise sqlite3.DatabaseError(f"metadata of connection {row[0]!r} is not JSON") from None
    return StoredConnection(
        name=row[0],
        status=row[1],
        environment=row[2],
        access_token_ct=row[3],
        refresh_token_ct=row[4],
        access_token_expires_at=_parse_time(row[5]),
        granted_scopes=tuple(row[6].split()) if row[6] else (),
        metadata=metadata,
        generation=int(row[8]),
        created_at=_parse_time(row[9]) or datetime.now(UTC),
        updated_at=_parse_time(row[10]) or datetime.now(UTC),
    )


def _to_params(row: StoredConnection) -> tuple[Any, ...]:
    return (
        row.name,
        row.status,
        row.environment,
        row.access_token_ct,
        row.refresh_token_ct,
        row.access_token_expires_at.isoformat() if row.access_token_expires_at else None,
        " ".join(row.granted_scopes),
        json.dumps(row.metadata, sort_keys=True),
        row.generation,
        row.created_at.isoformat(),
        row.updated_at.isoformat(),
    )


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
