"""A refresh's writers: DuckDB's memory bounded, the file handed over without a checkpoint, the
WAL folded in when it grows, rows appended in small row groups. (`files.open_warehouse` opens
them; everything here is why and how.)"""

import ctypes
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import duckdb

# A refresh's writers (metrics, entity syncs) bound DuckDB's buffer pool so a
# 1,000-organization refresh stays under 500 MB (DuckDB also allocates ~150 MB outside the pool
# there); 40,000 orders (~3 KB each) written page by page under the bound peaked at 278 MB RSS,
# 359 MB without it. The bound is fixed, not a share of the file: the pool is a cache that fills
# to its limit, so with a quarter of the file a `refresh --all` worker held 649 MB at 250
# connections (a 1.4 GB file), and 1,000 connections (~5 GB) would allow 1.2 GB each. The
# tables written at volume have no key index (schema 5): checkpointing a dirty key index took
# the writer far beyond the pool (525 MB RSS at 8 million metric rows).
BOUNDED_MEMORY_MB = 192
# Every read orders explicitly, so insertion order need not be kept; one DuckDB thread saves
# ~20 MB of per-thread state and the writer waits on commits, not on CPU. No vacuum: see
# WRITERS_DO_NOT_VACUUM.
BOUNDED_WRITER_CONFIG: dict[str, str | bool | int] = {
    "memory_limit": f"{BOUNDED_MEMORY_MB}MB",
    "preserve_insertion_order": False,
    "threads": 1,
    "max_vacuum_tasks": 0,
}


# HANDOVER_WITHOUT_CHECKPOINT: a refresh's writers close the file without checkpointing it.
# `refresh --all` workers take turns and close at nearly every page; each close rewrote the
# changed tables into the file: 56 % of a worker's samples at 450 connections, and the closes
# were the workers' memory peaks. On a 1.8 GB copy, a page cycle's close took 7 ms instead of
# 127 ms (the next open replays the WAL: 53 ms instead of 29). Commits are durable in the WAL
# either way; readers and the serving copy read through it. Every raw-phase writer is bounded:
# an unbounded one checkpoints all the WAL holds at its close (450 -> 573 MB RSS, measured).
# The WAL is checkpointed by the bounded writer that finds it over CHECKPOINT_WAL_BYTES after
# a write or at its close, outside any transaction and with CHECKPOINT_MEMORY; never inside a
# commit at DuckDB's own threshold. A checkpoint now and then merges row groups and needs more
# than the pool: at 526 connections of the 1,000-connection benchmark one failed in the
# writers' 192 MB ("failed to pin block"), which invalidates the database in that process, and
# every later connection of that worker failed. On a copy of that file, mixed page and metrics
# cycles met such a checkpoint every ~45 cycles (4 s; 404 MB RSS in 192 MB, 660 MB in 512 MB).
# Not unbounded: at 350 connections one took a worker to 2.6 GB RSS. dbt and every other
# writer checkpoint at their close as usual.
CHECKPOINT_WAL_BYTES = 16 * 1024 * 1024
CHECKPOINT_MEMORY = "512MB"
# The heavy checkpoints are the entity tables' `item` JSON (orders: 4.7 KB each) in the row group
# being filled: each checkpoint compresses that row group's columns again, up to a whole row
# group of them (122,880 rows by default). With 100-row pages and a checkpoint every 16 MB of
# WAL, a 300-connection refresh's workers reached ~750 MB RSS during such checkpoints (py-spy
# dumps of every worker over 550 MB: all in `checkpoint_large_wal` after an orders page). On a
# copy of that warehouse, 400 pages of its own orders written the workers' way: the worst
# checkpoint's rise 400 MB in row groups of 16,384 rows, 72 MB in 4,096, 11 MB in 2,048, and
# the file no larger (350 MB against 424). A refresh's writers append in row groups of one
# vector (row groups already in the file keep theirs); dbt's build over them took the same
# time as over 16,384-row groups (22-27 s on 130 connections).
WRITER_ROW_GROUP_ROWS = 2_048
# WRITERS_DO_NOT_VACUUM: DuckDB's vacuum merges row groups left thin (by deletes, and by every
# checkpoint: the next append starts a new row group) into full ones, reading their `item` JSON
# into memory. The first checkpoint after an open did so for much of the file, and a worker
# opens the file at nearly every page: at 300-600 connections of the 1,000-connection benchmark
# all 52 py-spy dumps of a worker over 600 MB (up to 884 MB) were in `checkpoint_large_wal`. On
# a copy of that warehouse (1.7 GB, 600 connections) the first checkpoint after the open rose
# 519 MB in 1.9 s (462 MB of it overflow strings), with the vacuum off 0 MB in 0.3 s. Without
# it a checkpoint drops only row groups whose rows are all deleted; the deleted rows of
# row groups still in use are reclaimed by `compact_raw_tables` (warehouse/compaction.py).
# An item listed again unchanged is not deleted at all (entity_writes.upsert_items).


@contextmanager
def memory_limit(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """Set a writer's memory limit for one block (None: DuckDB's default, 80 % of the
    machine's memory), then set it back."""
    (previous,) = con.execute("select current_setting('memory_limit')").fetchone() or ("",)
    if limit is None:
        con.execute("reset memory_limit")
    else:
        con.execute(f"set memory_limit = '{limit}'")
    try:
        yield
    finally:
        con.execute(f"set memory_limit = '{previous}'")


def memory_unbounded(con: duckdb.DuckDBPyConnection) -> AbstractContextManager[None]:
    """Lift a writer's memory limit for one large transaction, then set it back.

    A transaction's own changes stay in memory until it commits: rewriting 40,000 stored orders
    (~3 KB each) in one transaction ran out of memory at 256 MB, in chunks or not.
    """
    return memory_limit(con, None)


# ONE_DUCKDB_PER_PROCESS: a refresh's writers open the file as an ATTACH to one in-memory DuckDB
# that the process keeps, and DETACH it to let go, instead of a new DuckDB per open. Workers of
# `refresh --all` taking turns open the file at nearly every page, under the writer lock that
# every other writer waits on; starting a DuckDB took ~22 ms of each open (on a copy of the
# 1,000-connection benchmark's warehouse at ~30 connections: 24.1 ms a cycle against 2.2 ms
# with its WAL folded in, 63.4 against 33.5 ms with 7.7 MB of WAL to replay).
_WRITERS_LOCK = threading.Lock()
_writers: duckdb.DuckDBPyConnection | None = None
_attached: dict[str, tuple[Path, int]] = {}  # name in DuckDB -> (file, connections open)


@contextmanager
def bounded_writer(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with the file attached under its own name (as `duckdb.connect` names it),
    BOUNDED_WRITER_CONFIG and the writers' row-group size (which only ATTACH takes); the file is
    detached, without a checkpoint, when the last such connection to it ends."""
    name = '"' + path.stem.replace('"', '""') + '"'
    file = path.resolve()
    with _WRITERS_LOCK:
        shared = _attached.get(name, (file, 0))[0] == file
        if shared:
            con = _connect_shared(name, file)
    if not shared:  # another file of that name is attached: this one gets a DuckDB of its own
        with _new_writers() as writers:
            _attach(writers, name, file)
            with writers.cursor() as own:
                own.execute(f"use {name}")
                yield own
        return
    fatal = False
    try:
        con.execute(f"use {name}")
        yield con
    except duckdb.FatalException:  # DuckDB invalidated the whole instance: start a new one
        fatal = True
        raise
    finally:
        con.close()
        with _WRITERS_LOCK:
            _release_shared(name, file, fatal)


def _connect_shared(name: str, file: Path) -> duckdb.DuckDBPyConnection:
    """A new connection to the process's writer DuckDB, `file` attached (call under the lock)."""
    global _writers
    _writers = _writers or _new_writers()
    if name not in _attached:
        _attach(_writers, name, file)
    _attached[name] = (file, _attached.get(name, (file, 0))[1] + 1)
    return _writers.cursor()


def _release_shared(name: str, file: Path, fatal: bool) -> None:
    """One connection to `file` ended: detach it after the last (call under the lock); the
    DuckDB is dropped after a fatal error once nothing uses it."""
    global _writers
    left = _attached[name][1] - 1
    if left:
        _attached[name] = (file, left)
        return
    del _attached[name]
    if _writers is None:
        return
    try:
        if not fatal:
            _writers.execute(f"detach {name}")
            return
    except duckdb.Error:
        pass
    if not _attached:
        _writers.close()
        _writers = None


def release_idle_writers() -> None:
    """Close the process's writer DuckDB if no file is attached to it, and give the memory it
    (or another DuckDB of the process, closed before) freed back to the system.

    Its buffers and what its work allocated stay with the process otherwise: after compacting
    a 1,000-connection warehouse (compaction.py) the `refresh --all` process held 353 MB of
    its own memory (167 MB before) beside dbt's build; closed, 188 MB; trimmed, 172 MB.
    """
    global _writers
    with _WRITERS_LOCK:
        if _attached:
            return
        if _writers is not None:
            _writers.close()
            _writers = None
    if sys.platform.startswith("linux"):  # glibc keeps freed heap unless asked (malloc_trim)
        libc = ctypes.CDLL(None)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(ctypes.c_size_t(0))


def _new_writers() -> duckdb.DuckDBPyConnection:
    writers = duckdb.connect(config=BOUNDED_WRITER_CONFIG)
    writers.execute("pragma disable_checkpoint_on_shutdown")  # HANDOVER_WITHOUT_CHECKPOINT
    writers.execute("set checkpoint_threshold = '1TB'")  # only `checkpoint_large_wal`
    return writers


def _attach(writers: duckdb.DuckDBPyConnection, name: str, file: Path) -> None:
    location = "'" + str(file).replace("'", "''") + "'"
    writers.execute(f"attach {location} as {name} (row_group_size {WRITER_ROW_GROUP_ROWS})")
    # Spills beside the file, as a DuckDB opened on it would (an in-memory DuckDB's default
    # is `.tmp` in the working directory).
    writers.execute(f"set temp_directory = '{str(file).replace(chr(39), chr(39) * 2)}.tmp'")


def checkpoint_large_wal(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Fold a WAL past CHECKPOINT_WAL_BYTES into the file, in CHECKPOINT_MEMORY (outside any
    transaction: a refresh's writer at its close, or a session between writes)."""
    wal = path.with_name(path.name + ".wal")
    if not wal.exists() or wal.stat().st_size < CHECKPOINT_WAL_BYTES:
        return
    with memory_limit(con, CHECKPOINT_MEMORY):
        con.execute("checkpoint")
