"""The emulator's scenarios: which users and organizations exist, and how busy they are."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connectors.polar_emulator.business.derived_ids import derived_uuid4
from connectors.polar_emulator.business.organization_factory import make_organization
from connectors.polar_emulator.business.simulation_model import HISTORY_START
from connectors.polar_emulator.business.world_model import EmulatedOrganization, EmulatedUser
from connectors.polar_emulator.config import EmulatorConfig

DROP_DAYS = 3  # the `drop` organization's last days (today included) lose most payments
_MANY_NAMES = (
    ("Acme", "Blue", "Copper", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo", "Juniper"),
    (
        "Analytics",
        "Labs",
        "Studio",
        "Software",
        "Systems",
        "Tools",
        "Works",
        "Cloud",
        "Apps",
        "Data",
    ),
)


@dataclass
class ScenarioContent:
    """Users and organizations a scenario starts with."""

    users: dict[str, EmulatedUser] = field(default_factory=dict)
    organizations: dict[str, EmulatedOrganization] = field(default_factory=dict)
    primary_user_id: str | None = None

    def add_user(self, config: EmulatorConfig, label: str, email: str) -> EmulatedUser:
        """A new user; the first one added is the primary (who signs in on the consent page)."""
        user = EmulatedUser(derived_uuid4(config.seed, config.scenario, "user", label), email, True)
        self.users[user.id] = user
        self.primary_user_id = self.primary_user_id or user.id
        return user

    def add_member_organization(self, user: EmulatedUser, org: EmulatedOrganization) -> None:
        """Register the organization with `user` as a member."""
        self.organizations[org.id] = org
        user.organization_ids.append(org.id)


def _history_day(days: int) -> datetime:
    return HISTORY_START + timedelta(days=days)


def _default(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    user = content.add_user(config, "primary", "founder@example.com")
    seed = config.seed
    specs = [
        ("acme", "Acme Analytics", "active", "usd", _history_day(3), 3.0),
        ("nordlicht", "Nordlicht Software", "active", "eur", _history_day(70), 1.5),
        ("side-project", "Side Project Labs", "review", "usd", now - timedelta(days=45), 0.3),
        ("blocked-1", "Totally Legit Deals", "blocked", "usd", _history_day(200), 0.5),
        ("blocked-2", "Chargeback Central", "blocked", "eur", _history_day(400), 0.5),
    ]
    for label, name, status, currency, created, scale in specs:
        org = make_organization(
            seed, label, name, status=status, currency=currency, created_at=created, scale=scale
        )
        content.add_member_organization(user, org)
    # Someone else's organization: its id must be silently ignored in the primary user's calls.
    other = content.add_user(config, "other", "someone.else@example.com")
    foreign = make_organization(
        seed,
        "foreign",
        "Foreign Ventures",
        status="active",
        currency="usd",
        created_at=_history_day(30),
        scale=1.0,
    )
    content.add_member_organization(other, foreign)


def _demo(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    """`default`'s cast (a USD and an EUR organization, one in review, two blocked, someone
    else's) with a small, recent business, so `polar-metrics demo` syncs it in seconds: the
    active organizations opened 400 and 300 days before `now` and sell at a third of
    `default`'s pace."""
    user = content.add_user(config, "primary", "founder@example.com")
    specs = [
        ("acme", "Acme Analytics", "active", "usd", now - timedelta(days=400), 1.0),
        ("nordlicht", "Nordlicht Software", "active", "eur", now - timedelta(days=300), 0.5),
        ("side-project", "Side Project Labs", "review", "usd", now - timedelta(days=45), 0.1),
        ("blocked-1", "Totally Legit Deals", "blocked", "usd", now - timedelta(days=200), 0.1),
        ("blocked-2", "Chargeback Central", "blocked", "eur", now - timedelta(days=150), 0.1),
    ]
    for label, name, status, currency, created, scale in specs:
        org = make_organization(
            config.seed, label, name, status=status, currency=currency, created_at=created,
            scale=scale,
        )  # fmt: skip
        content.add_member_organization(user, org)
    other = content.add_user(config, "other", "someone.else@example.com")
    foreign = make_organization(
        config.seed, "foreign", "Foreign Ventures", status="active", currency="usd",
        created_at=now - timedelta(days=100), scale=0.2,
    )  # fmt: skip
    content.add_member_organization(other, foreign)


def _single(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    user = content.add_user(config, "primary", "founder@example.com")
    org = make_organization(
        config.seed,
        "single",
        "Acme Analytics",
        status="active",
        currency="usd",
        created_at=_history_day(3),
        scale=3.0,
    )
    content.add_member_organization(user, org)


def _empty(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    content.add_user(config, "primary", "newcomer@example.com")


def _many(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    user = content.add_user(config, "primary", "platform@example.com")
    first, second = _MANY_NAMES
    for index in range(config.orgs):
        name = f"{first[index % 10]} {second[index // 10 % 10]} {index + 1}"
        org = make_organization(
            config.seed,
            f"many-{index}",
            name,
            status="active",
            currency="usd",
            created_at=_history_day(index * 7 % 365),
            scale=0.3 + (index % 7) * 0.3,
        )
        content.add_member_organization(user, org)


def _drop(config: EmulatorConfig, now: datetime, content: ScenarioContent) -> None:
    user = content.add_user(config, "primary", "founder@example.com")
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    drop_from = (today - timedelta(days=DROP_DAYS - 1)).timestamp()
    org = make_organization(
        config.seed,
        "drop",
        "Acme Analytics",
        status="active",
        currency="usd",
        created_at=_history_day(3),
        # A third of `single`'s pace: the alert needs the fall (every payment of the last days
        # fails), not the volume, and a full refresh syncs every entity (48,579 orders at 3.0
        # took 42 s of the suite's `pipeline` fixture).
        scale=1.0,
        drop_from=drop_from,
    )
    content.add_member_organization(user, org)


SCENARIO_BUILDERS: dict[str, Callable[[EmulatorConfig, datetime, ScenarioContent], None]] = {
    "default": _default,
    "demo": _demo,
    "single": _single,
    "empty": _empty,
    "many": _many,
    "drop": _drop,
}


def scenario_content(config: EmulatorConfig, now: datetime) -> ScenarioContent:
    """The users and organizations of `config.scenario` as of `now`."""
    content = ScenarioContent()
    SCENARIO_BUILDERS[config.scenario](config, now, content)
    return content
