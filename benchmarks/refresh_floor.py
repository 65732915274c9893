"""Benchmark: `polar-metrics refresh` of the demo connection against its floor, in the same run.

    .venv/bin/python -m benchmarks.refresh_floor [--runs 3] [--quick]

The floor is what no orchestration can beat: one Python process that imports what a refresh
needs (the Dagster definitions, hence Dagster, dagster-dbt, DuckDB, httpx) and runs one `dbt
build` of the project on the same warehouse, with dbt's partial parse kept between runs as the
refresh keeps it. The refresh is the real command in its own process against the emulator's
`demo` scenario (the first refresh pages every entity; the later ones are what a schedule runs).
Both are measured alternately in one run, so the ratio holds on a shared, noisy machine.
"""

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import BIN, REPO, emulated_environment, print_table, timed_process

FLOOR = """
import subprocess, sys
import orchestration.definitions  # what a refresh imports: Dagster, dagster-dbt, the assets
from orchestration.defs.dbt.project import BUILD_ARGS  # what a refresh's dbt build selects
target = sys.argv[1]
subprocess.run(
    [sys.argv[2], *BUILD_ARGS, "--project-dir", sys.argv[3], "--profiles-dir", sys.argv[3],
     "--target-path", target, "--log-path", target, "--quiet"],
    check=False,
)
"""


def floor_seconds(env: dict[str, str], work: Path) -> float:
    """Wall seconds of the floor process (imports + one `dbt build`)."""
    project = str(REPO / "dbt_project")
    command = [str(BIN / "python"), "-c", FLOOR, str(work / "floor-target"), str(BIN / "dbt")]
    seconds, _ = timed_process([*command, project], env, cwd=work)
    return seconds


def refresh_seconds(env: dict[str, str], work: Path) -> tuple[float, int]:
    """(wall seconds, lines printed) of one `polar-metrics refresh`."""
    seconds, result = timed_process([str(BIN / "polar-metrics"), "refresh"], env, cwd=work)
    return seconds, len((result.stdout + result.stderr).splitlines())


def main(argv: list[str] | None = None) -> int:
    """Refresh and floor alternately; print one table with their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeat refreshes and floors")
    parser.add_argument("--quick", action="store_true", help="two of each")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else args.runs
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with emulated_environment(work / "state", scenario="demo") as (_, env):
            first, lines = refresh_seconds(env, work)
            floor_seconds(env, work)  # the floor's partial parse, as the refresh's, warmed once
            refreshes, floors = [], []
            for _ in range(runs):
                refreshes.append(refresh_seconds(env, work)[0])
                floors.append(floor_seconds(env, work))
    refresh, floor = statistics.median(refreshes), statistics.median(floors)
    ratios = [r / f for r, f in zip(refreshes, floors, strict=True)]
    print_table(
        "Refresh of the demo connection against its floor (same run, alternating)",
        ["measure", "value", "target"],
        [
            ("first `polar-metrics refresh` (every entity paged)", f"{first:.1f} s", ""),
            ("  lines printed", str(lines), ""),
            (f"later `polar-metrics refresh` (median of {runs})", f"{refresh:.1f} s", ""),
            ("floor: imports + one `dbt build` (median)", f"{floor:.1f} s", ""),
            (
                "refresh / floor (median of paired ratios)",
                f"{statistics.median(ratios):.2f}x",
                "<= 1.3x",
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
