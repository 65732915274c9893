"""`polar-metrics movements`: why MRR moved (new, expansion, reactivation, contraction, churn).

Reads the warehouse read-only with duckdb and the standard library only (no Dagster, dbt or
pandas), like `summary`, and shares its period names.
"""

import argparse
import sys

from connectors.polar.config import PolarSettings
from orchestration.outputs.periods import PERIODS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `movements` command."""
    parser = subparsers.add_parser(
        "movements",
        help="print the MRR movements per month (new, expansion, churn ...) from the warehouse",
        description=(
            "Print the MRR bridge from the warehouse's marts: opening MRR, new, expansion, "
            "reactivation, contraction, churn, FX impact, net new and closing MRR. Without "
            "--period: the last 12 complete months and the current (partial) one. With --period: "
            "one line over the same days `summary --period` uses. Money is in US dollars (Polar "
            "reports MRR in USD cents; --json gives the cents)."
        ),
    )
    parser.add_argument(
        "--connection", default="default", help="connection name (default: default)"
    )
    parser.add_argument(
        "--period", choices=list(PERIODS), help="default: the last 12 months, month by month"
    )
    parser.add_argument(
        "--organization", default="all", help="organization id or slug (default: all organizations)"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output (cents)")
    parser.set_defaults(func=handle_movements)


def handle_movements(args: argparse.Namespace) -> int:
    """Print the movements; exit code 0, or 1 with a message saying what to do."""
    from connectors.polar.errors import PolarError
    from orchestration.outputs import analytics
    from orchestration.outputs.marts import organizations, resolve_scope
    from orchestration.outputs.movements import (
        MovementsReport,
        format_movements_table,
        movements_to_json,
    )
    from orchestration.warehouse.files import open_read_only

    with open_read_only(PolarSettings.from_env().warehouse_path) as con:
        scope = resolve_scope(con, args.connection, args.organization)
        names = {org["id"]: org["name"] for org in organizations(con, args.connection)}
        if args.period is None:
            period, rows = "months", analytics.monthly_movements(con, args.connection, scope)
        else:
            period = PERIODS[args.period]
            dates = analytics.period_dates(con, args.connection, period)
            if dates is None:
                raise PolarError(
                    f"No {period} period for connection {args.connection!r} yet: "
                    "run `polar-metrics refresh` first."
                )
            rows = [analytics.range_movements(con, args.connection, *dates[:2], scope, dates[2])]
    report = MovementsReport(args.connection, scope, names.get(scope, scope), period, rows)
    text = movements_to_json(report) if args.json else format_movements_table(report)
    sys.stdout.write(text + "\n")
    return 0
