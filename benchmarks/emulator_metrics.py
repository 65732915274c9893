"""Benchmark: the emulator's multi-organization metrics call at 200 organizations, over HTTP.

    .venv/bin/python -m benchmarks.emulator_metrics [--orgs 200] [--runs 5] [--quick]

One `many` emulator in this process, connected through OAuth; the call sums every organization's
90-day daily series (what a refresh's `all` call asks). Measured: the cold call (histories
simulated), warm calls with each organization's computed components cached (the emulator as it
runs), and warm calls with that cache emptied before each (what every warm call cost before the
cache). Both warm forms alternate in one run, so their ratio holds on a noisy machine.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from benchmarks.common import CONNECTION, emulated_environment, print_table
from connectors.polar.client import PolarClient
from connectors.polar.config import PolarSettings
from connectors.polar.connection import PolarConnection
from connectors.polar_emulator.business.world import forget_shared_histories
from orchestration.extract.scopes import local_today


def timed(action: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Cold, warm cached and warm uncached calls; one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="50 organizations, 3 runs")
    args = parser.parse_args(argv)
    orgs, runs = (50, 3) if args.quick else (args.orgs, args.runs)
    forget_shared_histories()  # cold: no earlier emulator of this process simulated them
    with tempfile.TemporaryDirectory() as tmp:
        with emulated_environment(Path(tmp), orgs=orgs) as (emulator, _):
            settings = PolarSettings.from_env()
            auth = PolarConnection.open(settings, CONNECTION).http_auth()
            histories = emulator.state.world._histories
            with PolarClient(settings.environment.api_base_url, auth) as client:
                ids = [o.id for o in client.list_organizations() if o.is_queried]
                today = local_today("UTC")

                def call() -> object:
                    return client.get_metrics(
                        start_date=today - timedelta(days=89), end_date=today, organization_ids=ids
                    )

                def uncached() -> object:
                    for history in histories.values():
                        history.lookups.pop("metrics.components", None)
                    return call()

                cold = timed(call)
                cached, emptied = [], []
                for _ in range(runs):
                    cached.append(timed(call))
                    emptied.append(timed(uncached))
    warm, before = statistics.median(cached), statistics.median(emptied)
    print_table(
        f"The emulator's metrics call for {len(ids)} organizations (90 days, daily, over HTTP)",
        ["measure", "seconds", "target"],
        [
            ("cold (histories simulated)", f"{cold:.2f}", ""),
            (f"warm, cache emptied before each (before; median of {runs})", f"{before:.2f}", ""),
            (f"warm, cached (after; median of {runs})", f"{warm:.3f}", "< 0.5"),
            ("after / before", f"{warm / before:.3f}x", ""),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
