"""One refresh of a connection at a time: a second `polar-metrics refresh` joins the running one.

A schedule firing while someone refreshes by hand, or five shells started together, all want the
same thing. The first takes `<home>/refresh-<connection>-<kind>.lock` (an exclusive `flock`) and
runs; the others wait for it, then report its outcome (recorded beside the lock) as their own
instead of fetching everything a second time. A holder that dies without an outcome (killed)
leaves no result newer than the waiter's start, so the waiter runs the refresh itself. The
kernel drops a dead holder's flock; nothing stale stays behind.
"""

import fcntl
import json
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from orchestration.warehouse.writer_lock import DEFAULT_WAIT_SECONDS

POLL_SECONDS = 0.5
PROGRESS_EVERY_SECONDS = 15.0


def run_or_join(
    home: Path, connection: str, kind: str, run: Callable[[], int], say: Callable[[str], None]
) -> int:
    """Run the refresh (`run` gives its exit code) unless one is running: then wait for it and
    give its exit code. `say` gets the waiting and joining lines."""
    home.mkdir(parents=True, exist_ok=True)
    stem = home / f"refresh-{_safe(connection)}-{kind}"
    started = time.time()
    fd = os.open(stem.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        holder = _wait_for_turn(fd, connection, say)
        if holder is not None:
            joined = _outcome_since(stem.with_suffix(".result.json"), started)
            if joined is not None:
                finished = datetime.fromtimestamp(joined["finished_at"]).strftime("%H:%M:%S")
                say(
                    f"Joined the refresh of '{connection}' in PID {joined['pid']}: it finished "
                    f"at {finished} with exit code {joined['exit_code']}."
                )
                return int(joined["exit_code"])
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        code = run()
        _record(stem.with_suffix(".result.json"), code)
        return code
    finally:
        os.close(fd)  # releases the flock


def _wait_for_turn(fd: int, connection: str, say: Callable[[str], None]) -> int | None:
    """Take the lock; None if it was free at once, else the PID of the refresh waited for."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        pass
    holder = _holder_pid(fd)
    say(
        f"A refresh of '{connection}' is already running (PID {holder}); waiting for it "
        "instead of doing the work twice."
    )
    started = time.monotonic()
    next_progress = PROGRESS_EVERY_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return holder
        except BlockingIOError:
            pass
        waited = time.monotonic() - started
        if waited >= DEFAULT_WAIT_SECONDS:
            raise TimeoutError(
                f"The refresh of '{connection}' in PID {holder} is still running after "
                f"{waited:.0f} s; let it finish (or stop it) and try again."
            )
        if waited >= next_progress:
            say(f"waiting for the refresh in PID {holder}, {waited:.0f} s")
            next_progress += PROGRESS_EVERY_SECONDS
        time.sleep(POLL_SECONDS)


def _holder_pid(fd: int) -> int:
    try:
        return int(os.pread(fd, 32, 0).decode() or 0)
    except ValueError:
        return 0


def _outcome_since(path: Path, started: float) -> dict | None:
    """The recorded outcome of a refresh that finished after `started`, if any."""
    try:
        outcome = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return outcome if outcome.get("finished_at", 0) >= started else None


def _record(path: Path, exit_code: int) -> None:
    """Write the outcome atomically (a joiner never reads half of it)."""
    outcome = {"pid": os.getpid(), "exit_code": exit_code, "finished_at": time.time()}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(outcome))
    temporary.chmod(0o600)
    os.replace(temporary, path)


def _safe(name: str) -> str:
    """The connection name as a file-name part (names are validated, but stay careful)."""
    return "".join(char if char.isalnum() or char in "-_" else "_" for char in name)
