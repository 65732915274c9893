"""`polar-metrics summary`: the marts' numbers as a table and JSON, custom ranges, bad input."""

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest

from connectors.polar.catalogue import metrics_by_slug
from orchestration.outputs.formatting import metric_label
from orchestration.outputs.periods import PERIODS
from orchestration.outputs.summary import HEADLINE_METRICS
from tests.orchestration.outputs.conftest import (
    Pipeline,
    assert_shows,
    cli_environment,
    mart_period_values,
)

REPO = Path(__file__).resolve().parents[3]
CLI = str(REPO / ".venv" / "bin" / "polar-metrics")


def run_summary(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "summary", *args], capture_output=True, text=True, env=env, timeout=120
    )


def table_values(output: str) -> dict[str, str]:
    """Label -> value column of the printed table (columns are separated by 2+ spaces)."""
    rows = {}
    for line in output.splitlines()[3:]:
        cells = [cell for cell in line.split("  ") if cell.strip()]
        rows[cells[0].strip()] = cells[1].strip()
    return rows


def metrics_requests(pipeline: Pipeline, scenario: str) -> int:
    stats = httpx.get(f"{pipeline.emulators[scenario].base_url}/__emulator__/stats").json()
    return int(stats["requests"].get("GET /v1/metrics/", 0))


def raw_row_count(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select count(*) from raw.polar_metrics").fetchone()[0]


@pytest.fixture(scope="module")
def env(pipeline: Pipeline) -> dict[str, str]:
    return cli_environment(pipeline, "default")


def test_table_shows_the_marts_values_in_dollars(pipeline: Pipeline, env: dict) -> None:
    result = run_summary(env, "--period", "30d")
    assert result.returncode == 0, result.stderr
    expected = mart_period_values(pipeline.warehouse, "last_30_days")
    shown = table_values(result.stdout)
    for metric in HEADLINE_METRICS:
        assert_shows(metric, shown[metric_label(metric)], expected[metric]["value"])
    assert shown["Revenue"].startswith("$")  # Polar reports money in USD cents (settlement)


@pytest.mark.parametrize("period", list(PERIODS))
def test_json_values_equal_the_marts(pipeline: Pipeline, env: dict, period: str) -> None:
    result = run_summary(env, "--period", period, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    expected = mart_period_values(pipeline.warehouse, PERIODS[period])
    assert document["period"] == PERIODS[period]
    assert set(document["metrics"]) == set(HEADLINE_METRICS)
    for metric, shown in document["metrics"].items():
        assert shown["value"] == expected[metric]["value"]
        assert shown["previous_value"] == expected[metric]["previous_value"]
        assert shown["change_ratio"] == expected[metric]["change_ratio"]


def test_metrics_option_selects_and_orders_metrics(env: dict) -> None:
    result = run_summary(env, "--json", "--metrics", "orders", "ltv")
    assert list(json.loads(result.stdout)["metrics"]) == ["orders", "ltv"]
    bad = run_summary(env, "--metrics", "revenu")
    assert bad.returncode == 1 and "Unknown metric(s) revenu" in bad.stderr


def test_organization_scope_by_slug(pipeline: Pipeline, env: dict) -> None:
    with duckdb.connect(str(pipeline.warehouse), read_only=True) as con:
        org_id, slug = con.execute(
            "select organization_id, organization_slug from marts.polar_organizations "
            "where connection_name = 'default' and is_queried order by organization_name limit 1"
        ).fetchone()
    document = json.loads(run_summary(env, "--organization", slug, "--json").stdout)
    expected = mart_period_values(pipeline.warehouse, "last_30_days", org_id)
    assert document["scope"] == org_id
    assert document["metrics"]["revenue"]["value"] == expected["revenue"]["value"]
    assert document["metrics"]["revenue"]["currency"] == "usd"
    unknown = run_summary(env, "--organization", "no-such-org")
    assert unknown.returncode == 1 and "No organization 'no-such-org'" in unknown.stderr


def test_custom_range_inside_the_window_comes_from_the_warehouse(
    pipeline: Pipeline, env: dict
) -> None:
    expected = mart_period_values(pipeline.warehouse, "last_7_days")
    start, end = expected["revenue"]["start_date"], expected["revenue"]["end_date"]
    calls = metrics_requests(pipeline, "default")
    result = run_summary(env, "--start", str(start), "--end", str(end), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["source"] == "warehouse"
    assert metrics_requests(pipeline, "default") == calls  # no API call
    assert (document["start_date"], document["end_date"]) == (str(start), str(end))
    for metric, shown in document["metrics"].items():
        assert shown["value"] == pytest.approx(expected[metric]["value"], rel=1e-9), metric


def test_custom_range_outside_the_window_asks_polar_and_writes_nothing(
    pipeline: Pipeline, env: dict
) -> None:
    from connectors.polar.client import PolarClient
    from connectors.polar.config import PolarSettings
    from connectors.polar.connection import PolarConnection
    from tests.orchestration.outputs.conftest import environment

    end = date.today() - timedelta(days=150)
    start = end - timedelta(days=29)
    rows_before, calls = raw_row_count(pipeline.warehouse), metrics_requests(pipeline, "default")
    result = run_summary(env, "--start", str(start), "--end", str(end), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["source"] == "api"
    active = 2  # the default scenario's active organizations: one call each, plus `all`
    assert metrics_requests(pipeline, "default") - calls == active + 1
    assert raw_row_count(pipeline.warehouse) == rows_before
    with environment(pipeline.environment("default")):
        settings = PolarSettings.from_env()
        connection = PolarConnection.open(settings, "default")
        org_ids = [org.id for org in connection.organizations() if org.is_queried]
        with PolarClient(settings.environment.api_base_url, connection.http_auth()) as client:
            totals = client.get_metrics(
                start_date=start, end_date=end, organization_ids=org_ids
            ).totals
    for metric, shown in document["metrics"].items():
        assert shown["value"] == pytest.approx(totals[metric], rel=1e-9), metric
        assert metrics_by_slug()[metric]


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2025-03-10", "2025-03-01", "is before the start date"),
        ("2025-01-01", "2025-06-30", "at most 90 days"),
        ("2022-12-01", "2022-12-31", "before 2023-01-01"),
        ("today+1", "today+2", "in the future"),
    ],
)
def test_bad_custom_range_is_refused_before_any_request(
    pipeline: Pipeline, env: dict, start: str, end: str, problem: str
) -> None:
    def resolve(text: str) -> str:
        return str(date.today() + timedelta(days=int(text[6:]))) if "+" in text else text

    calls = metrics_requests(pipeline, "default")
    result = run_summary(env, "--start", resolve(start), "--end", resolve(end))
    assert result.returncode == 1
    assert problem in result.stderr
    assert metrics_requests(pipeline, "default") == calls


def test_half_a_custom_range_is_refused(env: dict) -> None:
    result = run_summary(env, "--start", "2025-01-01")
    assert result.returncode == 1 and "both --start and --end" in result.stderr


def test_missing_warehouse_says_to_refresh_first(env: dict, tmp_path: Path) -> None:
    absent = tmp_path / "absent.duckdb"
    result = run_summary({**env, "POLAR_METRICS_WAREHOUSE": str(absent)})
    assert result.returncode == 1
    assert "run `polar-metrics refresh` first" in result.stderr
    assert not absent.exists()


def test_summary_imports_neither_dagster_nor_dbt(env: dict) -> None:
    probe = (
        "import sys\n"
        "from orchestration.cli import main\n"
        "try:\n    main(['summary', '--json'])\nexcept SystemExit as e:\n    assert not e.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'dagster', 'dagster_dbt', 'dbt', 'pandas', 'numpy'})\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_other_connection_is_summarized_on_its_own(pipeline: Pipeline) -> None:
    env = cli_environment(pipeline, "empty")
    document = json.loads(run_summary(env, "--connection", "empty", "--json").stdout)
    assert document["connection"] == "empty"
    assert all(metric["value"] == 0 for metric in document["metrics"].values())
    assert os.environ.get("POLAR_METRICS_WAREHOUSE") != str(pipeline.warehouse)
