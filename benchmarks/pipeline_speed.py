"""Benchmark: the whole demo (`polar-metrics demo`, what `make demo` runs) and `dbt build`.

    .venv/bin/python -m benchmarks.pipeline_speed [--runs 1] [--quick]

The demo starts the emulator, connects through OAuth, runs the full Dagster graph (raw assets,
dbt, dashboard, alerts) and prints the summary; it runs in a temporary directory. Then `dbt
build` runs again, alone, on the demo's warehouse (its own process, as a user would run it).
"""

import argparse
import os
import re
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import BIN, dbt_build, print_table, timed_process


def clean_env() -> dict[str, str]:
    """The environment without any POLAR_ setting (the demo makes its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("POLAR_", "DAGSTER_HOME"))}


def run_demo(work_dir: Path) -> tuple[float, str]:
    """(wall seconds, the demo's own 'finished in' line) of one `polar-metrics demo`."""
    seconds, result = timed_process([str(BIN / "polar-metrics"), "demo"], clean_env(), work_dir)
    finished = re.search(r"Demo finished in [0-9.]+ s", result.stdout)
    return seconds, finished.group(0) if finished else "?"


def main(argv: list[str] | None = None) -> int:
    """Run the demo and dbt build; print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="demo runs (median)")
    parser.add_argument("--quick", action="store_true", help="one run of each")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    demo_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for _ in range(runs):
            seconds, finished = run_demo(work)
            demo_times.append(seconds)
        state = work / ".demo"
        env = {
            **clean_env(),
            "POLAR_METRICS_HOME": str(state),
            "POLAR_METRICS_WAREHOUSE": str(state / "warehouse.duckdb"),
        }
        dbt_seconds, dbt_outcome = dbt_build(env, work)
        parse_seconds, _ = timed_process(
            [str(BIN / "dbt"), "--version"], env, work
        )  # dbt's own process start-up, for scale
    print_table(
        "Demo and dbt build (scenario `default`: 3 organizations, 90-day window)",
        ["measure", "seconds"],
        [
            (
                f"`polar-metrics demo` process wall time (median of {runs})",
                f"{statistics.median(demo_times):.1f}",
            ),
            ("  the demo's own report", finished),
            ("`dbt build` process wall time (project parse included)", f"{dbt_seconds:.1f}"),
            ("  dbt outcome", dbt_outcome),
            ("  `dbt --version` process start-up, for scale", f"{parse_seconds:.1f}"),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
