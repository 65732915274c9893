"""The emulator's command line: its flags and the serve-forever console.

`python -m connectors.polar_emulator [flags]` runs `main`; `polar-metrics emulator [flags]` adds
the same flags (`add_arguments`) and the same handler (`run`) as one of its sub-commands.
"""

import argparse
import ipaddress
import sys
from typing import TYPE_CHECKING

from connectors.polar_emulator.config import (
    DEFAULT_REDIRECT_URIS,
    SCENARIOS,
    EmulatorConfig,
    account_email,
)

if TYPE_CHECKING:
    from connectors.polar_emulator.server import RunningEmulator

PROG = "python -m connectors.polar_emulator"
HELP = "serve a local Polar emulator (OAuth server + API) for demos and tests"
DESCRIPTION = "Serve an emulated Polar API and OAuth server with a deterministic business."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's flags (the parser's `prog` prefixes its error messages)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="default")
    parser.add_argument("--seed", type=int, default=42, help="same seed, same numbers")
    parser.add_argument("--orgs", type=int, default=3, help="organizations in the `many` scenario")
    parser.add_argument(
        "--accounts",
        type=int,
        default=1,
        metavar="N",
        help="Polar users: 1 = the scenario's own; accounts 2..N sign in with OAuth login_hint "
        "account-<n>@example.com, each with 1-3 organizations (default 1)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every response")
    parser.add_argument("--auto-approve", action="store_true", help="skip the consent page")
    parser.add_argument("--client-id", help="demo OAuth client id (default: derived from the seed)")
    parser.add_argument("--client-secret", help="demo OAuth client secret (default: from the seed)")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        metavar="URI",
        help="allowed redirect URI of the demo client (repeatable)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=500,
        metavar="N",
        help="requests per minute per OAuth client (default 500, like Polar; 0 = off)",
    )
    parser.add_argument(
        "--access-token-lifetime",
        type=int,
        metavar="SECONDS",
        help="lifetime of every new access token (default: Polar's 864000 / 3600)",
    )
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback interface"
    )
    parser.set_defaults(emulator_prog=parser.prog)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m connectors.polar_emulator`."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    add_arguments(parser)
    return parser


def is_loopback(host: str) -> bool:
    """Whether the host only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """The EmulatorConfig the flags describe."""
    config = EmulatorConfig(
        scenario=args.scenario,
        seed=args.seed,
        orgs=args.orgs,
        accounts=args.accounts,
        latency_ms=args.latency_ms,
        rate_limit_per_minute=args.rate_limit or None,
        auto_approve=args.auto_approve,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=tuple(args.redirect_uris or DEFAULT_REDIRECT_URIS),
    )
    if args.access_token_lifetime is not None:
        config.access_token_lifetime_code = args.access_token_lifetime
        config.access_token_lifetime_refresh = args.access_token_lifetime
    return config


def print_banner(running: "RunningEmulator") -> None:
    """Tell the user where the emulator listens and how to point the product at it."""
    print(f"Polar emulator listening on {running.base_url}", flush=True)
    config = running.state.config
    print(f"  scenario: {config.scenario}  seed: {config.seed}")
    if config.accounts > 1:
        print(
            f"  accounts: {config.accounts} (sign in as {account_email(2)} ... "
            f"{account_email(config.accounts)} with the OAuth login_hint parameter)"
        )
    print(f"  demo OAuth client id:     {running.client_id}")
    print(f"  demo OAuth client secret: {running.client_secret}  (a fake credential)")
    for uri in running.redirect_uris:
        print(f"  redirect URI:             {uri}")
    print("Export these to use it:")
    print(f"  export POLAR_ENVIRONMENT={running.base_url}")
    print(f"  export POLAR_CLIENT_ID={running.client_id}")
    print(f"  export POLAR_CLIENT_SECRET={running.client_secret}")
    print("Press Ctrl+C to stop.", flush=True)


def run(args: argparse.Namespace) -> int:
    """Serve the emulator in the foreground until Ctrl+C; gives the exit code."""
    prog = getattr(args, "emulator_prog", PROG)
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"{prog}: refusing to listen on {args.host} (not loopback); "
            "pass --allow-remote if you really want other machines to reach it",
            file=sys.stderr,
        )
        return 2
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    from connectors.polar_emulator.server import serve_forever

    try:
        serve_forever(config, host=args.host, port=args.port, on_ready=print_banner)
    except OSError as error:
        print(f"{prog}: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m connectors.polar_emulator`."""
    args = build_parser().parse_args(argv)
    try:
        code = run(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code)
