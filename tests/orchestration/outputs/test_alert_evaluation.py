"""Rule evaluation on a small marts warehouse: each comparison, scopes, and missing data."""

from pathlib import Path

import duckdb
import pytest

from orchestration.outputs.alerts.evaluate import evaluate_rules
from orchestration.outputs.alerts.rules import load_rules
from tests.orchestration.outputs.conftest import FIXTURE_TODAY
from tests.orchestration.outputs.fixture_warehouse import build_fixture_warehouse

RULES = """\
rules:
  - {name: revenue_week_drop_30, metric: revenue, period: 7d, comparison: previous_period,
     change: drop, percent: 30, severity: error}
  - {name: revenue_week_drop_50, metric: revenue, period: 7d, comparison: previous_period,
     change: drop, percent: 50, severity: error}
  - {name: revenue_vs_week, metric: revenue, period: yesterday, comparison: trailing_average,
     days: 7, change: drop, percent: 50, severity: error, scope: acme}
  - {name: mrr_floor, metric: monthly_recurring_revenue, period: today, comparison: threshold,
     op: "<", value: 100000000, severity: warn}
  - {name: mrr_ceiling, metric: monthly_recurring_revenue, period: today, comparison: threshold,
     op: ">", value: 100000000, severity: warn}
  - {name: unknown_org, metric: revenue, period: 7d, comparison: previous_period,
     change: drop, percent: 10, scope: no-such-org}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("evaluation")
    warehouse = build_fixture_warehouse(base / "warehouse.duckdb", "drop", FIXTURE_TODAY)
    rules_path = base / "rules.yaml"
    rules_path.write_text(RULES)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        evaluated = evaluate_rules(con, "default", load_rules(Path(rules_path)))
    return {result.rule.name: result for result in evaluated}


def test_trailing_average_drop_for_an_organization_by_slug(results: dict) -> None:
    result = results["revenue_vs_week"]
    assert result.triggered and result.scope == "org-drop"
    assert result.current < 0.5 * result.baseline
    assert result.alert_date == FIXTURE_TODAY


def test_previous_period_triggers_only_beyond_the_percent(results: dict) -> None:
    # Three days at a tenth of the revenue make the week about 40 % lower than the one before.
    lower, higher = results["revenue_week_drop_30"], results["revenue_week_drop_50"]
    assert 0.5 * lower.baseline < lower.current < 0.7 * lower.baseline
    assert lower.triggered and not higher.triggered
    assert higher.evaluated


def test_threshold_compares_with_the_fixed_value(results: dict) -> None:
    assert results["mrr_floor"].triggered  # MRR (cents) is below $1,000,000
    assert not results["mrr_ceiling"].triggered
    assert results["mrr_floor"].baseline == 100000000


def test_unknown_scope_is_reported_not_evaluated(results: dict) -> None:
    result = results["unknown_org"]
    assert not result.evaluated and not result.triggered
    assert "no organization 'no-such-org'" in result.message
