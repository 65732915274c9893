"""Run the same asset graph the Dagster UI materializes, in-process (used by the CLI and tests)."""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from orchestration.cli.interrupts import interrupt_next_dagster_step
from orchestration.defs.polar.partitions import ensure_partition

REFRESH_JOB = "polar_refresh_job"
RECENT_JOB = "polar_recent_refresh_job"
DOWNSTREAM_JOB = "polar_downstream_job"
RAW_JOB = "polar_raw_refresh_job"  # one connection's raw tables (refresh --all)
RAW_RECENT_JOB = "polar_raw_recent_job"  # its metrics of yesterday and today (--all --recent)

# (step key, succeeded, error, the step's materialization metadata when it is one asset)
StepCallback = Callable[[str, bool, str | None, dict[str, object]], None]
INTERRUPTED = "DagsterExecutionInterruptedError"


@dataclass
class PipelineReport:
    """What one in-process run did: success, per-asset metadata, failed checks and steps."""

    success: bool
    run_id: str
    materialized: dict[str, dict[str, object]] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    failed_steps: dict[str, str] = field(default_factory=dict)
    interrupted_steps: list[str] = field(default_factory=list)
    interrupted: bool = False  # Dagster raised its interruption (SIGINT/SIGTERM), in a step or not
    run_error: str = ""  # why the run failed outside its steps (e.g. in a hook), if it did


def resolve_refresh_job(
    defs: dg.Definitions,
    job_name: str,
    on_step: StepCallback | None,
    should_stop: Callable[[], bool] | None = None,
) -> dg.JobDefinition:
    """The job from `defs`, with hooks that report each step as it ends and stop the rest."""
    job = defs.resolve_job_def(job_name)
    if on_step is None and should_stop is None:
        return job

    def step_ended(
        context: dg.HookContext, ok: bool, error: str | None, metadata: dict[str, object]
    ) -> None:
        if on_step is not None:
            on_step(context.step_key or context.op.name, ok, error, metadata)
        if should_stop is not None and should_stop():
            interrupt_next_dagster_step()  # a step boundary is the safe point

    @dg.success_hook(name="report_step_success")
    def report_success(context: dg.HookContext) -> None:
        step = context.step_key or context.op.name
        step_ended(context, True, None, _step_metadata(context, step))

    @dg.failure_hook(name="report_step_failure")
    def report_failure(context: dg.HookContext) -> None:
        error = context.op_exception
        if error is not None and type(error).__name__ == INTERRUPTED:
            step_ended(context, False, "interrupted", {})
        else:
            step_ended(context, False, str(error) if error else None, {})

    return job.with_hooks({report_success, report_failure})


def _step_metadata(context: dg.HookContext, step: str) -> dict[str, object]:
    """This run's materialization metadata of the asset named like the step ({} if none)."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(step))
    if event is None or event.run_id != context.run_id or event.asset_materialization is None:
        return {}
    return {key: value.value for key, value in event.asset_materialization.metadata.items()}


def run_refresh(
    *,
    connection_name: str = "default",
    recent_only: bool = False,
    instance: dg.DagsterInstance | None = None,
    on_step: StepCallback | None = None,
    defs: dg.Definitions | None = None,
    should_stop: Callable[[], bool] | None = None,
    job_name: str | None = None,
) -> PipelineReport:
    """Materialize every asset (raw, dbt, outputs) in-process for one connection: the raw
    assets as the connection's partition (added to the instance first when missing).

    When `should_stop()` turns true, the steps after the current one are interrupted;
    `job_name` picks another job of the same graph (e.g. only the downstream rebuild).
    """
    if defs is None:
        from orchestration.definitions import defs as merged

        defs = merged
    job_name = job_name or (RECENT_JOB if recent_only else REFRESH_JOB)
    job = resolve_refresh_job(defs, job_name, on_step, should_stop)
    run_config = {
        # The partition picks the connection the raw steps refresh; the resource's name stays
        # the connection the unpartitioned outputs show on the main dashboard.
        "resources": {"polar": {"config": {"connection_name": connection_name}}},
        # Step outcomes are reported through `on_step` and the report; keep Dagster's own
        # console (tracebacks included) for what is worse than a step failure.
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    partitioned = job.partitions_def is not None
    with _instance(instance) as active:
        if partitioned:
            ensure_partition(active, connection_name)
        result = job.execute_in_process(
            run_config=run_config,
            instance=active,
            raise_on_error=False,
            partition_key=connection_name if partitioned else None,
        )
    return _report(result)


@contextmanager
def _instance(given: dg.DagsterInstance | None) -> Iterator[dg.DagsterInstance]:
    """The given instance, else DAGSTER_HOME's, else an ephemeral one (disposed afterwards)."""
    if given is not None:
        yield given
        return
    owned = (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )
    try:
        yield owned
    finally:
        owned.dispose()


def _report(result: dg.ExecuteInProcessResult) -> PipelineReport:
    report = PipelineReport(success=result.success, run_id=result.run_id)
    for event in result.all_events:
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            report.materialized[materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in materialization.metadata.items()
            }
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                report.failed_checks.append(
                    f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                    + (f" - {evaluation.description}" if evaluation.description else "")
                )
        elif event.is_step_failure:
            error = event.step_failure_data.error
            if _was_interrupted(error):
                report.interrupted_steps.append(event.step_key or "?")
                report.interrupted = True
                continue
            report.failed_steps[event.step_key or "?"] = _error_text(error)
        elif event.is_run_failure:
            error = event.event_specific_data.error
            report.interrupted = report.interrupted or _was_interrupted(error)
            report.run_error = _error_text(error) if error else ""
    return report


def _was_interrupted(error: SerializableErrorInfo | None) -> bool:
    """Whether a step failed because the run was interrupted (SIGINT/SIGTERM)."""
    while error is not None:
        if error.cls_name == INTERRUPTED:
            return True
        error = error.cause
    return False


def _error_text(error: SerializableErrorInfo | None) -> str:
    """The user-facing message: the cause of Dagster's wrapper, without the class name."""
    if error is None:
        return ""
    if error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
        return _error_text(error.cause)
    return error.message.split(": ", 1)[-1].strip()
