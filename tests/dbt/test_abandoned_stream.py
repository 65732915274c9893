"""A dbt step that stops mid-stream leaves no half-read dagster-dbt stream to print a traceback.

The SIGTERM test of `polar-metrics refresh` (tests/orchestration/cli/test_refresh_interrupt.py)
met this as a race: only a signal landing outside dbt's stdout read leaves the stream suspended.
Here the state is made on purpose: a real dbt child, its stream read to its first event, then
stopped, as the dbt asset's `finally` does.
"""

import gc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestration.defs.dbt.child import stop_child, stop_streaming
from orchestration.defs.dbt.manifest import ensure_manifest
from orchestration.defs.dbt.project import warehouse_environment
from orchestration.defs.dbt.resources import dbt_resource


def stream_one_event(tmp_path: Path) -> tuple[Any, Iterator[Any]]:
    """A real `dbt seed` and its Dagster event stream, read up to its first event."""
    with warehouse_environment(tmp_path / "warehouse.duckdb"):
        invocation = dbt_resource().cli(
            ["seed", "--select", "polar_metric_catalogue"],
            manifest=ensure_manifest(),
            target_path=tmp_path / "target",
        )
    events = invocation.stream()
    next(events)  # dagster-dbt's stdout reader is now suspended at its `yield`
    return invocation, events


def unraisable_while(drop: Any) -> list[str]:
    """What Python reports as 'Exception ignored in' while `drop()` releases a stream."""
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda report: seen.append(repr(report.exc_value))
    try:
        drop()
        gc.collect()
    finally:
        sys.unraisablehook = previous
    return seen


@pytest.mark.slow
def test_a_stream_stopped_mid_way_is_read_to_its_end_without_a_traceback(tmp_path: Path) -> None:
    """Abandoned, the stream's collection reports 'generator ignored GeneratorExit' (the
    dagster-dbt defect the workaround exists for); after `stop_streaming`, nothing is reported
    and the child has ended."""
    invocation, events = stream_one_event(tmp_path / "abandoned")
    stop_child(invocation.process)
    holder = [events]
    del events
    abandoned = unraisable_while(holder.clear)
    assert any("generator ignored GeneratorExit" in report for report in abandoned), abandoned

    invocation, events = stream_one_event(tmp_path / "read")
    stop_streaming(invocation.process, events)
    holder = [events]
    del events
    assert unraisable_while(holder.clear) == []
    assert invocation.process.poll() is not None
