"""How an emulator instance behaves: scenario, seed, OAuth client, lifetimes, limits."""

from dataclasses import dataclass, field
from datetime import datetime

SCENARIOS = ("default", "single", "empty", "many", "drop", "demo")
DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8976/callback", "http://localhost:8976/callback")


def account_email(number: int | str) -> str:
    """The sign-in email of extra account `number` (2..N of `--accounts N`): its OAuth
    `login_hint`. Here, not in business/, so the CLI can print it without the simulation."""
    return f"account-{number}@example.com"


@dataclass
class EmulatorConfig:
    """Settings of one emulator instance. Same scenario and seed give the same business."""

    scenario: str = "default"
    seed: int = 42
    orgs: int = 3  # number of active organizations in the `many` scenario
    accounts: int = 1  # Polar users: the scenario's primary user + accounts 2..N (login_hint)
    latency_ms: int = 0  # added to every /v1 and OAuth API response
    rate_limit_per_minute: int | None = 500  # per OAuth client, like Polar production; None = off
    auto_approve: bool = False  # skip the consent page (scripts, tests, the demo)
    # The demo OAuth client; None = derived from the seed (printed at start).
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    redirect_uris: tuple[str, ...] = DEFAULT_REDIRECT_URIS
    access_token_lifetime_code: int = 864000  # Polar: 10 days from an authorization code
    access_token_lifetime_refresh: int = 3600  # Polar: 1 hour from a refresh
    now: datetime | None = None  # fixed "now" (aware) for reproducible runs; None = the real clock

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; choose one of {', '.join(SCENARIOS)}"
            )
        if self.accounts < 1:
            raise ValueError(f"--accounts must be at least 1, not {self.accounts}")
