"""What `polar-metrics refresh` prints per stage: entity rows and requests, dbt's node count."""

import sys
from pathlib import Path

import pytest

from orchestration.cli.progress import StageProgress


def test_the_entities_line_comes_once_all_entity_steps_ended_in_catalogue_order(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    progress = StageProgress(sys.stdout, tmp_path / "dbt.log", entity_steps=2)
    progress("polar_orders", True, None, {"rows_written": 120, "requests": 3})
    assert capsys.readouterr().out == ""  # refunds has not ended yet
    progress("polar_refunds", True, None, {"rows_written": 4, "requests": 1})
    out = capsys.readouterr().out
    assert out == "  entities: refunds 4 rows / 1 requests, orders 120 rows / 3 requests\n"


def test_the_dbt_line_counts_the_nodes_dbt_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = tmp_path / "dbt.log"
    log.write_text("Finished running 3 seeds\n\nDone. PASS=5 WARN=1 ERROR=0 SKIP=0 TOTAL=6\n")
    StageProgress(sys.stdout, log, entity_steps=0)("polar_dbt_models", True, None, {})
    assert "  dbt: 6 nodes built and tested (PASS=5 WARN=1" in capsys.readouterr().out
