"""The emulated Polar account: users, organizations and each organization's simulated history.

Building a world only creates users and organizations; an organization's history is simulated
on first use and cached, so a world with hundreds of organizations builds instantly. Histories
are also shared by every world of the process with the same business (same scenario, seed and
clock): a test run starts hundreds of emulators, and each would otherwise simulate the same
histories and recompute the same answers (the ids and metric components cached with them).
"""

import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from connectors.polar_emulator.business.accounts import add_extra_accounts
from connectors.polar_emulator.business.organization_factory import make_organization
from connectors.polar_emulator.business.scenarios import scenario_content
from connectors.polar_emulator.business.simulation import horizon_after, simulate_organization
from connectors.polar_emulator.business.simulation_model import BusinessProfile, OrganizationHistory
from connectors.polar_emulator.business.subscription_changes import AmountChanges
from connectors.polar_emulator.business.world_model import (
    HIDDEN_STATUS,
    ORGANIZATION_STATUSES,
    EmulatedOrganization,
    EmulatedUser,
)
from connectors.polar_emulator.config import EmulatorConfig

HORIZON_MARGIN = timedelta(days=35)  # simulate this far past the clock, extend when reached
HISTORIES_SHARED = 64  # per process, least recently used dropped first

__all__ = ["EmulatedOrganization", "EmulatedUser", "World", "build_world"]


class World:
    """Users, organizations and their lazily simulated histories; safe across threads."""

    def __init__(self, config: EmulatorConfig, now: datetime) -> None:
        content = scenario_content(config, now)
        add_extra_accounts(config, now, content)
        self.config = config
        self.users: dict[str, EmulatedUser] = content.users
        self.organizations: dict[str, EmulatedOrganization] = content.organizations
        self.primary_user_id: str | None = content.primary_user_id
        self._lock = threading.RLock()
        self._history_locks: dict[str, threading.Lock] = {}
        self._histories: dict[str, OrganizationHistory] = {}
        self._amount_changes: dict[str, AmountChanges] = {}
        self._added = 0

    def __repr__(self) -> str:
        return f"World(scenario={self.config.scenario!r}, organizations={len(self.organizations)})"

    def _now(self) -> datetime:
        return self.config.now.astimezone(UTC) if self.config.now else datetime.now(UTC)

    def visible_organizations(
        self, user_id: str, down_scope: list[str]
    ) -> list[EmulatedOrganization]:
        """The user's organizations the API shows: not blocked, within the token's down-scope."""
        with self._lock:
            user = self.users.get(user_id)
            if user is None:
                return []
            orgs = [self.organizations[org_id] for org_id in user.organization_ids]
        return [
            org
            for org in orgs
            if org.status != HIDDEN_STATUS and (not down_scope or org.id in down_scope)
        ]

    def user_for_login(self, login_hint: str | None) -> str | None:
        """Who signs in: the user whose email (any case) or id is the OIDC `login_hint`, else
        the primary user; None when the hint names nobody."""
        if not login_hint:
            return self.primary_user_id
        wanted = login_hint.strip().lower()
        with self._lock:
            for user in self.users.values():
                if wanted in (user.email.lower(), user.id):
                    return user.id
        return None

    def add_organization(
        self, name: str, status: str = "active", currency: str = "usd"
    ) -> EmulatedOrganization:
        """A new organization of the primary user, created now (so it has little history)."""
        _check_status(status)
        currency = currency.lower()
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"currency must be a 3-letter ISO code like 'usd', not {currency!r}")
        if not name.strip():
            raise ValueError("an organization needs a non-empty name")
        with self._lock:
            self._added += 1
            org = make_organization(
                self.config.seed,
                f"added-{self._added}",
                name.strip(),
                status=status,
                currency=currency,
                created_at=self._now(),
                scale=0.5,
                exact_time=True,
            )
            if self.primary_user_id is None:
                raise ValueError("this scenario has no user to own a new organization")
            self.organizations[org.id] = org
            self.users[self.primary_user_id].organization_ids.append(org.id)
        return org

    def set_organization_status(self, org_id: str, status: str) -> None:
        """Change an organization's status (e.g. to `blocked` to hide it from the API)."""
        _check_status(status)
        with self._lock:
            if org_id not in self.organizations:
                raise KeyError(f"no organization {org_id}")
            org = self.organizations[org_id]
            org.status = status
            org.modified_at = org.status_changed_at = self._now()

    def history(self, org_id: str, now: datetime) -> OrganizationHistory:
        """The organization's simulated history, generated on first use and up to past `now`."""
        with self._lock:
            org = self.organizations[org_id]
            lock = self._history_locks.setdefault(org_id, threading.Lock())
        with lock:
            cached = self._histories.get(org_id)
            if cached is None or cached.horizon < (now + timedelta(days=1)).timestamp():
                horizon = horizon_after(now + HORIZON_MARGIN)
                # A history with amount changes is this emulator's own; unchanged ones are shared.
                changes = self._amount_changes.get(org_id)
                cached = (
                    simulate_organization(org.profile, horizon, changes)
                    if changes
                    else shared_history(org.profile, horizon)
                )
                self._histories[org_id] = cached
            return cached

    def change_subscription_amount(self, org_id: str, row: int, amount: int, at: float) -> None:
        """From `at` on, subscription `row` of the organization has `amount` (its history is
        simulated again with the change, so every endpoint and metric sees it)."""
        with self._lock:
            lock = self._history_locks.setdefault(org_id, threading.Lock())
        with lock:
            self._amount_changes.setdefault(org_id, {})[row] = (at, amount)
            self._histories.pop(org_id, None)


@lru_cache(maxsize=HISTORIES_SHARED)
def shared_history(profile: BusinessProfile, horizon: float) -> OrganizationHistory:
    """The history of `profile` up to `horizon`, simulated once per process. Sharing is exact:
    a history is never changed after its simulation; what is added to it later (ids, metric
    components per query and clock position) derives from it alone."""
    return simulate_organization(profile, horizon)


def forget_shared_histories() -> None:
    """Drop every shared history (for measuring or proving what a cold emulator does)."""
    shared_history.cache_clear()


def _check_status(status: str) -> None:
    if status not in ORGANIZATION_STATUSES:
        raise ValueError(
            f"unknown organization status {status!r}; use one of {', '.join(ORGANIZATION_STATUSES)}"
        )


def build_world(config: EmulatorConfig) -> World:
    """The world of `config.scenario`, with `config.now` (or the real clock) as its present."""
    now = config.now.astimezone(UTC) if config.now else datetime.now(UTC)
    return World(config, now)
