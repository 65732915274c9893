"""`polar-metrics refresh`, `backfill` and `demo` as a user runs them (real subprocesses)."""

import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.orchestration.conftest import EmulatedPolar, query
from tests.orchestration.helpers import active_org_ids, latest_refresh, materialize_raw

CLI = str(Path(sys.executable).with_name("polar-metrics"))


def run_cli(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the installed console script; its output."""
    return subprocess.run(
        [CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )


def test_backfill_from_the_command_line_shows_progress_and_writes_history(
    polar: EmulatedPolar, warehouse_path: Path, tmp_path: Path
) -> None:
    assert materialize_raw().success
    _, window_start, *_ = latest_refresh(warehouse_path)
    env = {**os.environ, "POLAR_METRICS_WAREHOUSE": str(warehouse_path)}
    since = window_start - timedelta(days=10)
    backfilled = run_cli("backfill", "--since", str(since), cwd=tmp_path, env=env)
    assert backfilled.returncode == 0, backfilled.stderr[-2000:]
    assert "0 already done" in backfilled.stdout and "] " in backfilled.stderr  # progress bar
    history = query(
        warehouse_path,
        "select count(distinct date) from raw.polar_metrics where date < ?",
        [window_start],
    )
    assert history == [(10,)]
    for secret in (polar.env["POLAR_CLIENT_SECRET"], polar.env["POLAR_TOKEN_KEYS"]):
        assert secret not in backfilled.stdout + backfilled.stderr


@pytest.mark.slow
def test_demo_connects_and_loads_ninety_days_for_each_active_organization(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLAR_", "DAGSTER_"))}
    env["HOME"] = str(tmp_path)  # nothing may land in the real home directory
    demo = run_cli("demo", cwd=tmp_path, env=env)
    assert "Connected through OAuth" in demo.stdout, demo.stderr[-3000:]
    # The whole graph ran through `refresh`'s code path; the raw steps must have succeeded
    # (a failing dbt data test is reported by the exit code, and is the marts' business).
    assert "  organizations: 3 found, 2 active" in demo.stdout
    assert "status success" in demo.stdout
    assert demo.returncode == 0 or "FAILED polar_dbt" in demo.stderr, demo.stderr[-3000:]
    # The demo business: all five entities synced, and Polar's schema raises no drift warning.
    assert "scenario 'demo'" in demo.stdout
    synced = next(line for line in demo.stdout.splitlines() if line.startswith("  entities:"))
    for entity in ("products", "customers", "subscriptions", "refunds", "orders"):
        assert f"{entity} " in synced and f"{entity} 0 rows" not in synced, synced
    # Alert rules watch the business, which moves with the real date (on 2026-12-03 the demo's
    # churn was a real spike, 3 against 0.86); every other check must pass.
    failed = [line for line in demo.stdout.splitlines() if "check failed" in line]
    assert all("polar_dashboard:alert_" in line for line in failed), demo.stdout[-3000:]
    assert "schema drift" not in (demo.stdout + demo.stderr).lower(), demo.stdout[-3000:]
    warehouse = tmp_path / ".demo" / "warehouse.duckdb"
    # Tokens and business data are owner-only (the state directory and every file in it).
    assert stat.S_IMODE(warehouse.parent.stat().st_mode) == 0o700
    for name in (
        "tokens.sqlite",
        "warehouse.duckdb",
        "warehouse.serving.duckdb",
        "polar-dashboard.html",
    ):
        assert stat.S_IMODE((warehouse.parent / name).stat().st_mode) == 0o600, name
    org_ids = active_org_ids(warehouse)
    assert len(org_ids) >= 2
    days = query(
        warehouse,
        "select organization_id, count(distinct date) from raw.polar_metrics group by 1",
    )
    assert dict(days) == {**dict.fromkeys(org_ids, 90), "all": 90}


@pytest.mark.parametrize("args", [["backfill", "--since", "yesterday"], ["backfill"]])
def test_bad_backfill_arguments_get_a_usage_error(args: list[str], tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path, env=dict(os.environ))
    assert result.returncode == 2 and "--since" in result.stderr
