"""`polar-metrics refresh`, `backfill` and `demo`: the pipeline from the command line."""

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING

from connectors.polar.config import DEFAULT_CONNECTION
from orchestration.cli.exit_codes import EXIT_PARTIAL
from orchestration.cli.progress import ENTITIES
from orchestration.outputs.formatting import terminal_safe

if TYPE_CHECKING:
    from orchestration.cli.runner import PipelineReport


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the pipeline commands."""
    refresh = subparsers.add_parser(
        "refresh",
        help="refresh the warehouse: the same asset graph Dagster materializes",
        description="Discover organizations, load the metrics window, then build the dbt marts "
        "and outputs (when present). Exit codes: 0 success, 1 failed, 3 partial (some "
        "organizations failed and kept their previous data).",
    )
    refresh.add_argument("--connection", default=DEFAULT_CONNECTION, help="connection name")
    refresh.add_argument(
        "--recent", action="store_true", help="only yesterday and today (the hourly refresh)"
    )
    refresh.add_argument(
        "--all",
        action="store_true",
        help="every active connection (raw tables of each, then dbt and outputs once), "
        "one result line each",
    )
    refresh.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="with --all: connections refreshed at once, each in its own process (default 2)",
    )
    refresh.set_defaults(func=refresh_command)

    backfill = subparsers.add_parser(
        "backfill",
        help="load history older than the cached window (resumable)",
        description="Fetch daily metrics from --since up to the day before the cached window, in "
        "the largest windows Polar allows (366 days). Re-running resumes where it stopped. Run it "
        "when no Dagster run is writing the warehouse.",
    )
    backfill.add_argument("--since", required=True, type=_day, help="first day, YYYY-MM-DD")
    backfill.add_argument("--connection", default=DEFAULT_CONNECTION, help="connection name")
    backfill.set_defaults(func=backfill_command)

    demo = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on the embedded emulator (no account needed)",
        description="Start the Polar emulator on loopback, connect with the real OAuth flow, "
        "refresh everything into .demo/ in the current directory (recreated on each run), and "
        "print what happened.",
    )
    demo.set_defaults(func=demo_command)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD") from None


def refresh_command(args: argparse.Namespace) -> int:
    """Handler of `polar-metrics refresh`."""
    from connectors.polar.config import PolarSettings
    from orchestration.cli.refresh_join import run_or_join

    settings = PolarSettings.from_env()
    # dbt reads the warehouse path from this variable; make it agree with ours.
    os.environ.setdefault("POLAR_METRICS_WAREHOUSE", str(settings.warehouse_path))
    if args.all:
        from orchestration.cli.refresh_all import DEFAULT_WORKERS, refresh_all

        workers = args.workers or DEFAULT_WORKERS
        return refresh_all(settings, recent_only=args.recent, workers=workers)
    if args.workers is not None:
        print("--workers applies to `refresh --all` only.", file=sys.stderr)
        return 2
    return run_or_join(
        settings.home,
        args.connection,
        "recent" if args.recent else "full",
        lambda: run_and_print(args.connection, recent_only=args.recent),
        say=lambda line: print(line, file=sys.stderr, flush=True),
    )


def run_and_print(connection_name: str, *, recent_only: bool = False) -> int:
    """Run the graph with one line per stage (dbt's log to a file); the outcome; the exit code."""
    from connectors.polar.config import PolarSettings
    from orchestration.cli.interrupts import watch_interrupts
    from orchestration.cli.progress import DBT_LOG_NAME, StageProgress, dbt_output_to_file
    from orchestration.cli.runner import run_refresh
    from orchestration.defs.dbt.runs import dbt_state_dir

    started = time.monotonic()
    settings = PolarSettings.from_env()
    print(f"Refreshing connection '{connection_name}' ({settings.environment.name})...")
    dbt_log = dbt_state_dir(settings.home) / DBT_LOG_NAME
    with (
        watch_interrupts() as interrupt,
        _writer_waits_on_stderr(),
        dbt_output_to_file(dbt_log) as terminal,
    ):
        progress = StageProgress(terminal, dbt_log, 0 if recent_only else len(ENTITIES))
        report = run_refresh(
            connection_name=connection_name,
            recent_only=recent_only,
            on_step=progress,
            should_stop=lambda: interrupt.received() is not None,
        )
        if interrupt.received() or report.interrupted:
            # Dagster handles SIGINT and SIGTERM alike: the watch names the signal; should it
            # have none, Dagster still saw one (130, as for Ctrl-C)
            return _report_interrupted(
                report,
                interrupt.signal_name() or "SIGINT or SIGTERM",
                interrupt.exit_code() or 128 + signal.SIGINT,
            )
    for check in report.failed_checks:
        print(f"  check failed: {check}")
    metrics = report.materialized.get("polar_metrics_daily", {})
    outcome = "refreshed" if report.success else "FAILED"
    if report.success and metrics.get("refresh_status") == "partial":
        outcome = "partially refreshed (some organizations kept their previous data)"
    print(
        f"Connection '{connection_name}' {outcome} in {time.monotonic() - started:.1f} s: "
        f"{len(report.materialized)} asset(s) materialized"
    )
    if not report.success:
        if report.run_error and not report.failed_steps:  # no step said why: the run does
            print(f"  the run failed: {report.run_error}", file=sys.stderr)
        return 1
    return EXIT_PARTIAL if metrics.get("refresh_status") == "partial" else 0


def _report_interrupted(report: "PipelineReport", signal_name: str, exit_code: int) -> int:
    """Say what completed before the signal and that re-running resumes; 128 + the signal."""
    completed = ", ".join(report.materialized) or "nothing"
    print(f"polar-metrics: interrupted ({signal_name}).", file=sys.stderr)
    print(f"  completed: {completed}", file=sys.stderr)
    if report.interrupted_steps:
        print(f"  stopped: {', '.join(report.interrupted_steps)}", file=sys.stderr)
    print(
        "  What completed is kept in the warehouse; run `polar-metrics refresh` again to resume.",
        file=sys.stderr,
    )
    return exit_code


@contextmanager
def _writer_waits_on_stderr() -> Iterator[None]:
    """Show the writer lock's "waiting for ... in PID N, 12 s" lines while the block runs."""
    from orchestration.warehouse.writer_lock import WAIT_LOGGER

    logger = logging.getLogger(WAIT_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def backfill_command(args: argparse.Namespace) -> int:
    """Handler of `polar-metrics backfill`."""
    from orchestration.extract.backfill import run_backfill

    outcome = run_backfill(args.connection, args.since, on_progress=_progress_bar)
    print(file=sys.stderr)
    if outcome.until is None:
        print(f"Nothing to do: {args.since} is inside the cached window.")
        return 0
    print(
        f"History {outcome.since}..{outcome.until}: {outcome.windows_total} window(s), "
        f"{outcome.windows_skipped} already done, {outcome.rows_written} rows written"
    )
    for failure in outcome.failures:
        print(f"  failed (re-run to retry): {terminal_safe(failure)}", file=sys.stderr)
    return 1 if outcome.failures else 0


def _progress_bar(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    shown = terminal_safe(label)[:40]
    print(f"\r[{bar}] {done}/{total} {shown:40}", end="", file=sys.stderr, flush=True)


def demo_command(args: argparse.Namespace) -> int:
    """Handler of `polar-metrics demo`."""
    from orchestration.cli.demo import run_demo

    return run_demo(print_line=print, run_pipeline=run_and_print)
