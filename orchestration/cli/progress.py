"""What `refresh` and `demo` print while the graph runs: one line per stage, dbt's log in a file.

Stages: organizations, metrics, entities, dbt (with its node count) and outputs, each printed
once its steps have ended. dbt's own lines (dagster-dbt echoes them to stdout) go to
`<state directory>/dbt/last-build.log`; when dbt fails, its tail and errors are shown instead.
"""

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import TextIO

from orchestration.outputs.formatting import terminal_safe

ENTITIES = ("products", "customers", "subscriptions", "refunds", "orders")
OUTPUT_STEPS = ("polar_dashboard", "polar_serving_copy", "polar_revenue_alerts")
DBT_STEP = "polar_dbt_models"
DBT_LOG_NAME = "last-build.log"
DBT_TAIL_LINES = 15
DBT_DONE = re.compile(r"Done\. (PASS=\d+ WARN=\d+ ERROR=\d+ SKIP=\d+(?: NO-OP=\d+)? TOTAL=(\d+))")


class StageProgress:
    """Receives each step's end (runner.StepCallback) and prints a line when a stage is done."""

    def __init__(self, out: TextIO, dbt_log: Path, entity_steps: int) -> None:
        self.out = out
        self.dbt_log = dbt_log
        self.entity_steps = entity_steps
        self.entities: dict[str, dict[str, object]] = {}
        self.outputs: dict[str, dict[str, object]] = {}

    def __call__(self, step: str, ok: bool, error: str | None, meta: dict[str, object]) -> None:
        """Print the stage line this step completes, or the failure it reports."""
        if not ok:
            mark = "stopped" if error == "interrupted" else "FAILED"
            detail = terminal_safe(error or "no message")
            print(f"  {mark} {step}: {detail}", file=sys.stderr, flush=True)
            if step == DBT_STEP:
                self._print_dbt_failure()
            return
        if step == "polar_organizations":
            self._print(
                f"  organizations: {meta.get('organizations', '?')} found, "
                f"{meta.get('active_organizations', '?')} active"
            )
        elif step == "polar_metrics_daily":
            self._print(
                f"  metrics: window {meta.get('window', '?')}, {meta.get('rows_written', '?')} "
                f"rows, status {meta.get('refresh_status', '?')}"
            )
        elif step.removeprefix("polar_") in ENTITIES:
            self.entities[step.removeprefix("polar_")] = meta
            if len(self.entities) == self.entity_steps:
                self._print("  entities: " + entity_line(self.entities))
        elif step == DBT_STEP:
            self._print(f"  dbt: {dbt_outcome(self.dbt_log)} (log: {self.dbt_log})")
        elif step in OUTPUT_STEPS:
            self.outputs[step] = meta
            if len(self.outputs) == len(OUTPUT_STEPS):
                path = self.outputs["polar_dashboard"].get("path", "?")
                self._print(f"  outputs: dashboard {path}, serving copy, alerts")

    def _print_dbt_failure(self) -> None:
        lines = read_lines(self.dbt_log)
        tail = [f"  dbt's last {min(len(lines), DBT_TAIL_LINES)} lines ({self.dbt_log}):"]
        tail += [f"    {line}" for line in lines[-DBT_TAIL_LINES:]]
        print("\n".join(tail), file=sys.stderr, flush=True)

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def entity_line(synced: dict[str, dict[str, object]]) -> str:
    """`products 14 rows / 2 requests, ...` in the catalogue's order."""
    return ", ".join(
        f"{entity} {meta.get('rows_written', '?')} rows / {meta.get('requests', '?')} requests"
        for entity in ENTITIES
        if (meta := synced.get(entity)) is not None
    )


def dbt_outcome(log: Path) -> str:
    """`187 nodes (PASS=187 WARN=0 ...)` from dbt's closing line, or what is known without it."""
    for line in reversed(read_lines(log)):
        if match := DBT_DONE.search(line):
            return f"{match.group(2)} nodes built and tested ({match.group(1)})"
    return "built"


def read_lines(path: Path) -> list[str]:
    """The file's lines ([] when it does not exist)."""
    try:
        return path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []


@contextmanager
def dbt_output_to_file(log: Path) -> Iterator[TextIO]:
    """Send what is written to stdout meanwhile (dbt's lines) to `log`; yield the real stdout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    terminal = sys.stdout
    with log.open("w") as file, redirect_stdout(file):
        yield terminal
