"""`polar-metrics refresh`, `backfill` and `demo`: the pipeline from the command line."""

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from connectors.polar.config import DEFAULT_CONNECTION
from orchestration.cli.exit_codes import EXIT_PARTIAL

ENTITIES = ("products", "customers", "subscriptions", "refunds", "orders")


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
        from orchestration.cli.refresh_all import refresh_all

        return refresh_all(settings, recent_only=args.recent)
    return run_or_join(
        settings.home,
        args.connection,
        "recent" if args.recent else "full",
        lambda: run_and_print(args.connection, recent_only=args.recent),
        say=lambda line: print(line, file=sys.stderr, flush=True),
    )


def run_and_print(connection_name: str, *, recent_only: bool = False) -> int:
    """Run the graph with one progress line per step; print the outcome; the exit code."""
    from orchestration.cli.runner import run_refresh

    started = time.monotonic()
    print(f"Refreshing connection '{connection_name}'...", file=sys.stderr)
    with _sync_progress_on_stderr():
        report = run_refresh(
            connection_name=connection_name, recent_only=recent_only, on_step=_print_step
        )
    elapsed = time.monotonic() - started
    metrics = report.materialized.get("polar_metrics_daily", {})
    if metrics:
        print(
            f"Window {metrics.get('window')}: {metrics.get('organizations')} organization(s), "
            f"{metrics.get('rows_written')} rows, status {metrics.get('refresh_status')}"
        )
    synced = [
        f"{entity} {meta.get('rows_written')} rows / {meta.get('requests')} requests"
        for entity in ENTITIES
        if (meta := report.materialized.get(f"polar_{entity}"))
    ]
    if synced:
        print("Entities synced: " + ", ".join(synced))
    for check in report.failed_checks:
        print(f"  check failed: {check}")
    for step, error in report.failed_steps.items():
        print(f"  step failed: {step}: {error}", file=sys.stderr)
    print(f"{len(report.materialized)} asset(s) materialized in {elapsed:.1f} s")
    dashboard = report.materialized.get("polar_dashboard", {}).get("path")
    if dashboard:
        print(f"Dashboard: {dashboard}")
    if not report.success:
        return 1
    return EXIT_PARTIAL if metrics.get("refresh_status") == "partial" else 0


@contextmanager
def _sync_progress_on_stderr() -> Iterator[None]:
    """Print the entity syncs' page progress (a long first sync) and the writer lock's
    "waiting for ..." lines while the block runs."""
    from orchestration.extract.entities import PROGRESS_LOGGER
    from orchestration.warehouse.writer_lock import WAIT_LOGGER

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("    %(message)s"))
    loggers = [logging.getLogger(PROGRESS_LOGGER), logging.getLogger(WAIT_LOGGER)]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, previous, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _print_step(step: str, ok: bool, error: str | None) -> None:
    mark = "done" if ok else "FAILED"
    print(f"  {mark:6} {step}" + (f": {error}" if error else ""), file=sys.stderr, flush=True)


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
        print(f"  failed (re-run to retry): {failure}", file=sys.stderr)
    return 1 if outcome.failures else 0


def _progress_bar(done: int, total: int, label: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    bar = "#" * filled + "." * (width - filled)
    print(f"\r[{bar}] {done}/{total} {label[:40]:40}", end="", file=sys.stderr, flush=True)


def demo_command(args: argparse.Namespace) -> int:
    """Handler of `polar-metrics demo`."""
    from orchestration.cli.demo import run_demo

    return run_demo(print_line=print, run_pipeline=run_and_print)
