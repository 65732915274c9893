"""The alert rules file: the shipped defaults load, and every mistake names the file and line."""

from pathlib import Path

import pytest

from orchestration.outputs.alerts.rules import (
    DEFAULT_RULES_PATH,
    AlertRulesError,
    load_rules,
    rules_path_from_env,
)

VALID_RULE = """\
rules:
  - name: revenue_drop
    metric: revenue
    period: yesterday
    comparison: trailing_average
    days: 7
    change: drop
    percent: 50
    severity: error
    scope: all
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_shipped_default_rules_cover_revenue_mrr_and_churn() -> None:
    rules = {rule.name: rule for rule in load_rules(DEFAULT_RULES_PATH)}
    assert rules["revenue_drop_vs_trailing_week"].metric == "revenue"
    assert rules["revenue_drop_vs_trailing_week"].comparison == "trailing_average"
    assert rules["mrr_drop_over_week"].period == "last_7_days"
    assert rules["churn_spike"].change == "rise"
    assert {rule.severity for rule in rules.values()} == {"warn", "error"}


def test_rules_file_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLAR_METRICS_ALERTS", raising=False)
    assert rules_path_from_env() == DEFAULT_RULES_PATH
    monkeypatch.setenv("POLAR_METRICS_ALERTS", "/etc/polar/rules.yaml")
    assert rules_path_from_env() == Path("/etc/polar/rules.yaml")


def test_valid_rule_is_parsed_with_its_line(tmp_path: Path) -> None:
    (rule,) = load_rules(write(tmp_path, VALID_RULE))
    assert (rule.metric, rule.period, rule.days, rule.percent) == ("revenue", "yesterday", 7, 50.0)
    assert rule.line == 2


@pytest.mark.parametrize(
    ("replace", "by", "line", "problem"),
    [
        ("metric: revenue", "metric: revenu", 3, "unknown metric 'revenu'"),
        ("severity: error", "severity: critical", 9, "`severity` is 'critical'"),
        ("percent: 50", "percent: lots", 8, "`percent` must be a number"),
        ("days: 7", "days: 0", 6, "`days` must be a whole number"),
        ("period: yesterday", "period: 30d", 4, "trailing average compares one day"),
        ("change: drop", "chnage: drop", 7, "unknown key 'chnage'"),
        ("    metric: revenue\n", "", 2, "rule is missing `metric`"),
        ("comparison: trailing_average", "comparison: [oops", 6, "not valid YAML"),
    ],
)
def test_invalid_rule_error_names_file_line_and_problem(
    tmp_path: Path, replace: str, by: str, line: int, problem: str
) -> None:
    path = write(tmp_path, VALID_RULE.replace(replace, by))
    with pytest.raises(AlertRulesError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line {line}:"), message
    assert problem in message


def test_duplicate_rule_name_points_at_the_second_rule(tmp_path: Path) -> None:
    second = VALID_RULE.split("\n", 1)[1]
    path = write(tmp_path, VALID_RULE + second)
    with pytest.raises(AlertRulesError, match=r"line 11: duplicate rule name 'revenue_drop'"):
        load_rules(path)


def test_missing_rules_file_says_how_to_fall_back(tmp_path: Path) -> None:
    with pytest.raises(AlertRulesError, match="POLAR_METRICS_ALERTS"):
        load_rules(tmp_path / "absent.yaml")
