"""The `polar-metrics` command line.

Each command group lives in its own module with a `register(subparsers)` function. Modules import
their heavy dependencies (Dagster, dbt) inside the handlers, so `polar-metrics summary` answers
without importing either.
"""

import argparse
import sys

from connectors.polar.errors import PolarError
from orchestration.cli import (
    connection_commands,
    connections_command,
    emulator_command,
    movements_command,
    pipeline_commands,
    summary_command,
)

# Each module defines `register(subparsers) -> None` and sets `func` on its parsers (a callable
# taking the parsed args and returning an exit code).
COMMAND_MODULES = (
    emulator_command,
    connection_commands,
    connections_command,
    pipeline_commands,
    summary_command,
    movements_command,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="polar-metrics",
        description="Polar.sh revenue metrics in DuckDB: connect, refresh, summarize.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `polar-metrics` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        raise SystemExit(2)
    try:
        code = args.func(args)
    except PolarError as error:
        print(f"polar-metrics: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("polar-metrics: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code or 0)
