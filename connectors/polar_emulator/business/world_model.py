"""Users and organizations of the emulated Polar account."""

from dataclasses import dataclass, field
from datetime import datetime

from connectors.polar_emulator.business.simulation_model import BusinessProfile

ORGANIZATION_STATUSES = (
    "created",
    "review",
    "snoozed",
    "denied",
    "active",
    "blocked",
    "offboarding",
    "offboarded",
)
HIDDEN_STATUS = "blocked"  # the only status without api_access


@dataclass
class EmulatedUser:
    """A Polar user: who signs in on the consent page and owns memberships."""

    id: str
    email: str
    email_verified: bool
    organization_ids: list[str] = field(default_factory=list)


@dataclass
class EmulatedOrganization:
    """A Polar organization and the business profile its metrics are simulated from."""

    id: str
    name: str
    slug: str
    status: str
    default_presentment_currency: str
    created_at: datetime
    modified_at: datetime
    status_changed_at: datetime
    country: str | None
    account_id: str
    payout_account_id: str
    profile: BusinessProfile = field(repr=False)
