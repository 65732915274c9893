"""One request budget per OAuth app, shared by every process and thread on this host.

Polar counts requests per OAuth client in a 60-second window (500/min in production), whichever
process, thread or merchant account sends them. So every `PolarClient` of a deployment draws
from one log of sent requests in a small SQLite file next to the token store, and a 429 seen by
any of them pauses all of them for its Retry-After.

Why our own and not pyrate-limiter's SQLite bucket: a bucket answers "is there room?", first
come first served, so a large account syncing in ten threads takes nearly every freed slot while
a small one waits. Fairness needs the choice of who gets the next slot made with every waiter in
view, in the same transaction that counts the window: the waiting connection that sent the fewest
requests in the window goes first, then the oldest ticket. The shared Retry-After pause belongs
in that transaction too. SQLite (`BEGIN IMMEDIATE`) gives the cross-process atomicity; the rest
is three small tables.
"""

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from connectors.polar.config import PolarSettings
from connectors.polar.rate_budget import DEFAULT_HEADROOM, WINDOW_SECONDS, budget_capacity

POLL_SECONDS = 0.02  # how soon a waiter whose turn has not come looks again
MAX_SLEEP_SECONDS = 2.0  # waiters look at least this often, so the live ones stay "seen"
STALE_WAITER_SECONDS = 15.0  # a waiter unseen this long died (killed process): forget it
LOCK_WAIT_SECONDS = 60.0  # a busy file: how long a process waits for the others' turns
SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (app TEXT NOT NULL, connection TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sent_by_app_time ON sent (app, at);
CREATE TABLE IF NOT EXISTS waiting (
    ticket INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    connection TEXT NOT NULL,
    seen REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pauses (app TEXT PRIMARY KEY, resume_at REAL NOT NULL);
"""


class SharedRequestBudget:
    """The `RequestBudget` interface (acquire, pause, paused) over a file every process shares.

    `app` names the bucket (API base URL and OAuth client id), `connection` the account whose
    requests these are (the unit of fairness). Times are wall-clock seconds (`time.time`), the
    one clock every process on the host reads alike.
    """

    def __init__(
        self,
        path: Path,
        app: str,
        connection: str,
        per_minute: int | None,
        *,
        headroom: float = DEFAULT_HEADROOM,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = budget_capacity(per_minute, headroom)
        self.path, self.app, self.connection = path, app, connection
        self.window = window_seconds
        self._clock, self._sleep = clock, sleep
        self._local = threading.local()  # sqlite3 connections are per thread
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db().executescript(SCHEMA)
        path.chmod(0o600)  # who sends what, and when, is nobody else's business

    def acquire(self) -> float:
        """Wait until this request fits the shared budget and it is this connection's turn;
        record it; gives the seconds waited."""
        waited, ticket = 0.0, None
        try:
            while True:
                with self._transaction() as db:
                    wait, ticket = self._try_take(db, self._clock(), ticket)
                if wait <= 0:
                    return waited
                self._sleep(wait)
                waited += wait
        finally:
            if ticket is not None:  # interrupted while waiting: leave the queue
                with self._transaction() as db:
                    db.execute("DELETE FROM waiting WHERE ticket = ?", (ticket,))

    def pause(self, seconds: float) -> None:
        """Hold every process's requests to this app for `seconds` (Polar said Retry-After)."""
        resume_at = self._clock() + seconds
        with self._transaction() as db:
            db.execute(
                "INSERT INTO pauses (app, resume_at) VALUES (?, ?) ON CONFLICT (app) "
                "DO UPDATE SET resume_at = max(resume_at, excluded.resume_at)",
                (self.app, resume_at),
            )

    @property
    def paused(self) -> bool:
        """Whether a pause (from any process) is still running."""
        row = self._db().execute("SELECT resume_at FROM pauses WHERE app = ?", (self.app,))
        found = row.fetchone()
        return found is not None and found[0] > self._clock()

    def _try_take(
        self, db: sqlite3.Connection, now: float, ticket: int | None
    ) -> tuple[float, int | None]:
        """(seconds to wait, ticket still queued) — (0, None) when the request was recorded."""
        paused = db.execute("SELECT resume_at FROM pauses WHERE app = ?", (self.app,)).fetchone()
        pause_left = paused[0] - now if paused else 0.0
        if self.capacity is None:  # no limit known: only a shared Retry-After pause holds us
            return max(min(pause_left, MAX_SLEEP_SECONDS), 0.0), None
        db.execute("DELETE FROM sent WHERE app = ? AND at <= ?", (self.app, now - self.window))
        db.execute("DELETE FROM waiting WHERE seen < ?", (now - STALE_WAITER_SECONDS,))
        ticket = self._queued(db, now, ticket)
        if pause_left > 0:
            return min(pause_left, MAX_SLEEP_SECONDS), ticket
        count, oldest = db.execute(
            "SELECT count(*), min(at) FROM sent WHERE app = ?", (self.app,)
        ).fetchone()
        if count >= self.capacity:
            until_free = oldest + self.window - now
            return min(max(until_free, POLL_SECONDS), MAX_SLEEP_SECONDS), ticket
        if self._next_ticket(db) != ticket:
            return POLL_SECONDS, ticket
        db.execute("DELETE FROM waiting WHERE ticket = ?", (ticket,))
        db.execute("INSERT INTO sent VALUES (?, ?, ?)", (self.app, self.connection, now))
        return 0.0, None

    def _queued(self, db: sqlite3.Connection, now: float, ticket: int | None) -> int:
        """This caller's ticket, refreshed as seen (re-queued if it was forgotten as stale)."""
        if ticket is not None:
            updated = db.execute("UPDATE waiting SET seen = ? WHERE ticket = ?", (now, ticket))
            if updated.rowcount:
                return ticket
        cursor = db.execute(
            "INSERT INTO waiting (app, connection, seen) VALUES (?, ?, ?)",
            (self.app, self.connection, now),
        )
        return int(cursor.lastrowid or 0)

    def _next_ticket(self, db: sqlite3.Connection) -> int | None:
        """Whose turn it is: the waiting connection with the fewest requests in the window."""
        row = db.execute(
            "SELECT w.ticket FROM waiting w LEFT JOIN "
            "(SELECT connection, count(*) AS n FROM sent WHERE app = ? GROUP BY connection) s "
            "ON s.connection = w.connection WHERE w.app = ? "
            "ORDER BY coalesce(s.n, 0), w.ticket LIMIT 1",
            (self.app, self.app),
        ).fetchone()
        return None if row is None else int(row[0])

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
            _use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")  # a lost log entry after a crash is harmless
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")  # one writer decides at a time, across processes
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting while another process is doing the same.

    SQLite can refuse the switch with "database is locked" at once, without waiting the busy
    timeout: six processes opening a new budget file at the same instant, 40 times, failed 11
    of their 240 opens that way (`refresh --all` workers on a new state directory).
    """
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(POLL_SECONDS)


def shared_budget_for(settings: PolarSettings, connection_name: str) -> SharedRequestBudget:
    """The deployment's budget for the OAuth app of `settings`, drawn on by `connection_name`.

    One file per state directory; one bucket per (API, OAuth client id), as Polar counts them.
    """
    return SharedRequestBudget(
        settings.home / "request_budget.sqlite",
        f"{settings.environment.api_base_url} {settings.client_id or 'no-client-id'}",
        connection_name,
        settings.rate_limit_per_minute,
    )
