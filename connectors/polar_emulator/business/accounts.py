"""Extra Polar accounts (`--accounts N`): users 2..N, each with their own small organizations.

A deployment of polar-metrics connects many merchants' accounts through one OAuth app. Account 1
is the scenario's primary user; every further account gets one to three organizations of its
own, derived from the seed so the same flags give the same accounts. Histories stay lazy (see
world.py), so a thousand accounts cost nothing until their organizations are read.
"""

from datetime import datetime, timedelta

from connectors.polar_emulator.business.derived_ids import derived_int
from connectors.polar_emulator.business.organization_factory import make_organization
from connectors.polar_emulator.business.scenarios import ScenarioContent
from connectors.polar_emulator.config import EmulatorConfig, account_email

CURRENCIES = ("usd", "usd", "eur", "gbp")  # most merchants sell in USD


def add_extra_accounts(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    """Accounts 2..config.accounts, each with one to three organizations of its own."""
    for number in range(2, config.accounts + 1):
        user = content.add_user(config, f"account-{number}", account_email(number))
        for index in range(1 + derived_int(config.seed, "account-orgs", number) % 3):
            label = f"account-{number}-{index}"
            age_days = 30 + derived_int(config.seed, "account-age", label) % 700
            org = make_organization(
                config.seed,
                label,
                f"Merchant {number}-{index + 1}",
                status="active",
                currency=CURRENCIES[derived_int(config.seed, "account-currency", label) % 4],
                created_at=now - timedelta(days=age_days),
                scale=0.05 + (derived_int(config.seed, "account-scale", label) % 6) * 0.05,
            )
            content.add_member_organization(user, org)
