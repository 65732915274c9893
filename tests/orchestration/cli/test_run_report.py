"""What the CLI learns from a run: Dagster's interruption is seen wherever it was raised.

A Ctrl-C that lands while a step's hook runs makes Dagster raise its interruption outside any
step: the run fails with no failed step. The report must still call that an interruption (the
refresh then exits 130, "interrupted"), not a failure with no reason (a CI run printed "FAILED:
1 asset(s) materialized" and exited 1 for such a Ctrl-C).
"""

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError

from orchestration.cli.runner import _report


@dg.asset
def first() -> int:
    return 1


def _run(second: dg.AssetsDefinition, hooks: set[dg.HookDefinition] | None = None) -> object:
    job = dg.define_asset_job("job", selection=[first, second]).resolve(
        asset_graph=dg.Definitions(assets=[first, second]).resolve_asset_graph()
    )
    if hooks:
        job = job.with_hooks(hooks)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        return _report(result)


def test_an_interruption_inside_a_step_is_an_interrupted_step() -> None:
    @dg.asset(deps=[first])
    def second() -> None:
        raise DagsterExecutionInterruptedError()

    report = _run(second)
    assert not report.success and report.interrupted
    assert report.interrupted_steps == ["second"] and not report.failed_steps
    assert "first" in report.materialized


def test_an_interruption_in_a_hook_between_steps_is_still_an_interruption() -> None:
    @dg.asset(deps=[first])
    def second() -> int:
        return 2

    @dg.success_hook
    def interrupted_in_hook(context: dg.HookContext) -> None:
        if context.step_key == "first":
            raise DagsterExecutionInterruptedError()

    report = _run(second, {interrupted_in_hook})
    assert not report.success and report.interrupted
    assert not report.failed_steps and not report.interrupted_steps
    assert list(report.materialized) == ["first"]


def test_a_failing_step_is_a_failure_with_its_reason_not_an_interruption() -> None:
    @dg.asset(deps=[first])
    def second() -> None:
        raise ValueError("Polar answered 500")

    report = _run(second)
    assert not report.success and not report.interrupted
    assert report.failed_steps == {"second": "Polar answered 500"}
