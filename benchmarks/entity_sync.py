"""Benchmark: first and daily incremental sync of the five entities at Polar's rate limit.

    .venv/bin/python -m benchmarks.entity_sync [--organizations 50] [--latency-ms 200]
        [--rate-limit 500] [--concurrency 10]

The emulator (`many` scenario, `--organizations` active organizations) runs in its own process,
adds `--latency-ms` to every request and enforces `--rate-limit` requests/minute like Polar.
The real sync (`orchestration.extract.entities.sync_entity`, as the entity assets call it, with
the client's request budget at the same rate) writes products, customers, subscriptions,
refunds and orders into a DuckDB file in a temporary directory. Then the emulator's clock moves
one day forward (`POST /__emulator__/clock {"advance_days": 1}`) and the daily sync runs in a
fresh client, as the next day's process would, after the emulator's rate-limit window is reset
(a day has passed).

Prints requests per entity (the sync's own count, checked against the emulator's), wall time
against the rate-limit bound (requests / rate per minute; target <= 1.3x), incremental requests
as a share of the first sync's (target <= 10 %) and the peak RSS of this process
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`; the emulator is another process, not counted).
"""

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from benchmarks.common import print_table
from benchmarks.refresh_concurrency import emulator_process
from connectors.polar.client import PolarClient
from connectors.polar.config import DEFAULT_CONCURRENCY, PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar.pii import pii_policy
from connectors.polar_emulator.config import EmulatorConfig
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.extract.entities import ENTITY_ORDER, EntitySyncOutcome, sync_entity
from orchestration.extract.entity_run import SyncPolicy

CONNECTION = "default"
ENTITY_PATHS = {entity: f"/v1/{entity}/" for entity in ENTITY_ORDER}


@dataclass
class SyncRun:
    """One sync of the five entities: outcomes, wall seconds, the emulator's own counts."""

    outcomes: dict[str, EntitySyncOutcome]
    seconds: dict[str, float]
    served: dict[str, int]  # requests the emulator served per entity path
    rate_limited: int  # 429s the emulator answered
    cpu: float  # CPU seconds of this process (the sync: parsing, hashing, DuckDB)
    emulator_cpu: float  # CPU seconds of the emulator's process (Polar's side)

    @property
    def requests(self) -> int:
        """Requests the sync counted, all entities."""
        return sum(o.requests for o in self.outcomes.values())

    @property
    def wall(self) -> float:
        """Wall seconds of the five entity syncs."""
        return sum(self.seconds.values())


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def emulator_cpu_seconds() -> float:
    """CPU seconds (user + system) of the emulator's process so far, from /proc (Linux)."""
    total = 0.0
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def control(base_url: str, method: str, path: str, body: object = None) -> dict:
    """One call to the emulator's /__emulator__/ control paths (not rate limited)."""
    response = httpx.request(method, f"{base_url}/__emulator__/{path}", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def emulator_now(base_url: str) -> datetime:
    """The emulator business's clock: the sync's `now` (look-backs, sweeps)."""
    return datetime.fromisoformat(control(base_url, "GET", "clock")["now"].replace("Z", "+00:00"))


def new_day(base_url: str, rate_limit: int) -> None:
    """Fresh counters and a fresh rate-limit window (setting the limit resets the limiter)."""
    control(base_url, "POST", "faults", {"rate_limit_per_minute": rate_limit or None})
    control(base_url, "POST", "stats/reset")


def sync_all(
    base_url: str,
    settings: PolarSettings,
    connection: PolarConnection,
    args: argparse.Namespace,
    label: str,
) -> SyncRun:
    """Sync the five entities in the pipeline's order with one client, as one refresh does."""
    new_day(base_url, args.rate_limit)
    now = emulator_now(base_url)
    cpu_started, emulator_started = time.process_time(), emulator_cpu_seconds()
    outcomes: dict[str, EntitySyncOutcome] = {}
    seconds: dict[str, float] = {}
    with PolarClient(
        settings.environment.api_base_url,
        connection.http_auth(),
        rate_limit_per_minute=args.rate_limit or None,
    ) as client:
        for entity in ENTITY_ORDER:
            started = time.perf_counter()
            outcome = sync_entity(
                client,
                warehouse_path=settings.warehouse_path,
                connection_name=CONNECTION,
                organizations=connection.organizations(),
                entity=entity,
                policy=SyncPolicy(settings.orders_lookback_days, settings.customers_sweep_days),
                pii=pii_policy(settings),
                now=lambda: now,
                concurrency=args.concurrency,
            )
            seconds[entity] = time.perf_counter() - started
            outcomes[entity] = outcome
            if outcome.failed or outcome.missing_scope:
                raise SystemExit(
                    f"{label} sync of {entity} failed: "
                    f"{[f.error for f in outcome.failed] or outcome.scope_error}"
                )
            print(
                f"  {label} {entity}: {outcome.requests} requests, {outcome.rows} rows, "
                f"{seconds[entity]:.1f} s, peak RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )
    cpu, emulator_cpu = time.process_time() - cpu_started, emulator_cpu_seconds() - emulator_started
    stats = control(base_url, "GET", "stats")
    served = {
        entity: sum(
            n for key, n in stats["requests"].items() if key.split(" ", 1)[-1].startswith(path)
        )
        for entity, path in ENTITY_PATHS.items()
    }
    return SyncRun(outcomes, seconds, served, int(stats["rate_limited"]), cpu, emulator_cpu)


def main(argv: list[str] | None = None) -> int:
    """Run both syncs and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--rate-limit", type=int, default=500, help="per minute, 0 = off")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--quick", action="store_true", help="5 organizations")
    args = parser.parse_args(argv)
    if args.quick:
        args.organizations = 5
    saved = dict(os.environ)
    try:
        with ExitStack() as stack:
            port = stack.enter_context(reserved_loopback_port())
            config = EmulatorConfig(
                scenario="many",
                orgs=args.organizations,
                latency_ms=args.latency_ms,
                rate_limit_per_minute=args.rate_limit or None,
                auto_approve=True,
                redirect_uris=(f"http://127.0.0.1:{port}/callback",),
            )
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            emulator = stack.enter_context(emulator_process(config))
            base_url = emulator[0]
            env = emulator_environment(*emulator, Path(tmp))
            os.environ.update({**env, "POLAR_RATE_LIMIT_PER_MINUTE": str(args.rate_limit)})
            settings = PolarSettings.from_env()
            connection = connect_headless(settings, CONNECTION, port)
            active = sum(1 for o in connection.organizations() if o.is_queried)
            rss_before = peak_rss_mb()
            print(f"{active} active organizations; first sync", flush=True)
            first = sync_all(base_url, settings, connection, args, "first")
            control(base_url, "POST", "clock", {"advance_days": 1})
            print("clock advanced 1 day; daily sync", flush=True)
            daily = sync_all(base_url, settings, connection, args, "daily")
            warehouse_mb = settings.warehouse_path.stat().st_size / 1e6
    finally:
        os.environ.clear()
        os.environ.update(saved)
    report(args, active, first, daily, rss_before, warehouse_mb)
    return 0


def report(
    args: argparse.Namespace,
    active: int,
    first: SyncRun,
    daily: SyncRun,
    rss_before: float,
    warehouse_mb: float,
) -> None:
    """The tables: requests per entity, then wall time against the bound and memory."""
    rows = [
        (
            entity,
            first.outcomes[entity].requests,
            first.served[entity],
            f"{first.seconds[entity]:.1f}",
            daily.outcomes[entity].requests,
            daily.served[entity],
            f"{daily.seconds[entity]:.1f}",
        )
        for entity in ENTITY_ORDER
    ]
    rows.append(
        ("total", first.requests, sum(first.served.values()), f"{first.wall:.1f}",
         daily.requests, sum(daily.served.values()), f"{daily.wall:.1f}")
    )  # fmt: skip
    print_table(
        f"Entity sync, {active} organizations of `many`, {args.latency_ms} ms latency, "
        f"{args.rate_limit or 'no'} requests/minute, concurrency {args.concurrency}",
        ("entity", "first: requests", "(served)", "s", "daily: requests", "(served)", "s"),
        rows,
    )
    summary = []
    for label, run in (("first sync", first), ("daily sync", daily)):
        bound = run.requests / (args.rate_limit / 60) if args.rate_limit else 0.0
        ratio = f"{run.wall / bound:.2f}x (target <= 1.3x)" if bound else "n/a (no limit)"
        summary += [
            (f"{label}: wall time", f"{run.wall:.1f} s"),
            (f"{label}: rate-limit bound (requests / {args.rate_limit}/min)", f"{bound:.1f} s"),
            (f"{label}: wall / bound", ratio),
            (f"{label}: 429s answered by the emulator", f"{run.rate_limited}"),
            (
                f"{label}: CPU of the sync / of the emulator",
                f"{run.cpu:.0f} s / {run.emulator_cpu:.0f} s "
                f"(machine: {os.cpu_count()} CPUs, shared)",
            ),
        ]
    share = 100 * daily.requests / first.requests if first.requests else 0.0
    summary += [
        ("daily requests / first sync's", f"{share:.1f} % (target <= 10 %)"),
        ("peak RSS before the first sync", f"{rss_before:.0f} MB"),
        ("peak RSS of this process (ru_maxrss)", f"{peak_rss_mb():.0f} MB"),
        ("warehouse file after both syncs", f"{warehouse_mb:.1f} MB"),
    ]
    print_table("Wall time, requests and memory", ("measure", "value"), summary)


if __name__ == "__main__":
    raise SystemExit(main())
