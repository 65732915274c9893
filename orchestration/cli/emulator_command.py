"""`polar-metrics emulator`: serve the Polar emulator on loopback for demos and tests.

The flags and the console live with the emulator (`connectors/polar_emulator/cli.py`).
"""

import argparse

from connectors.polar_emulator.cli import DESCRIPTION, HELP, add_arguments, run


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `emulator` command."""
    parser = subparsers.add_parser("emulator", help=HELP, description=DESCRIPTION)
    add_arguments(parser)
    parser.set_defaults(func=run)
