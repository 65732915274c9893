"""Settings from the environment: which Polar, which OAuth client, where state lives.

Secrets (client secret, token keys) are read only from the environment and never printed.
"""

import ipaddress
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from connectors.polar.errors import ConfigurationError

DEFAULT_CONNECTION = "default"
DEFAULT_WINDOW_DAYS = 90
# Polar restates ended days (refunds, cancellations): days older than the window are re-read
# this often, as far back as this many days (Polar's largest daily window).
DEFAULT_RECHECK_EVERY_DAYS = 7
DEFAULT_RECHECK_DAYS = 366
# Ten concurrent calls: a refresh of N organizations makes N + 2 calls whatever the concurrency,
# and the request budget keeps them under Polar's limit; ten in flight hide its latency.
DEFAULT_CONCURRENCY = 10
# Orders change after creation (refunds, disputes): each sync re-reads this many days of them.
DEFAULT_ORDERS_LOOKBACK_DAYS = 35
# Customers have no time filter: new ones are read every sync, all of them once a week.
DEFAULT_CUSTOMERS_SWEEP_DAYS = 7
PII_MODES = ("hash", "keep", "drop")


@dataclass(frozen=True)
class PolarEnvironment:
    """Where a Polar lives: the browser authorize page and the API base URL."""

    name: str  # production | sandbox | emulator
    authorize_url: str
    api_base_url: str
    rate_limit_per_minute: int | None  # Polar's per-OAuth-client budget; None = unknown/none

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint."""
        return f"{self.api_base_url}/v1/oauth2/token"


PRODUCTION = PolarEnvironment(
    "production", "https://polar.sh/oauth2/authorize", "https://api.polar.sh", 500
)
SANDBOX = PolarEnvironment(
    "sandbox", "https://sandbox.polar.sh/oauth2/authorize", "https://sandbox-api.polar.sh", 100
)


def resolve_environment(value: str) -> PolarEnvironment:
    """`production`, `sandbox`, or an emulator base URL such as http://127.0.0.1:8765."""
    lowered = value.strip().lower()
    if lowered in ("", "production", "prod"):
        return PRODUCTION
    if lowered == "sandbox":
        return SANDBOX
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            f"POLAR_ENVIRONMENT={value!r} is not understood: use 'production', 'sandbox' or the "
            "base URL of a Polar emulator such as http://127.0.0.1:8765 (no path)."
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        raise ConfigurationError(
            f"POLAR_ENVIRONMENT={value!r} uses plain http:// to a host that is not this machine: "
            "the client secret and tokens would cross the network unencrypted. Use https://, "
            "or http:// only to a loopback emulator (127.0.0.1, ::1 or localhost)."
        )
    base = f"{parts.scheme}://{parts.netloc}"
    # The emulator serves the browser authorize page and the API on one origin.
    return PolarEnvironment("emulator", f"{base}/oauth2/authorize", base, None)


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts plain http:// may go to."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name could resolve anywhere


@dataclass(frozen=True)
class PolarSettings:
    """Everything the connection and the pipeline need, read once from the environment."""

    environment: PolarEnvironment
    client_id: str | None
    client_secret: str | None = field(repr=False)
    token_keys: str | None = field(repr=False)  # raw key ring, parsed by connectors.polar.crypto
    home: Path
    warehouse_path: Path
    timezone: str
    window_days: int
    concurrency: int
    rate_limit_per_minute: int | None
    customer_pii: str = "hash"  # hash | keep | drop (connectors.polar.pii)
    pii_key: str | None = field(default=None, repr=False)
    orders_lookback_days: int = DEFAULT_ORDERS_LOOKBACK_DAYS
    customers_sweep_days: int = DEFAULT_CUSTOMERS_SWEEP_DAYS
    recheck_every_days: int = DEFAULT_RECHECK_EVERY_DAYS  # 0 = never re-check older days
    recheck_days: int = DEFAULT_RECHECK_DAYS

    @property
    def token_store_path(self) -> Path:
        """The small SQLite file holding the encrypted tokens (never the warehouse)."""
        return self.home / "tokens.sqlite"

    def require_client(self) -> tuple[str, str]:
        """The OAuth client id and secret, or a clear error naming the missing variable."""
        missing = [
            name
            for name, value in (
                ("POLAR_CLIENT_ID", self.client_id),
                ("POLAR_CLIENT_SECRET", self.client_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"{' and '.join(missing)} not set: create an OAuth app at "
                "https://polar.sh/settings (Developers > OAuth applications) and export its "
                "client id and secret (see README, 'Connecting a real Polar account')."
            )
        return self.client_id or "", self.client_secret or ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "PolarSettings":
        """Read the settings from `environ` (default: os.environ)."""
        env = dict(os.environ if environ is None else environ)
        environment = resolve_environment(env.get("POLAR_ENVIRONMENT", "production"))
        home = Path(env.get("POLAR_METRICS_HOME") or Path.home() / ".polar-metrics").expanduser()
        warehouse = env.get("POLAR_METRICS_WAREHOUSE") or str(home / "warehouse.duckdb")
        rate_limit = _int_setting(env, "POLAR_RATE_LIMIT_PER_MINUTE", None, minimum=0)
        return cls(
            environment=environment,
            client_id=env.get("POLAR_CLIENT_ID") or None,
            client_secret=env.get("POLAR_CLIENT_SECRET") or None,
            token_keys=env.get("POLAR_TOKEN_KEYS") or None,
            home=home,
            warehouse_path=Path(warehouse).expanduser(),
            timezone=validate_timezone(env.get("POLAR_METRICS_TIMEZONE", "UTC")),
            window_days=_int_setting(
                env, "POLAR_METRICS_WINDOW_DAYS", DEFAULT_WINDOW_DAYS, minimum=1, maximum=366
            )
            or DEFAULT_WINDOW_DAYS,
            concurrency=_int_setting(
                env, "POLAR_METRICS_CONCURRENCY", DEFAULT_CONCURRENCY, minimum=1, maximum=64
            )
            or DEFAULT_CONCURRENCY,
            rate_limit_per_minute=(
                environment.rate_limit_per_minute if rate_limit is None else (rate_limit or None)
            ),
            customer_pii=customer_pii_mode(env.get("POLAR_METRICS_CUSTOMER_PII", "hash")),
            pii_key=env.get("POLAR_METRICS_PII_KEY") or None,
            orders_lookback_days=_int_setting(
                env,
                "POLAR_METRICS_ORDERS_LOOKBACK_DAYS",
                DEFAULT_ORDERS_LOOKBACK_DAYS,
                minimum=1,
                maximum=3650,
            )
            or DEFAULT_ORDERS_LOOKBACK_DAYS,
            customers_sweep_days=_int_setting(
                env,
                "POLAR_METRICS_CUSTOMERS_SWEEP_DAYS",
                DEFAULT_CUSTOMERS_SWEEP_DAYS,
                minimum=0,
                maximum=365,
            )
            or 0,
            recheck_every_days=_int_setting(
                env,
                "POLAR_METRICS_RECHECK_EVERY_DAYS",
                DEFAULT_RECHECK_EVERY_DAYS,
                minimum=0,
                maximum=365,
            )
            or 0,
            recheck_days=_int_setting(
                env, "POLAR_METRICS_RECHECK_DAYS", DEFAULT_RECHECK_DAYS, minimum=1, maximum=366
            )
            or DEFAULT_RECHECK_DAYS,
        )


def customer_pii_mode(value: str) -> str:
    """`hash`, `keep` or `drop` (POLAR_METRICS_CUSTOMER_PII), or a clear error."""
    mode = value.strip().lower() or "hash"
    if mode not in PII_MODES:
        raise ConfigurationError(
            f"POLAR_METRICS_CUSTOMER_PII={value!r} is not understood: use 'hash' (default: "
            "email, names and address replaced by a keyed hash), 'keep' (stored as Polar sends "
            "them) or 'drop' (not stored)."
        )
    return mode


def validate_timezone(name: str) -> str:
    """An IANA timezone name Polar accepts, or a clear error (Polar answers 422 otherwise)."""
    # Polar validates against the IANA list itself (pydantic's TimeZoneName), so a file that
    # ZoneInfo can load but that is not a zone name (posix/..., right/..., posixrules) would
    # make every metrics call fail with 422.
    if name not in _iana_timezone_names():
        raise ConfigurationError(
            f"POLAR_METRICS_TIMEZONE={name!r} is not an IANA timezone name; use e.g. 'UTC', "
            "'Europe/Paris' or 'America/New_York'."
        )
    return name


@cache
def _iana_timezone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _int_setting(
    env: dict[str, str], name: str, default: int | None, *, minimum: int, maximum: int | None = None
) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} must be a whole number.") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigurationError(f"{name}={value} must be {bound}.")
    return value
