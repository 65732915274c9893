"""Run every benchmark and print one table per benchmark.

    .venv/bin/python -m benchmarks [--quick] [--only NAME ...]     (`make benchmarks`)

`--quick` runs smaller sizes for a fast pass. Each benchmark is also runnable alone:
`python -m benchmarks.<name>`.
"""

import argparse
import importlib
import sys
import time

# Order: cheapest first, so a quick look at the first tables comes early.
BENCHMARKS = (
    "summary_speed",
    "emulator_metrics",
    "refresh_floor",
    "refresh_scaling",
    "refresh_concurrency",
    "refresh_memory",
    "pipeline_speed",
    "analytics_build",
    "entity_sync",  # long: paced by Polar's 500 requests/minute, see its docstring
    "many_connections",  # long: 1,000 accounts' first syncs at 500 requests/minute
    "demo_clone",  # a fresh clone's virtualenv and two `make demo` runs
    "tenant_copies",
    "test_suite",  # `make test` on a fresh clone: minutes
)
# refresh_concurrency (owned by the extraction code) has no --quick; it is 50 orgs already.
TAKES_QUICK = {
    "summary_speed",
    "emulator_metrics",
    "refresh_floor",
    "refresh_scaling",
    "refresh_memory",
    "pipeline_speed",
    "analytics_build",
    "entity_sync",
    "many_connections",
    "tenant_copies",
}


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks in turn; non-zero if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args(argv)
    failed = []
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        print(f"--- benchmarks.{name}", flush=True)
        try:
            module.main(["--quick"] if args.quick and name in TAKES_QUICK else [])
        except (Exception, SystemExit) as error:
            failed.append(name)
            print(f"benchmarks.{name} failed: {error}", file=sys.stderr, flush=True)
        print(f"(benchmarks.{name} took {time.perf_counter() - started:.0f} s)\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
