"""`polar-metrics summary`: the period summary of the warehouse as a table or JSON.

Only duckdb and the standard library are imported on the warehouse path (no Dagster, no dbt), so
the command answers in well under a second.
"""

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from connectors.polar.config import PolarSettings
from connectors.polar.errors import PolarError
from orchestration.outputs.periods import DEFAULT_PERIOD, PERIODS

if TYPE_CHECKING:
    from orchestration.outputs.summary import PeriodSummary


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `summary` command."""
    parser = subparsers.add_parser(
        "summary",
        help="print the period summary (MRR, revenue, subscriptions ...) from the warehouse",
        description=(
            "Print a period summary from the warehouse's marts. Standard periods and custom ranges "
            "inside the cached window never call Polar; a custom range outside it is one API call "
            "and is not written to the cache. Money is in US dollars, Polar's settlement "
            "currency (Polar reports cents)."
        ),
    )
    parser.add_argument(
        "--connection", default="default", help="connection name (default: default)"
    )
    parser.add_argument("--period", choices=list(PERIODS), help=f"default: {DEFAULT_PERIOD}")
    parser.add_argument("--start", type=_date_argument, help="custom range start (YYYY-MM-DD)")
    parser.add_argument("--end", type=_date_argument, help="custom range end (YYYY-MM-DD)")
    parser.add_argument(
        "--organization", default="all", help="organization id or slug (default: all organizations)"
    )
    parser.add_argument("--metrics", nargs="+", metavar="SLUG", help="metric slugs to show")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=handle_summary)


def _date_argument(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def handle_summary(args: argparse.Namespace) -> int:
    """Print the summary; exit code 0, or 1 with a message saying what to do."""
    from orchestration.outputs import summary as summaries

    if (args.start is None) != (args.end is None):
        raise PolarError("Give both --start and --end for a custom range (YYYY-MM-DD).")
    if args.start is not None and args.period is not None:
        raise PolarError("Use either --period or --start/--end, not both.")
    result = _custom(args) if args.start is not None else _standard(args)
    result = summaries.select_metrics(result, args.metrics)
    text = summaries.summary_to_json(result) if args.json else summaries.format_table(result)
    sys.stdout.write(text + "\n")
    return 0


def _standard(args: argparse.Namespace) -> "PeriodSummary":
    from orchestration.outputs import summary as summaries

    period = PERIODS[args.period or DEFAULT_PERIOD]
    with summaries.open_read_only(PolarSettings.from_env().warehouse_path) as con:
        scope = summaries.resolve_scope(con, args.connection, args.organization)
        return summaries.read_period_summary(con, args.connection, period, scope)


def _custom(args: argparse.Namespace) -> "PeriodSummary":
    from connectors.polar.ranges import validate_custom_range
    from orchestration.outputs import summary as summaries

    settings = PolarSettings.from_env()
    # Bad ranges are refused before the warehouse or Polar is touched.
    validate_custom_range(args.start, args.end, datetime.now(ZoneInfo(settings.timezone)).date())
    with summaries.open_read_only(settings.warehouse_path) as con:
        scope = summaries.resolve_scope(con, args.connection, args.organization)
        window = summaries.cached_window(con, args.connection)
        if window and window[0] <= args.start and args.end <= window[1]:
            return summaries.read_custom_summary(con, args.connection, args.start, args.end, scope)
    # Outside the cached window: one call per organization, nothing written to the warehouse.
    return summary_from_api(settings, args.connection, args.start, args.end, scope)


def summary_from_api(
    settings: PolarSettings, connection: str, start: date, end: date, scope: str
) -> "PeriodSummary":
    """A custom range outside the cached window: asked from Polar, never written to the cache.

    One metrics call per organization plus Polar's server-side `all` series
    (`orchestration.extract.custom_range`, shared with the Dagster custom-range job).
    """
    # Imported here: the warehouse path of `summary` must not pay for the HTTP stack.
    from orchestration.extract.custom_range import answer_custom_range
    from orchestration.outputs.formatting import SETTLEMENT_CURRENCY
    from orchestration.outputs.summary import PeriodSummary, SummaryRow

    answer = answer_custom_range(settings, connection, start, end)
    if scope in answer.errors:
        raise PolarError(f"Polar could not answer for {scope}: {answer.errors[scope]}")
    totals = answer.totals.get(scope, {})
    rows = [
        SummaryRow(metric, value, None, None, None, SETTLEMENT_CURRENCY)
        for metric, value in sorted(totals.items())
    ]
    return PeriodSummary(connection, scope, "custom", start, end, answer.source, rows, False)
