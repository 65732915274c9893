"""A `refresh --all` worker loads only the raw assets (refresh_all.raw_definitions): the same
steps and checks as the raw jobs of the whole code location, without the dbt project."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from orchestration.cli.refresh_all import raw_definitions
from orchestration.cli.runner import RAW_JOB, RAW_RECENT_JOB

REPO = Path(__file__).resolve().parents[3]


def job_contents(defs: dg.Definitions, name: str) -> set[str]:
    """Every step of the job with every output it yields (assets and their checks)."""
    job = defs.resolve_job_def(name)
    return {
        f"{node.name}.{output.name}"
        for node in job.graph.nodes
        for output in node.definition.output_defs
    }


@pytest.mark.parametrize("job", [RAW_JOB, RAW_RECENT_JOB])
def test_worker_jobs_run_what_the_code_locations_raw_jobs_run(job: str) -> None:
    from orchestration.definitions import defs as whole

    worker = job_contents(raw_definitions(), job)
    assert worker == job_contents(whole, job)
    assert {"polar_organizations.result", "polar_metrics_daily.result"} <= worker
    assert any("every_organization_loaded" in output for output in worker)  # a check step


def test_worker_definitions_import_neither_dbt_nor_dagster_dbt() -> None:
    probe = (
        "import sys\n"
        "from orchestration.cli.refresh_all import raw_definitions\n"
        "raw_definitions().resolve_job_def('polar_raw_refresh_job')\n"
        "print(sorted(m for m in ('dbt', 'dagster_dbt') if m in sys.modules))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert shown.stdout.strip() == "[]"
