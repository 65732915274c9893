"""`polar-metrics movements`: the marts' MRR bridge as a table and JSON, scopes, bad input.

Run through the real entry point on the warehouse `polar-metrics demo` built (emulator -> OAuth
-> metrics and entity sync -> dbt), once per session: two active organizations (USD and EUR)
with subscriptions, upgrades, cancellations and trials. The marts are read directly to compare.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.outputs.periods import PERIODS
from tests.orchestration.outputs.conftest import FIXTURE_TODAY, DemoBusiness, displayed_number
from tests.orchestration.outputs.fixture_warehouse import build_fixture_warehouse

REPO = Path(__file__).resolve().parents[3]
CLI = str(Path(sys.executable).with_name("polar-metrics"))
GAINS, LOSSES = ("new", "expansion", "reactivation"), ("contraction", "churn")
CONNECTION = "default"
SLOW = pytest.mark.slow  # needs the demo build (~2.5 min once per session); each test < 2 s


def run_movements(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "movements", "--connection", CONNECTION, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def query(warehouse: Path, sql: str, params: list) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def own_warehouse(path: Path) -> dict[str, str]:
    """An environment that reaches the warehouse at `path` and no other state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLAR_", "DAGSTER_"))}
    return {**env, "HOME": str(path.parent), "POLAR_METRICS_WAREHOUSE": str(path)}


@pytest.fixture(scope="module")
def warehouse(demo_business: DemoBusiness) -> Path:
    return demo_business.warehouse


@pytest.fixture(scope="module")
def env(demo_business: DemoBusiness) -> dict[str, str]:
    return demo_business.env


@pytest.fixture(scope="module")
def organization(warehouse: Path) -> dict:
    """The demo's first active organization (id, slug, name)."""
    return query(
        warehouse,
        "select organization_id, organization_slug, organization_name "
        "from marts.polar_organizations where connection_name = ? and is_queried "
        "order by organization_name limit 1",
        [CONNECTION],
    )[0]


def monthly_mart(warehouse: Path, scope: str = "all") -> list[dict]:
    """The mart's last 13 months of one scope, oldest first."""
    rows = query(
        warehouse,
        "select * from marts.polar_mrr_summary where connection_name = ? and organization_id = ? "
        "order by month desc limit 13",
        [CONNECTION, scope],
    )
    return rows[::-1]


@SLOW
def test_default_is_twelve_complete_months_and_the_partial_current_one(
    warehouse: Path, env: dict
) -> None:
    result = run_movements(env)
    assert result.returncode == 0, result.stderr
    expected = monthly_mart(warehouse)
    lines = [line for line in result.stdout.splitlines() if line[:4].isdigit()]
    assert [line[:7] for line in lines] == [row["month"].strftime("%Y-%m") for row in expected]
    assert lines[-1].split()[1] == "*" and all(line.split()[1] != "*" for line in lines[:-1])
    for line, row in zip(lines, expected, strict=True):
        cells = [cell for cell in line.split("  ") if cell.strip()][1:]
        closing, net_new = displayed_number(cells[-2]), displayed_number(cells[-3])
        assert closing == pytest.approx(row["closing_mrr"] / 100, abs=0.005)
        assert net_new == pytest.approx(row["net_new_mrr"] / 100, abs=0.005)
        assert cells[5].strip().startswith("-$") or row["churn_mrr"] == 0  # losses read negative


@SLOW
def test_json_months_equal_the_mart_in_integer_cents(warehouse: Path, env: dict) -> None:
    result = run_movements(env, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["scope"], document["currency"], document["period"]) == ("all", "usd", "months")
    for shown, row in zip(document["rows"], monthly_mart(warehouse), strict=True):
        assert shown["start_date"] == row["month"].isoformat()
        assert shown["is_partial"] == row["is_partial_month"]
        for name in ("opening", "net_new", "closing", "fx_impact"):
            assert shown[f"{name}_mrr"] == row[f"{name}_mrr"]
            assert isinstance(shown[f"{name}_mrr"], int)
        for name in (*GAINS, *LOSSES):  # the mart's signs: contraction and churn <= 0
            assert shown[f"{name}_mrr"] == row[f"{name}_mrr"]
        assert shown["quick_ratio"] == row["quick_ratio"]
        assert shown["net_revenue_retention"] == row["net_revenue_retention"]


@SLOW
@pytest.mark.parametrize("period", list(PERIODS))
def test_period_sums_the_daily_movements_over_summary_s_days(
    warehouse: Path, env: dict, period: str
) -> None:
    result = run_movements(env, "--period", period, "--json")
    assert result.returncode == 0, result.stderr
    (shown,) = json.loads(result.stdout)["rows"]
    (dates,) = query(
        warehouse,
        "select distinct start_date, end_date from marts.polar_period_summary "
        "where connection_name = ? and period = ?",
        [CONNECTION, PERIODS[period]],
    )
    assert (shown["start_date"], shown["end_date"]) == (
        dates["start_date"].isoformat(),
        dates["end_date"].isoformat(),
    )
    days = query(
        warehouse,
        "select * from marts.polar_mrr_movements where connection_name = ? "
        "and date between ? and ? order by date",
        [CONNECTION, dates["start_date"], dates["end_date"]],
    )
    for name in (*GAINS, *LOSSES, "fx_impact", "net_new"):
        assert shown[f"{name}_mrr"] == sum(day[f"{name}_mrr"] for day in days)
    first, last = days[0]["date"], days[-1]["date"]
    assert shown["opening_mrr"] == sum(d["opening_mrr"] for d in days if d["date"] == first)
    assert shown["closing_mrr"] == sum(d["closing_mrr"] for d in days if d["date"] == last)
    # The bridge holds: opening + net new + FX = closing.
    assert (
        shown["opening_mrr"] + shown["net_new_mrr"] + shown["fx_impact_mrr"]
        == (shown["closing_mrr"])
    )


@SLOW
def test_organization_by_slug_or_id_and_unknown_lists_the_known(
    warehouse: Path, env: dict, organization: dict
) -> None:
    org_id, slug, name = organization.values()
    by_slug = json.loads(run_movements(env, "--organization", slug, "--json").stdout)
    by_id = json.loads(run_movements(env, "--organization", org_id, "--json").stdout)
    assert by_slug == by_id
    assert (by_slug["scope"], by_slug["scope_name"]) == (org_id, name)
    expected = monthly_mart(warehouse, org_id)
    assert [row["closing_mrr"] for row in by_slug["rows"]] == [r["closing_mrr"] for r in expected]
    unknown = run_movements(env, "--organization", "no-such-org")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert "No organization 'no-such-org'" in unknown.stderr
    assert f"{slug} ({name})" in unknown.stderr


@SLOW
def test_organization_name_reaches_the_terminal_without_control_characters(
    warehouse: Path, env: dict, organization: dict, tmp_path: Path
) -> None:
    copy = Path(shutil.copy(warehouse, tmp_path / "hostile.duckdb"))
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update marts.polar_organizations set organization_name = "
            "'Acme' || chr(27) || '[2J' || chr(7) || ' Labs' where organization_id = ?",
            [organization["organization_id"]],
        )
    result = run_movements(
        {**env, "POLAR_METRICS_WAREHOUSE": str(copy)},
        "--organization",
        organization["organization_slug"],
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Acme Labs" in result.stdout.splitlines()[0]  # the whole sequence gone, not just ESC


def test_no_warehouse_says_to_refresh_or_try_the_demo(tmp_path: Path) -> None:
    absent = tmp_path / "absent.duckdb"
    result = run_movements(own_warehouse(absent))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "polar-metrics refresh" in result.stderr and "polar-metrics demo" in result.stderr
    assert not absent.exists()


def test_no_subscriptions_says_so_and_json_has_no_rows(tmp_path: Path) -> None:
    empty = build_fixture_warehouse(tmp_path / "empty.duckdb", "empty", FIXTURE_TODAY)
    env = own_warehouse(empty)
    table = run_movements(env)
    assert table.returncode == 0, table.stderr
    assert "no subscriptions in the warehouse yet" in table.stdout
    assert json.loads(run_movements(env, "--json").stdout)["rows"] == []


@SLOW
def test_movements_imports_neither_dagster_nor_dbt_nor_pandas(env: dict) -> None:
    """The real entry point in a fresh interpreter: the heavy packages never enter sys.modules."""
    probe = (
        "import sys\n"
        "from orchestration.cli import main\n"
        f"try:\n    main(['movements', '--connection', '{CONNECTION}', '--json'])\n"
        "except SystemExit as e:\n    assert not e.code\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'dagster', 'dagster_dbt', 'dbt', 'pandas', 'numpy'})\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"]  # it did read the warehouse
    assert result.stderr.strip().splitlines()[-1] == "[]"
