"""`polar-metrics connections [--json]`: every stored connection at a glance.

Name, environment, status, organizations, last refresh and last error, from the token store
(no token is decrypted) and the warehouse's refresh log (read-only). A read-only command: it
imports neither Dagster nor dbt nor pandas, so it answers in well under a second.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from connectors.polar.config import PolarSettings
from connectors.polar.errors import PolarError

LAST_REFRESH_SQL = """
select connection_name, finished_at, status, detail from (
    select *, row_number() over (partition by connection_name order by started_at desc) as rank
    from raw.polar_refreshes
) where rank = 1
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `connections`."""
    parser = subparsers.add_parser(
        "connections",
        help="list every stored connection: status, organizations, last refresh, last error",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run_connections)


def run_connections(args: argparse.Namespace) -> int:
    """Print every connection; exit 0 (an empty list included)."""
    rows = connection_rows(PolarSettings.from_env())
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
    elif not rows:
        print("No connection yet: run `polar-metrics connect` (or `polar-metrics demo`).")
    else:
        _print_table(rows)
    return 0


def connection_rows(settings: PolarSettings) -> list[dict[str, Any]]:
    """One plain dict per stored connection, sorted by name (no secrets)."""
    from connectors.polar.token_store import TokenStore

    refreshes, warehouse_note = _last_refreshes(settings.warehouse_path)
    rows = []
    for stored in sorted(TokenStore(settings.token_store_path).all(), key=lambda r: r.name):
        organizations = stored.metadata.get("organizations") or []
        last = refreshes.get(stored.name, {})
        rows.append(
            {
                "name": stored.name,
                "environment": stored.environment,
                "status": stored.status,
                "organizations": [org.get("slug") or org.get("id") for org in organizations],
                "last_refresh": last.get("finished_at"),
                "last_refresh_status": last.get("status"),
                "last_error": stored.metadata.get("needs_reauth_reason")
                or last.get("error")
                or warehouse_note,
            }
        )
    return rows


def _last_refreshes(path: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The newest refresh per connection, or a note on why the warehouse could not tell."""
    from orchestration.warehouse.files import open_read_only

    if not path.exists():
        return {}, None
    try:
        with open_read_only(path) as con:
            found = con.execute(LAST_REFRESH_SQL).fetchall()
    except PolarError as error:
        return {}, f"refresh log unavailable: {error}"
    refreshes = {}
    for name, finished_at, status, detail in found:
        details = json.loads(detail) if isinstance(detail, str) else (detail or {})
        failed = [s for s in details.get("scopes", []) if not s.get("ok") and s.get("error")]
        error = f"{failed[0].get('scope_id')}: {failed[0]['error']}" if failed else None
        refreshes[name] = {
            "finished_at": finished_at.isoformat() if finished_at else None,
            "status": status,
            "error": error,
        }
    return refreshes, None


def _print_table(rows: list[dict[str, Any]]) -> None:
    from orchestration.outputs.formatting import terminal_safe

    header = ("NAME", "ENVIRONMENT", "STATUS", "ORGS", "LAST REFRESH", "LAST ERROR")
    lines = [header]
    for row in rows:
        refreshed = row["last_refresh"] or "never"
        if row["last_refresh_status"] not in (None, "success"):
            refreshed += f" ({row['last_refresh_status']})"
        lines.append(
            (
                row["name"],
                row["environment"],
                row["status"],
                str(len(row["organizations"])),
                refreshed[:25],
                (row["last_error"] or "-")[:70],
            )
        )
    widths = [max(len(terminal_safe(line[i])) for line in lines) for i in range(len(header))]
    for line in lines:
        cells = [terminal_safe(cell).ljust(width) for cell, width in zip(line, widths, strict=True)]
        sys.stdout.write("  ".join(cells).rstrip() + "\n")
