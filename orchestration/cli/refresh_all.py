"""`polar-metrics refresh --all`: every active connection, one result line each.

Each connection's raw tables are refreshed in turn (their requests draw on the one budget of
the OAuth app, shared_budget.py), then dbt and the outputs run once over all of them: a dbt
build of N connections' rows costs about what one costs, N builds cost N times. A connection
that needs re-authorization or fails is reported on its line; the others go on.
"""

import sys
import time

from connectors.polar.config import PolarSettings
from orchestration.cli.exit_codes import EXIT_PARTIAL


def refresh_all(settings: PolarSettings, *, recent_only: bool = False) -> int:
    """Refresh every active connection; exit 0 all ok, 3 some failed, 1 none or the build."""
    from connectors.polar.token_store import TokenStore
    from orchestration.cli.runner import DOWNSTREAM_JOB, RAW_JOB, run_refresh

    names = sorted(
        row.name for row in TokenStore(settings.token_store_path).all() if row.status == "active"
    )
    if not names:
        print("No active connection: run `polar-metrics connect` first.", file=sys.stderr)
        return 1
    print(f"Refreshing {len(names)} connection(s)...", file=sys.stderr, flush=True)
    succeeded = 0
    for name in names:
        started = time.monotonic()
        report = run_refresh(connection_name=name, job_name=RAW_JOB, recent_only=recent_only)
        elapsed = time.monotonic() - started
        metrics = report.materialized.get("polar_metrics_daily", {})
        if report.success and metrics.get("refresh_status") != "partial":
            succeeded += 1
            print(
                f"{name}: ok, {metrics.get('organizations')} organization(s), "
                f"{metrics.get('rows_written')} metric rows ({elapsed:.1f} s)",
                flush=True,
            )
        else:
            reason = next(iter(report.failed_steps.values()), None) or "some organizations failed"
            print(f"{name}: FAILED, {reason} ({elapsed:.1f} s)", flush=True)
    started = time.monotonic()
    build = run_refresh(connection_name=names[0], job_name=DOWNSTREAM_JOB)
    elapsed = time.monotonic() - started
    if not build.success:
        failures = "; ".join(f"{step}: {error}" for step, error in build.failed_steps.items())
        print(f"dbt and outputs: FAILED, {failures} ({elapsed:.1f} s)", flush=True)
        return 1
    print(f"dbt and outputs: ok, once for {len(names)} connection(s) ({elapsed:.1f} s)")
    if succeeded == len(names):
        return 0
    return EXIT_PARTIAL if succeeded else 1
