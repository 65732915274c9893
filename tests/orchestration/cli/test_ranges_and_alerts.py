"""Bad requests and rule files: custom ranges Polar would refuse, alert rules with errors."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestration.outputs.alerts.rules import AlertRulesError, load_rules
from tests.orchestration.cli.conftest import ConnectedState, assert_clean_failure, warehouse_content

TODAY = datetime.now(UTC).date()


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2025-03-10", "2025-03-01", "before the start"),
        ("2025-01-01", "2025-06-01", "at most 90 days"),
        ("2022-12-01", "2022-12-31", "2023-01-01"),
        (str(TODAY), str(TODAY + timedelta(days=3)), "future"),
    ],
    ids=["inverted", "too-wide", "before-polar-history", "future"],
)
def test_a_custom_range_polar_would_refuse_is_refused_before_any_request(
    connected: ConnectedState, start: str, end: str, problem: str
) -> None:
    before_requests = connected.polar.stats()["requests"].get("GET /v1/metrics/", 0)
    before = warehouse_content(connected.warehouse)
    result = connected.cli("summary", "--start", start, "--end", end)
    assert_clean_failure(result, "Invalid range", problem)
    assert connected.polar.stats()["requests"].get("GET /v1/metrics/", 0) == before_requests
    assert warehouse_content(connected.warehouse) == before


def test_half_a_custom_range_asks_for_both_ends(connected: ConnectedState) -> None:
    assert_clean_failure(connected.cli("summary", "--start", "2025-01-01"), "--start and --end")


RULE = """rules:
  - name: revenue_drop
    metric: revenue
    period: 7d
    comparison: previous_period
    change: drop
    percent: 30
"""


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (RULE.replace("metric: revenue", "metric: revenu"), 3, "unknown metric 'revenu'"),
        (RULE.replace("period: 7d", "period: week"), 4, "`period` is 'week'"),
        (RULE.replace("    percent: 30\n", "    percent: -5\n"), 7, "more than 0"),
        (RULE.replace("change: drop", "change: [drop"), 7, "not valid YAML"),
        (RULE + "    colour: red\n", 8, "unknown key 'colour'"),
        (RULE + RULE.removeprefix("rules:\n"), 8, "duplicate rule name"),
    ],
    ids=["unknown-metric", "bad-period", "negative-percent", "broken-yaml", "unknown-key", "dup"],
)
def test_an_alert_rules_file_with_an_error_names_file_line_and_problem(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(AlertRulesError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert problem in str(caught.value)


def test_a_missing_alert_rules_file_says_how_to_fall_back(tmp_path: Path) -> None:
    with pytest.raises(AlertRulesError, match="POLAR_METRICS_ALERTS"):
        load_rules(tmp_path / "nope.yaml")
