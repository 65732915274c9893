"""Benchmark: metrics refresh wall time for 10, 50 and 200 organizations at 200 ms latency.

    .venv/bin/python -m benchmarks.refresh_scaling [--orgs 10 50 200] [--latency-ms 200] [--quick]

For each size: a fresh `many` emulator in its own process (so its work does not compete with
the refresh for this process's interpreter) adding the latency to every call, the real OAuth
connection, one warm-up refresh, then the refresh at the configured concurrency and at
concurrency 1, each writing every answer to DuckDB. Compared with the ideal bound
max(latency x ceil(calls / concurrency), calls / rate limit), where calls = organizations + 1
(the `all` series); the emulator's rate limit is off, and the last column gives the floor Polar's
production budget (500 requests/minute per OAuth client) would impose.
"""

import argparse
import math
import os
import tempfile
from pathlib import Path

from benchmarks.common import print_table, saved_environment
from benchmarks.refresh_concurrency import timed_refresh
from benchmarks.refresh_memory import emulator_process
from connectors.polar.config import DEFAULT_CONCURRENCY, PolarSettings
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)

POLAR_PRODUCTION_PER_MINUTE = 500


def measure(orgs: int, latency_ms: int, concurrency: int, sequential: bool) -> list[object]:
    """One table row: wall times next to the ideal bound for `orgs` organizations."""
    with (
        reserved_loopback_port() as port,
        tempfile.TemporaryDirectory() as tmp,
        emulator_process(orgs, port, latency_ms) as (found, _),
        saved_environment(),
    ):
        os.environ.update(
            emulator_environment(
                found["base_url"], found["client_id"], found["client_secret"], Path(tmp)
            )
        )
        os.environ["POLAR_RATE_LIMIT_PER_MINUTE"] = "0"
        settings = PolarSettings.from_env()
        connection = connect_headless(settings, "default", port)
        calls = sum(1 for o in connection.organizations() if o.is_queried) + 1
        timed_refresh(settings, connection, concurrency)  # warm-up: emulator histories
        concurrent, _ = timed_refresh(settings, connection, concurrency)
        serial = timed_refresh(settings, connection, 1)[0] if sequential else None
    latency = latency_ms / 1000
    ideal = latency * math.ceil(calls / concurrency)  # the emulator's rate limit is off
    polar_floor = calls / (POLAR_PRODUCTION_PER_MINUTE / 60)
    return [
        orgs,
        calls,
        f"{concurrent:.2f}",
        f"{serial:.2f}" if serial is not None else "skipped",
        f"{ideal:.2f}",
        f"{concurrent / ideal:.2f}x",
        f"{serial / concurrent:.1f}x" if serial is not None else "-",
        f"{max(ideal, polar_floor):.1f}",
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the sizes and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--quick", action="store_true", help="10 and 50 organizations only")
    args = parser.parse_args(argv)
    sizes = [n for n in args.orgs if n <= 50] if args.quick else args.orgs
    rows = [measure(n, args.latency_ms, args.concurrency, sequential=True) for n in sizes]
    print_table(
        f"Refresh wall time, {args.latency_ms} ms latency per call, concurrency "
        f"{args.concurrency} (90-day window, DuckDB writes included)",
        [
            "orgs",
            "calls",
            "concurrent s",
            "sequential s",
            "ideal s",
            "conc/ideal",
            "seq/conc",
            "floor at Polar 500/min s",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
