"""Tenant dashboard pages written by spawned processes are the pages written in process.

The session's pipeline warehouse holds four connections with their tenant serving files. The
process form is forced (its threshold lowered to one tenant per process) and its pages are
compared with the in-process ones, byte for byte apart from the minute they were generated.
"""

import os
import re
from pathlib import Path

import pytest

from orchestration.outputs.dashboard import tenant_pages
from orchestration.outputs.dashboard.tenant_pages import DASHBOARD_FILE, write_tenant_pages
from orchestration.warehouse.serving import served_connections, tenant_directory
from tests.orchestration.outputs.conftest import ALERT_SCENARIO, Pipeline, environment
from tests.orchestration.outputs.spawn_marker import record_pid

GENERATED_AT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


def pages(warehouse: Path, names: list[str]) -> dict[str, str]:
    """Each tenant's page, its generation minute blanked."""
    return {
        name: GENERATED_AT.sub(
            "<minute>", (tenant_directory(warehouse, name) / DASHBOARD_FILE).read_text()
        )
        for name in names
    }


def test_pages_written_by_processes_equal_the_pages_written_here(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names = served_connections(pipeline.warehouse)
    assert len(names) >= 4, names
    with environment(pipeline.environment(ALERT_SCENARIO)):  # the same alert rules either way
        here = write_tenant_pages(pipeline.warehouse, names)
        expected = pages(pipeline.warehouse, names)
        for path in here:
            path.unlink()
        monkeypatch.setattr(tenant_pages, "MIN_TENANTS_PER_PROCESS", 1)
        monkeypatch.setenv("TENANT_PAGE_PIDS", str(tmp_path))
        spread = write_tenant_pages(
            pipeline.warehouse, names, processes=2, start_process=record_pid
        )
    assert sorted(spread) == sorted(here)
    assert pages(pipeline.warehouse, names) == expected
    workers = {int(entry.name) for entry in tmp_path.iterdir()}
    assert len(workers) == 2 and os.getpid() not in workers  # two processes wrote them
