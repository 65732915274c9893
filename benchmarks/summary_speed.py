"""Benchmark: `polar-metrics summary --period 30d` at 200 organizations, CLI and query.

    .venv/bin/python -m benchmarks.summary_speed [--orgs 200] [--runs 7] [--quick]

Loads the 90-day window of the `many` scenario into a temporary warehouse, builds the marts
with `dbt build` (its own process, timed), then measures: the CLI's process wall time (median of
`--runs` runs; target < 1 s), the in-process query time of the period summary (median of 50;
target < 5 ms), a custom in-window range through the `marts.polar_summary` macro, and whether
the summary command imported Dagster or dbt (it must not).
"""

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

from benchmarks.common import BIN, dbt_build, loaded_warehouse, median_seconds, print_table
from benchmarks.common import timed_process as run_timed
from orchestration.outputs import summary

CHECK_IMPORTS = """
import sys
from orchestration.cli import main
try:
    main(["summary", "--period", "30d"])
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"dagster", "dagster_dbt", "dbt"})
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\\n")
"""


def query_times(warehouse: Path) -> tuple[float, float, float]:
    """Median seconds: period summary query, custom-range macro query, open + query."""
    with summary.open_read_only(warehouse) as con:
        window = summary.cached_window(con, "default")
        assert window is not None
        start, end = window[1] - timedelta(days=44), window[1] - timedelta(days=15)
        period = median_seconds(
            lambda: summary.read_period_summary(con, "default", "last_30_days"), 50
        )
        custom = median_seconds(lambda: summary.read_custom_summary(con, "default", start, end), 50)

    def open_and_query() -> None:
        with summary.open_read_only(warehouse) as con:
            summary.read_period_summary(con, "default", "last_30_days")

    return period, custom, median_seconds(open_and_query, 20)


def imported_heavy_modules(env: dict[str, str]) -> str:
    """Which of dagster / dagster_dbt / dbt the summary command imported ('' = none)."""
    _, result = run_timed([str(BIN / "python"), "-c", CHECK_IMPORTS], env)
    line = next(x for x in result.stderr.splitlines() if x.startswith("HEAVY="))
    return line.removeprefix("HEAVY=")


def main(argv: list[str] | None = None) -> int:
    """Build the warehouse, measure, print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="50 organizations, 3 CLI runs")
    args = parser.parse_args(argv)
    orgs, runs = (50, 3) if args.quick else (args.orgs, args.runs)
    with tempfile.TemporaryDirectory() as tmp, loaded_warehouse(Path(tmp), orgs) as loaded:
        dbt_seconds, dbt_outcome = dbt_build(loaded.env, Path(tmp))
        command = [str(BIN / "polar-metrics"), "summary", "--period", "30d"]
        run_timed(command, loaded.env)  # warm the OS file cache once
        cli = median_seconds(lambda: run_timed(command, loaded.env), runs)
        python_only = median_seconds(
            lambda: run_timed([str(BIN / "python"), "-c", "import duckdb"], loaded.env), runs
        )
        period, custom, open_query = query_times(loaded.settings.warehouse_path)
        heavy = imported_heavy_modules(loaded.env)
        size_mb = loaded.settings.warehouse_path.stat().st_size / 1e6
    print_table(
        f"Summary at {orgs} organizations (90-day window, warehouse {size_mb:.0f} MB)",
        ["measure", "value", "target"],
        [
            ("raw load (extraction, no latency)", f"{loaded.load_seconds:.2f} s", ""),
            ("dbt build (own process)", f"{dbt_seconds:.2f} s", ""),
            ("  dbt outcome", dbt_outcome, "ERROR=0"),
            (f"`polar-metrics summary --period 30d` (median of {runs})", f"{cli:.3f} s", "< 1 s"),
            ("  of which: python start + `import duckdb`", f"{python_only:.3f} s", ""),
            ("period summary query, in process (median of 50)", f"{period * 1e3:.2f} ms", "< 5 ms"),
            ("custom in-window range via macro (median of 50)", f"{custom * 1e3:.2f} ms", ""),
            ("open read-only + period query (median of 20)", f"{open_query * 1e3:.2f} ms", ""),
            ("Dagster / dbt imported by `summary`", heavy or "none", "none"),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
