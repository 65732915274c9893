"""`refresh --all --workers N`: the worker count is checked before anything runs (the pool
itself is exercised by test_many_connections.py and the benchmark's short form, both slow)."""

import os
import subprocess
from pathlib import Path

from tests.orchestration.cli.conftest import CLI


def _refresh(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLAR_METRICS_HOME": str(tmp_path)}
    return subprocess.run(
        [str(CLI), "refresh", *args], env=env, capture_output=True, text=True, check=False
    )


def test_workers_without_all_is_refused_before_any_refresh(tmp_path: Path) -> None:
    result = _refresh(tmp_path, "--workers", "2")
    assert result.returncode == 2
    assert "--workers applies to `refresh --all` only." in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_workers_must_be_a_whole_number_of_at_least_one(tmp_path: Path) -> None:
    for bad in ("0", "-1", "two"):
        result = _refresh(tmp_path, "--all", "--workers", bad)
        assert result.returncode == 2, bad
        assert "is not a whole number of at least 1" in result.stderr, bad
