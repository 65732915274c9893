"""Revenue alerts as asset checks on the dashboard: a triggered rule is a failed check.

The checks are built from the rules file at load time (`POLAR_METRICS_ALERTS`, default the shipped
`default_rules.yaml`), one check per rule, so each alert has its own history in the Dagster UI.
"""

from collections.abc import Iterator

import dagster as dg

from orchestration.defs.common.pools import WAREHOUSE_POOL
from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.polar.resources import PolarResource
from orchestration.outputs.alerts.delivery import deliver_alerts, webhook_url_from_env
from orchestration.outputs.alerts.evaluate import AlertResult, evaluate_rules
from orchestration.outputs.alerts.rules import (
    AlertRule,
    AlertRulesError,
    load_rules,
    rules_path_from_env,
)
from orchestration.warehouse.files import open_read_only

DASHBOARD_KEY = dg.AssetKey("polar_dashboard")
SEVERITY = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}


def check_name(rule: AlertRule) -> str:
    """The Dagster check name of a rule."""
    return f"alert_{rule.name}"


def build_alert_checks(rules: list[AlertRule]) -> dg.AssetChecksDefinition:
    """One asset check per rule, evaluated together after the dashboard is rebuilt."""
    specs = [
        dg.AssetCheckSpec(
            name=check_name(rule),
            asset=DASHBOARD_KEY,
            description=(
                f"Revenue alert ({rule.severity}): fails when {rule.explain()}, for "
                f"{'all organizations' if rule.scope == 'all' else rule.scope}. "
                f"{rule.description}".strip()
            ),
        )
        for rule in rules
    ]

    @dg.multi_asset_check(
        specs=specs,
        name="polar_revenue_alerts",
        pool=WAREHOUSE_POOL,
        description="Evaluates the revenue alert rules on the marts and posts new alerts.",
    )
    def polar_revenue_alerts(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, polar: PolarResource
    ) -> Iterator[dg.AssetCheckResult]:
        with open_read_only(warehouse.file()) as con:
            results = evaluate_rules(con, polar.connection_name, rules)
        outcomes = deliver_alerts(results, polar.settings().home, webhook_url_from_env())
        delivery = {(o.rule, o.scope): o for o in outcomes}
        for result in results:
            outcome = delivery.get((result.rule.name, result.scope))
            if outcome and outcome.status == "failed":
                context.log.error(outcome.detail)
            yield _check_result(result, outcome.status if outcome else "not_triggered")

    return polar_revenue_alerts


def _check_result(result: AlertResult, delivery: str) -> dg.AssetCheckResult:
    metadata = {
        "message": result.message,
        "scope": result.scope,
        "evaluated": result.evaluated,
        "webhook": delivery,
    }
    if result.current is not None:
        metadata["current"] = dg.MetadataValue.float(result.current)
    if result.baseline is not None:
        metadata["baseline"] = dg.MetadataValue.float(result.baseline)
    return dg.AssetCheckResult(
        check_name=check_name(result.rule),
        asset_key=DASHBOARD_KEY,
        passed=not result.triggered,
        severity=SEVERITY[result.rule.severity],
        description=result.message,
        metadata=metadata,
    )


def build_rules_error_check(error: AlertRulesError) -> dg.AssetChecksDefinition:
    """A check that always fails with the rules file's error, so the code location still loads."""
    message = str(error)

    @dg.asset_check(
        asset=DASHBOARD_KEY,
        name="alert_rules_valid",
        description="Fails while the alert rules file is invalid; the message names the line.",
    )
    def alert_rules_valid() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(
            passed=False, severity=dg.AssetCheckSeverity.ERROR, description=message
        )

    return alert_rules_valid


def alert_checks_from_env() -> list[dg.AssetChecksDefinition]:
    """The checks for the configured rules file (or the failing check that explains its error)."""
    try:
        rules = load_rules(rules_path_from_env())
    except AlertRulesError as error:
        return [build_rules_error_check(error)]
    return [build_alert_checks(rules)] if rules else []  # an empty file turns alerts off


defs = dg.Definitions(asset_checks=alert_checks_from_env())
