"""Alert asset checks materialized by Dagster: failed check = alert, one webhook POST per day."""

import logging
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.common.resources import WarehouseResource
from orchestration.defs.outputs.assets import polar_dashboard
from orchestration.defs.outputs.checks import build_alert_checks
from orchestration.defs.polar.resources import PolarResource
from orchestration.outputs.alerts.rules import DEFAULT_RULES_PATH, load_rules
from tests.orchestration.outputs.conftest import (
    ALERT_SCENARIO,
    FIXTURE_TODAY,
    Pipeline,
    environment,
)
from tests.orchestration.outputs.fixture_warehouse import build_fixture_warehouse
from tests.orchestration.outputs.webhook_receiver import webhook_receiver

REVENUE_CHECK = "alert_revenue_drop_vs_trailing_week"


def materialize_outputs(
    state: Path | None = None, connection: str | None = None
) -> dg.ExecuteInProcessResult:
    """The dashboard and the default alert checks over the warehouse in `state` (else the
    environment's), for `connection` (else the resource's default)."""
    polar = {"state_dir": str(state)} if state else {}
    if connection:
        polar["connection_name"] = connection
    checks = build_alert_checks(load_rules(DEFAULT_RULES_PATH))
    return dg.materialize(
        [polar_dashboard, checks],
        resources={
            "warehouse": WarehouseResource(path=str(state / "warehouse.duckdb"))
            if state
            else WarehouseResource(),
            "polar": PolarResource(**polar),
        },
    )


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POLAR_METRICS_HOME", str(tmp_path))
    monkeypatch.delenv("POLAR_METRICS_ALERT_WEBHOOK", raising=False)
    return tmp_path


def test_revenue_drop_fails_its_check_and_posts_once_across_reruns(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_fixture_warehouse(state / "warehouse.duckdb", "drop", FIXTURE_TODAY)
    with webhook_receiver() as receiver:
        monkeypatch.setenv("POLAR_METRICS_ALERT_WEBHOOK", receiver.url)
        first = materialize_outputs(state)
        second = materialize_outputs(state)
    assert first.success and second.success
    for result in (first, second):
        revenue = evaluations(result)[REVENUE_CHECK]
        assert not revenue.passed
        assert revenue.severity == dg.AssetCheckSeverity.ERROR
        assert evaluations(result)["alert_mrr_drop_over_week"].passed
    assert len(receiver.posts) == 1
    assert REVENUE_CHECK.removeprefix("alert_") in receiver.posts[0]["text"]
    assert "Revenue for all organizations, yesterday" in receiver.posts[0]["text"]
    page = (state / "polar-dashboard.html").read_text()
    assert f'data-testid="alert-{REVENUE_CHECK.removeprefix("alert_")}"' in page


def test_healthy_revenue_passes_every_check_and_posts_nothing(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_fixture_warehouse(state / "warehouse.duckdb", "single", FIXTURE_TODAY)
    with webhook_receiver() as receiver:
        monkeypatch.setenv("POLAR_METRICS_ALERT_WEBHOOK", receiver.url)
        result = materialize_outputs(state)
    assert result.success
    assert all(evaluation.passed for evaluation in evaluations(result).values())
    assert receiver.posts == []
    assert 'data-testid="alert-' not in (state / "polar-dashboard.html").read_text()


def test_broken_webhook_is_logged_without_failing_and_retried_next_run(
    state: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    build_fixture_warehouse(state / "warehouse.duckdb", "drop", FIXTURE_TODAY)
    with webhook_receiver() as receiver:
        monkeypatch.setenv("POLAR_METRICS_ALERT_WEBHOOK", receiver.url)
        receiver.status = 500
        with caplog.at_level(logging.ERROR):
            broken = materialize_outputs(state)
        assert broken.success  # the data and the dashboard are fine; only delivery failed
        failure = next(r.getMessage() for r in caplog.records if "could not POST" in r.getMessage())
        assert "HTTP 500" in failure and "secret" not in failure  # the webhook path stays hidden
        receiver.status = 200
        materialize_outputs(state)
        materialize_outputs(state)
    assert len(receiver.posts) == 2  # the failed attempt, then exactly one successful delivery


def test_drop_scenario_alerts_once_through_the_whole_pipeline_and_its_rerun(
    pipeline: Pipeline,
) -> None:
    """The `drop` emulator scenario through the whole pipeline (the session's full refresh):
    the revenue check fails on the dashboard and one webhook POST goes out; the outputs run
    again the same day (as the next scheduled refresh's do) fail it again and post nothing.
    (A second full refresh cost ~20 s of CPU for nothing more: the alert is evaluated by the
    outputs, and reruns are test_revenue_drop_fails_its_check_and_posts_once_across_reruns.)"""
    (report,) = pipeline.reports
    failed = [check for check in report.failed_checks if REVENUE_CHECK in check]
    assert failed, report.failed_checks
    assert "polar_dashboard" in failed[0]
    assert len(pipeline.receiver.posts) == 1
    with environment(pipeline.environment(ALERT_SCENARIO)):
        rerun = materialize_outputs(connection=ALERT_SCENARIO)
    assert rerun.success
    assert not evaluations(rerun)[REVENUE_CHECK].passed
    assert len(pipeline.receiver.posts) == 1
    text = pipeline.receiver.posts[0]["text"]
    assert "ERROR" in text and "Revenue for all organizations, yesterday" in text


def test_invalid_rules_file_is_a_failed_check_naming_the_line(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.defs.outputs.checks import alert_checks_from_env

    build_fixture_warehouse(state / "warehouse.duckdb", "single", FIXTURE_TODAY)
    rules = state / "rules.yaml"
    rules.write_text(
        "rules:\n  - name: x\n    metric: revenue\n    period: weekly\n"
        "    comparison: previous_period\n    change: drop\n    percent: 10\n"
    )
    monkeypatch.setenv("POLAR_METRICS_ALERTS", str(rules))
    result = dg.materialize(
        [polar_dashboard, *alert_checks_from_env()],
        resources={
            "warehouse": WarehouseResource(path=str(state / "warehouse.duckdb")),
            "polar": PolarResource(state_dir=str(state)),
        },
    )
    assert result.success  # the dashboard is still written
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "alert_rules_valid" and not evaluation.passed
    assert f"{rules}, line 4: `period` is 'weekly'" in evaluation.description
    page = (state / "polar-dashboard.html").read_text()
    assert "line 4" in page  # the dashboard says why no alert could be evaluated


def test_empty_rules_file_turns_alerts_off(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.defs.outputs.checks import alert_checks_from_env

    rules = state / "rules.yaml"
    rules.write_text("rules: []\n")
    monkeypatch.setenv("POLAR_METRICS_ALERTS", str(rules))
    assert alert_checks_from_env() == []
