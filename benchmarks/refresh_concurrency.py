"""Benchmark: concurrent vs sequential metrics refresh on the emulator's `many` scenario.

    .venv/bin/python -m benchmarks.refresh_concurrency [--orgs 50] [--latency-ms 200]

Each metrics call waits `--latency-ms` at the emulator (like Polar's slow metrics endpoint). The
refresh makes one call per active organization plus one `all` call, and writes every answer to a
temporary DuckDB. Prints wall times, the ideal bound max(latency x ceil(N/concurrency),
N / rate limit) and the ratios (targets: <= 1.5x ideal, >= 7x faster than sequential).
"""

import argparse
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

from connectors.polar.client import PolarClient
from connectors.polar.config import DEFAULT_CONCURRENCY, PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import run_emulator
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.extract.metrics import refresh_metrics
from orchestration.extract.scopes import local_today, metrics_window


def timed_refresh(
    settings: PolarSettings, connection: PolarConnection, concurrency: int
) -> tuple[float, float]:
    """(wall, CPU) seconds of one full metrics refresh (fetch + DuckDB writes)."""
    window = metrics_window(local_today("UTC"), 90)
    with PolarClient(
        settings.environment.api_base_url,
        connection.http_auth(),
        rate_limit_per_minute=settings.rate_limit_per_minute,
    ) as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        outcome = refresh_metrics(
            client,
            warehouse_path=settings.warehouse_path,
            connection_name="default",
            organizations=connection.organizations(),
            timezone="UTC",
            window=window,
            concurrency=concurrency,
        )
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    if outcome.status != "success":
        raise SystemExit(f"refresh {outcome.status}: {[s.error for s in outcome.failed]}")
    return elapsed, cpu


def serve(config: EmulatorConfig, started: "Queue[tuple[str, str, str]]", stop: Event) -> None:
    """Child process: serve the emulator until told to stop."""
    with run_emulator(config) as emulator:
        started.put((emulator.base_url, emulator.client_id, emulator.client_secret))
        stop.wait()


@contextmanager
def emulator_process(config: EmulatorConfig) -> Iterator[tuple[str, str, str]]:
    """(base URL, client id, client secret) of an emulator in its own process.

    Like the real Polar, the server must not share this process's GIL: in-process, the
    emulator's metric computations would be billed to the refresh.
    """
    context = multiprocessing.get_context("spawn")
    started: Queue[tuple[str, str, str]] = context.Queue()
    stop = context.Event()
    process = context.Process(target=serve, args=(config, started, stop), daemon=True)
    process.start()
    try:
        yield started.get(timeout=60)
    finally:
        stop.set()
        process.join(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--rate-limit", type=int, default=0, help="client budget/min, 0 = off")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario="many",
            orgs=args.orgs,
            latency_ms=args.latency_ms,
            rate_limit_per_minute=None,
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        emulator = stack.enter_context(emulator_process(config))
        env = emulator_environment(*emulator, Path(tmp))
        os.environ.update({**env, "POLAR_RATE_LIMIT_PER_MINUTE": str(args.rate_limit)})
        settings = PolarSettings.from_env()
        connection = connect_headless(settings, "default", port)
        calls = sum(1 for o in connection.organizations() if o.is_queried) + 1
        timed_refresh(settings, connection, args.concurrency)  # warm-up: emulator histories
        concurrent, cpu = timed_refresh(settings, connection, args.concurrency)
        sequential, _ = timed_refresh(settings, connection, 1)
    print_table(args, calls, concurrent, sequential, cpu)
    return 0


def print_table(
    args: argparse.Namespace, calls: int, concurrent: float, sequential: float, cpu: float
) -> None:
    """The results next to the ideal bound."""
    latency = args.latency_ms / 1000
    by_latency = latency * math.ceil(calls / args.concurrency)
    by_rate = calls / (args.rate_limit / 60) if args.rate_limit else 0.0
    ideal = max(by_latency, by_rate)
    rows = [
        ("metrics calls (orgs + all)", f"{calls}"),
        ("added latency per call", f"{args.latency_ms} ms"),
        ("concurrency", f"{args.concurrency}"),
        ("rate limit", f"{args.rate_limit}/min" if args.rate_limit else "off"),
        ("ideal concurrent bound", f"{ideal:.2f} s"),
        ("concurrent refresh", f"{concurrent:.2f} s"),
        ("sequential refresh (concurrency 1)", f"{sequential:.2f} s"),
        ("CPU of this process, concurrent run", f"{cpu:.2f} s (machine: {os.cpu_count()} CPUs)"),
        ("concurrent / ideal", f"{concurrent / ideal:.2f}x (target <= 1.5x)"),
        ("sequential / concurrent", f"{sequential / concurrent:.1f}x (target >= 7x)"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    raise SystemExit(main())
