"""A polar-metrics-like process for the concurrency tests: calls Polar through PolarConnection.

`python -m tests.connectors.polar.refresh_worker rounds THREADS`: for each `go` line on stdin, opens
the connection, releases THREADS threads together, each makes one API call, and writes one JSON
line (statuses and SHA-256 prefixes of the tokens used: never the token itself).
`python -m tests.connectors.polar.refresh_worker call`: one call, result as JSON on stdout.
`python -m tests.connectors.polar.refresh_worker hold MARKER [SECONDS]`: takes the real
`refresh_lock` of the token store, writes its pid to MARKER, and sleeps while holding the lock
(60 s unless told), so that a test can `kill -9` a process caught holding it.
"""

import hashlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.errors import PolarError
from connectors.polar.single_flight import refresh_lock

API_PATH = "/v1/oauth2/userinfo"


def one_call(
    connection: PolarConnection, settings: PolarSettings, http: httpx.Client
) -> dict[str, Any]:
    """Status of one authenticated API call and a fingerprint of the token it ended with."""
    try:
        response = http.get(
            settings.environment.api_base_url + API_PATH, auth=connection.http_auth()
        )
    except PolarError as error:
        return {"error": type(error).__name__, "message": str(error)}
    sent = response.request.headers.get("authorization", "")
    return {"status": response.status_code, "token": hashlib.sha256(sent.encode()).hexdigest()[:16]}


def run_round(settings: PolarSettings, threads: int, http: httpx.Client) -> list[dict[str, Any]]:
    """THREADS concurrent calls through one freshly opened connection."""
    connection = PolarConnection.open(settings, os.environ.get("WORKER_CONNECTION", "default"))
    barrier = threading.Barrier(threads)
    results: list[dict[str, Any]] = []

    def call() -> None:
        barrier.wait()
        results.append(one_call(connection, settings, http))

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def serve_rounds(threads: int) -> None:
    """Run one round per `go` line on stdin (blocking, no polling); one JSON line back each."""
    settings = PolarSettings.from_env()
    with httpx.Client(timeout=30) as http:  # one client: shared by the threads, like PolarClient
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        for line in sys.stdin:
            if line.strip() != "go":
                return
            sys.stdout.write(json.dumps(run_round(settings, threads, http)) + "\n")
            sys.stdout.flush()


def hold_refresh_lock(marker: Path, seconds: float) -> None:
    """Take the refresh lock as a refresher does, say so in MARKER, then stall inside it."""
    settings = PolarSettings.from_env()
    with refresh_lock(settings.token_store_path, timeout=60):
        marker.write_text(str(os.getpid()))
        time.sleep(seconds)


def main() -> None:
    """Dispatch on the mode argument."""
    # As a command started from a terminal: a suite started in the background (a shell without
    # job control ignores SIGINT there) would otherwise pass the ignored signals on.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.argv[1] == "rounds":
        serve_rounds(int(sys.argv[2]))
    elif sys.argv[1] == "hold":
        hold_refresh_lock(Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 60.0)
    else:
        settings = PolarSettings.from_env()
        connection = PolarConnection.open(settings, os.environ.get("WORKER_CONNECTION", "default"))
        with httpx.Client(timeout=30) as http:
            sys.stdout.write(json.dumps(one_call(connection, settings, http)) + "\n")


if __name__ == "__main__":
    main()
