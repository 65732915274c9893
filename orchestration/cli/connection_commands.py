"""`polar-metrics connect | status | disconnect | keys generate | keys rotate`."""

import argparse
import json
import os
import sys
from typing import Any

from connectors.polar.config import DEFAULT_CONNECTION, PolarSettings
from connectors.polar.errors import ConnectionNotFoundError, NeedsReauthError, PolarError
from orchestration.outputs.formatting import terminal_safe

STATUS_EPILOG = """exit codes:
  0  the connection is active and usable
  1  not connected, disconnected, needs a reconnect (`polar-metrics connect`), or an error
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the connection commands to the `polar-metrics` parser."""
    connect = subparsers.add_parser("connect", help="connect a Polar account (OAuth in a browser)")
    _add_connection_option(connect)
    connect.add_argument("--no-browser", action="store_true", help="only print the URL")
    connect.add_argument("--port", type=int, default=8976, help="loopback redirect port (8976)")
    connect.add_argument("--timeout", type=float, default=300, help="seconds to wait (300)")
    connect.add_argument(
        "--login-hint",
        metavar="EMAIL",
        help="the Polar account to sign in as (OpenID Connect login_hint; the emulator's "
        "--accounts pick theirs by it)",
    )
    connect.set_defaults(func=run_connect)

    status = subparsers.add_parser(
        "status",
        help="show a connection's state, organizations and token expiry",
        epilog=STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_connection_option(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=run_status)

    disconnect = subparsers.add_parser(
        "disconnect",
        help="revoke at Polar and forget the tokens",
        description="Revoke the grant at Polar, delete the stored tokens, mark the connection "
        "`disconnected` in the marts and the dashboard (its data stays, dated). --purge --yes "
        "also deletes the connection's rows from every warehouse table and the serving copy.",
    )
    _add_connection_option(disconnect)
    disconnect.add_argument(
        "--purge", action="store_true", help="also delete the connection's data (needs --yes)"
    )
    disconnect.add_argument("--yes", action="store_true", help="confirm --purge")
    disconnect.set_defaults(func=run_disconnect)

    keys = subparsers.add_parser("keys", help="token encryption keys (POLAR_TOKEN_KEYS)")
    key_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = key_commands.add_parser("generate", help="print a new kid:key entry")
    generate.set_defaults(func=run_keys_generate)
    rotate = key_commands.add_parser("rotate", help="re-encrypt every token under the primary key")
    rotate.add_argument(
        "--connection", default=None, metavar="NAME", help="only this connection (default: all)"
    )
    rotate.set_defaults(func=run_keys_rotate)


def _add_connection_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connection", default=DEFAULT_CONNECTION, metavar="NAME", help="connection name"
    )


def run_connect(args: argparse.Namespace) -> int:
    """Connect in the browser and print the discovered organizations."""
    from connectors.polar.connection import connect

    settings = PolarSettings.from_env()
    print(f"Connecting {args.connection!r} to Polar ({settings.environment.name}).", flush=True)
    connection = connect(
        settings,
        args.connection,
        open_browser=not args.no_browser,
        port=args.port,
        on_url=lambda url: print(f"Open this URL to authorize:\n{url}", flush=True),
        timeout=args.timeout,
        login_hint=args.login_hint,
    )
    print(f"Connected {connection.name!r}.")
    _mirror_partition(args.connection, connected=True)
    _print_organizations(connection.organizations())
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the connection's state; exit 0 only when it is usable."""
    report = status_report(PolarSettings.from_env(), args.connection)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        _print_status(report)
    return 0 if report["usable"] else 1


def status_report(settings: PolarSettings, name: str) -> dict[str, Any]:
    """The state of connection `name` as plain data (no secrets)."""
    from connectors.polar.connection import PolarConnection

    try:
        connection = PolarConnection.open(settings, name)
    except ConnectionNotFoundError as error:
        return {
            "connection": name,
            "status": "not_connected",
            "usable": False,
            "detail": str(error),
        }
    report: dict[str, Any] = {
        "connection": name,
        "status": connection.status,
        "environment": connection.environment_name(),
        "organizations": [
            {**o.to_dict(), "is_queried": o.is_queried} for o in connection.organizations()
        ],
        "access_token_expires_at": _iso(connection.access_token_expires_at()),
        "granted_scopes": list(connection.granted_scopes()),
        "usable": False,
        "detail": connection.needs_reauth_reason() if connection.status != "active" else None,
    }
    try:
        connection.ensure_usable()
        report["usable"] = True
    except (NeedsReauthError, ConnectionNotFoundError, PolarError) as error:
        report["detail"] = str(error)
    return report


def run_disconnect(args: argparse.Namespace) -> int:
    """Revoke at Polar, delete the tokens; mark the data disconnected, or purge it."""
    from connectors.polar.connection import REMOVE_APP_HINT, disconnect
    from orchestration.cli.disconnect_data import (
        mark_disconnected,
        print_purge_plan,
        purge_data,
    )

    settings = PolarSettings.from_env()
    if args.purge and not args.yes:
        return print_purge_plan(settings, args.connection)
    outcome = disconnect(settings, args.connection)
    if outcome.revoked:
        print(f"Revoked the tokens of {args.connection!r} at Polar.")
    else:
        print(f"Could not revoke at Polar: {outcome.detail}")
    print(f"Deleted the stored tokens; {args.connection!r} is now disconnected.")
    print(REMOVE_APP_HINT)
    _mirror_partition(args.connection, connected=False)
    if args.purge:
        return purge_data(settings, args.connection)
    return mark_disconnected(settings, args.connection)


def _mirror_partition(name: str, *, connected: bool) -> None:
    """The connection's Dagster partition added or deleted on DAGSTER_HOME's instance (no
    Dagster import without one: the partition sensor reconciles whatever starts later)."""
    if os.environ.get("DAGSTER_HOME"):
        from orchestration.defs.polar.partitions import mirror_on_dagster_home

        mirror_on_dagster_home(name, connected=connected)


def run_keys_generate(args: argparse.Namespace) -> int:
    """Print a new `kid:key` entry for POLAR_TOKEN_KEYS."""
    from connectors.polar.crypto import generate_key_entry

    print(generate_key_entry())
    print(
        "Put it FIRST in POLAR_TOKEN_KEYS (keep the old keys after it), run "
        "`polar-metrics keys rotate`, then drop the old keys.",
        file=sys.stderr,
    )
    return 0


def run_keys_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every stored connection under the primary key."""
    from connectors.polar.connection import rotate_keys

    names = rotate_keys(PolarSettings.from_env(), only=args.connection)
    listed = f": {', '.join(names)}" if names else ""
    print(f"Re-encrypted {len(names)} connection(s) under the primary key{listed}.")
    print("Keys after the first in POLAR_TOKEN_KEYS are no longer needed.")
    return 0


def _print_status(report: dict[str, Any]) -> None:
    print(f"Connection:   {report['connection']}")
    print(f"State:        {report['status']}")
    if report["status"] == "not_connected":
        print(report["detail"])
        return
    print(f"Environment:  {report['environment']}")
    print(f"Token expiry: {report['access_token_expires_at'] or '-'}")
    if report["detail"]:
        print(report["detail"])
    organizations = report["organizations"]
    if not organizations:
        print("No organization: this account has none; metrics show as 0.")
    else:
        print("Organizations (only active ones are queried):")
    for org in organizations:
        queried = "queried" if org["is_queried"] else "not queried"
        # Names and slugs come from Polar: never let them drive the terminal.
        print(
            f"  {terminal_safe(org['name'])} ({terminal_safe(org['slug'])}, {org['id']}): "
            f"{org['status']}, {org['default_presentment_currency']}, {queried}"
        )


def _print_organizations(organizations: list[Any]) -> None:
    if not organizations:
        print("No organization: this Polar account has none yet; metrics will show as 0.")
        return
    print(f"{len(organizations)} organization(s):")
    for org in organizations:
        queried = "queried" if org.is_queried else "not queried (status is not active)"
        print(f"  {terminal_safe(org.name)} ({terminal_safe(org.slug)}): {org.status}, {queried}")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
