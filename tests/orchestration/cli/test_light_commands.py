"""Commands that only read answer without importing Dagster, dbt, pandas or numpy (seconds of
start-up; numpy came in once through the emulator's simulation, imported for an email format).

Each probe runs the real command in a fresh interpreter and lists the heavy packages it loaded.
`summary` has its own probe beside its tests (tests/orchestration/outputs/test_summary_cli.py).
"""

import subprocess
import sys

import pytest

from tests.orchestration.cli.conftest import ConnectedState

PROBE = """
import sys
from orchestration.cli import build_parser, main
args = sys.argv[1:]
if args:
    try:
        main(args)
    except SystemExit as exit:
        assert not exit.code, exit.code
else:
    build_parser()
heavy = sorted(
    {m.split(".")[0] for m in sys.modules} & {"dagster", "dagster_dbt", "dbt", "pandas", "numpy"}
)
print("HEAVY=" + ",".join(heavy), file=sys.stderr)
"""


def heavy_imports(env: dict[str, str], *args: str) -> str:
    """The heavy packages `polar-metrics ARGS` imported, comma-separated ('' for none)."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr.strip().splitlines()[-1].removeprefix("HEAVY=")


def test_building_the_command_line_imports_no_heavy_package(connected: ConnectedState) -> None:
    # Every command module is registered at start: none may pull Dagster, dbt or pandas in.
    assert heavy_imports(connected.env) == ""


@pytest.mark.parametrize(
    "args", [["status"], ["status", "--json"], ["connections"], ["connections", "--json"]]
)
def test_status_and_connections_import_no_heavy_package(
    connected: ConnectedState, args: list[str]
) -> None:
    assert heavy_imports(connected.env, *args) == ""
