"""What `polar-metrics refresh` prints about the entity syncs: page progress and a summary."""

import logging

import pytest

from orchestration.cli import pipeline_commands, runner
from orchestration.cli.runner import PipelineReport
from orchestration.extract.entities import PROGRESS_LOGGER


def test_page_progress_is_printed_on_stderr_only_while_the_refresh_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = logging.getLogger(PROGRESS_LOGGER)
    with pipeline_commands._sync_progress_on_stderr():
        progress.info("orders Acme: 3 page(s), 300 row(s) written")
    progress.info("not while idle")
    err = capsys.readouterr().err
    assert "orders Acme: 3 page(s), 300 row(s) written" in err and "not while idle" not in err


def test_the_refresh_summary_names_rows_and_requests_per_entity(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = PipelineReport(
        success=True,
        run_id="r",
        materialized={
            "polar_orders": {"rows_written": 120, "requests": 3},
            "polar_refunds": {"rows_written": 4, "requests": 1},
        },
        failed_checks=[
            "polar_refunds:polar_refunds_scope_granted - granted without `refunds:read`"
        ],
    )
    monkeypatch.setattr(runner, "run_refresh", lambda **kwargs: report)
    assert pipeline_commands.run_and_print("default") == 0
    out = capsys.readouterr().out
    assert "Entities synced: refunds 4 rows / 1 requests, orders 120 rows / 3 requests" in out
    assert "check failed: polar_refunds:polar_refunds_scope_granted" in out
