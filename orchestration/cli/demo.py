"""`polar-metrics demo`: emulator on loopback -> real OAuth connect -> full refresh -> summary.

State lives in `.demo/` in the current directory, recreated on each run with a fresh key ring,
so the demo never touches a real connection or warehouse.
"""

import os
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from connectors.polar.config import PolarSettings
from connectors.polar_emulator.config import EmulatorConfig
from orchestration.cli.headless import (
    connect_headless,
    emulator_environment,
    reserved_loopback_port,
)
from orchestration.outputs.formatting import terminal_safe

DEMO_DIR = ".demo"
CONNECTION = "default"
SCENARIO = "demo"  # the emulator's small business (see the README), synced in seconds

PrintLine = Callable[[str], None]


def fresh_state_dir(base: Path) -> Path:
    """`<base>/.demo`, emptied."""
    state = base / DEMO_DIR
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(mode=0o700, parents=True)  # tokens and business data: owner-only
    return state


def run_demo(print_line: PrintLine, run_pipeline: Callable[[str], int]) -> int:
    """Run the demo end to end; the pipeline's exit code."""
    from connectors.polar_emulator.server import run_emulator

    started = time.monotonic()
    state = fresh_state_dir(Path.cwd())
    with ExitStack() as stack:
        port = stack.enter_context(reserved_loopback_port())
        config = EmulatorConfig(
            scenario=SCENARIO,
            auto_approve=True,
            redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        )
        emulator = stack.enter_context(run_emulator(config))
        print_line(f"Polar emulator (scenario '{SCENARIO}') at {emulator.base_url}")
        os.environ.update(
            emulator_environment(
                emulator.base_url, emulator.client_id, emulator.client_secret, state
            )
        )
        settings = PolarSettings.from_env()
        connection = connect_headless(settings, CONNECTION, port)
        organizations = connection.organizations()
        active = [o for o in organizations if o.is_queried]
        print_line(
            f"Connected through OAuth: {len(organizations)} organization(s), "
            f"{len(active)} active: " + ", ".join(terminal_safe(o.name) for o in active)
        )
        code = run_pipeline(CONNECTION)
    print_line(f"Warehouse: {settings.warehouse_path}")
    report_outputs(settings, print_line)
    print_line(f"Demo finished in {time.monotonic() - started:.1f} s (state in {state})")
    return code


def report_outputs(settings: PolarSettings, print_line: PrintLine) -> None:
    """The last 30 days' summary table, or why it cannot be read."""
    from orchestration.outputs import summary

    try:
        with summary.open_read_only(settings.warehouse_path) as con:
            period = summary.read_period_summary(con, CONNECTION, "last_30_days")
            table = summary.format_table(summary.select_metrics(period, summary.HEADLINE_METRICS))
        print_line("Last 30 days, all organizations:")
        print_line(table)
    except Exception as error:  # e.g. dbt failed: the demo still says what it did
        print_line(f"Summary not available: {error}")
