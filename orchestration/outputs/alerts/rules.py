"""Alert rules: the YAML schema, and a loader whose errors name the file, line and problem."""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from connectors.polar.catalogue import metrics_by_slug
from connectors.polar.errors import PolarError
from orchestration.outputs.periods import PERIODS

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.yaml")
RULES_ENV = "POLAR_METRICS_ALERTS"
COMPARISONS = ("previous_period", "trailing_average", "threshold")
CHANGES = ("drop", "rise")
OPERATORS = ("<", "<=", ">", ">=")
SEVERITIES = ("warn", "error")
ALLOWED_KEYS = {
    "name", "description", "metric", "period", "comparison", "days", "change", "percent",
    "op", "value", "severity", "scope",
}  # fmt: skip
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class AlertRulesError(PolarError):
    """The rules file is unreadable or invalid; the message names the file, line and problem."""


@dataclass(frozen=True)
class AlertRule:
    """One alert rule as written in the YAML file."""

    name: str
    metric: str
    period: str  # the mart's period name (last_7_days, ...)
    comparison: str
    severity: str
    scope: str
    description: str = ""
    days: int | None = None
    change: str | None = None
    percent: float | None = None
    op: str | None = None
    value: float | None = None
    line: int = 0

    def explain(self) -> str:
        """The rule in words, e.g. `revenue yesterday drops more than 50 % below ...`."""
        if self.comparison == "threshold":
            return f"{self.metric} ({self.period}) {self.op} {self.value:g}"
        baseline = (
            f"its trailing {self.days}-day average"
            if self.comparison == "trailing_average"
            else "the previous period"
        )
        direction = "below" if self.change == "drop" else "above"
        return f"{self.metric} ({self.period}) more than {self.percent:g} % {direction} {baseline}"


class _LineDict(dict):
    """A mapping from the YAML file that remembers where it and each of its keys were written."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose mappings carry their line numbers."""


def _construct_line_map(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[_LineDict]:
    # A generator, like PyYAML's own map constructor, so recursive structures still resolve.
    data = _LineDict()
    yield data
    data.update(loader.construct_mapping(node))
    data.line = node.start_mark.line + 1
    data.key_lines = {str(key.value): value.start_mark.line + 1 for key, value in node.value}


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_line_map)


def rules_path_from_env() -> Path:
    """`POLAR_METRICS_ALERTS`, or the shipped default rules."""
    configured = os.environ.get(RULES_ENV)
    return Path(configured).expanduser() if configured else DEFAULT_RULES_PATH


def load_rules(path: Path) -> list[AlertRule]:
    """The rules of a YAML file; AlertRulesError naming the file, line and problem otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise AlertRulesError(
            f"{path}: cannot read the alert rules ({error.strerror}); fix {RULES_ENV} or unset it "
            "to use the shipped default rules."
        ) from None
    try:
        document = yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no Python tags
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 0
        raise AlertRulesError(f"{path}, line {line}: not valid YAML: {error.problem}") from None
    return parse_rules(document, path)


def parse_rules(document: Any, path: Path) -> list[AlertRule]:
    """Validate a loaded document (`rules:` list of mappings) into AlertRules."""
    if not isinstance(document, _LineDict) or not isinstance(document.get("rules"), list):
        raise AlertRulesError(f"{path}, line 1: expected a mapping with a `rules:` list")
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for item in document["rules"]:
        if not isinstance(item, _LineDict):
            line = document.key_lines.get("rules", 1)
            raise AlertRulesError(f"{path}, line {line}: each rule must be a mapping of keys")
        rule = _parse_rule(item, path)
        if rule.name in seen:
            raise AlertRulesError(f"{path}, line {rule.line}: duplicate rule name {rule.name!r}")
        seen.add(rule.name)
        rules.append(rule)
    return rules


def _parse_rule(item: _LineDict, path: Path) -> AlertRule:
    def fail(key: str | None, problem: str) -> AlertRulesError:
        line = item.key_lines.get(key, item.line) if key else item.line
        return AlertRulesError(f"{path}, line {line}: {problem}")

    unknown = sorted(set(item) - ALLOWED_KEYS)
    if unknown:
        raise fail(
            unknown[0], f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(ALLOWED_KEYS))})"
        )
    for key in ("name", "metric", "period", "comparison"):
        if key not in item:
            raise fail(None, f"rule is missing `{key}`")
    name = str(item["name"])
    if not NAME_PATTERN.match(name):
        raise fail("name", f"rule name {name!r} must be lowercase letters, digits and _")
    if item["metric"] not in metrics_by_slug():
        raise fail("metric", f"unknown metric {item['metric']!r} (see metric_catalogue.csv)")
    _choice(item, "period", tuple(PERIODS), fail)
    _choice(item, "comparison", COMPARISONS, fail)
    _choice(item, "severity", SEVERITIES, fail, default="warn")
    fields = _comparison_fields(item, fail)
    return AlertRule(
        name=name,
        metric=str(item["metric"]),
        period=PERIODS[item["period"]],
        comparison=str(item["comparison"]),
        severity=str(item.get("severity", "warn")),
        scope=str(item.get("scope", "all")),
        description=str(item.get("description", "")),
        line=item.line,
        **fields,
    )


def _choice(
    item: _LineDict, key: str, allowed: tuple, fail: Any, default: str | None = None
) -> None:
    value = item.get(key, default)
    if value not in allowed:
        raise fail(key, f"`{key}` is {value!r}; use one of: {', '.join(allowed)}")


def _comparison_fields(item: _LineDict, fail: Any) -> dict[str, Any]:
    if item["comparison"] == "threshold":
        _choice(item, "op", OPERATORS, fail)
        return {"op": item["op"], "value": _number(item, "value", fail)}
    _choice(item, "change", CHANGES, fail)
    percent = _number(item, "percent", fail)
    if percent <= 0:
        raise fail("percent", "`percent` must be more than 0 (e.g. 30 for 'more than 30 %')")
    fields: dict[str, Any] = {"change": item["change"], "percent": percent}
    if item["comparison"] == "trailing_average":
        days = item.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 60:
            raise fail("days", "`days` must be a whole number of days from 1 to 60")
        if item["period"] not in ("today", "yesterday"):
            raise fail(
                "period", "a trailing average compares one day: use period today or yesterday"
            )
        fields["days"] = days
    return fields


def _number(item: _LineDict, key: str, fail: Any) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise fail(key if key in item else None, f"`{key}` must be a number, got {value!r}")
    return float(value)
