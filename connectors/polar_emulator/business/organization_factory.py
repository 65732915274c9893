"""Organizations with realistic fields and a business profile, all derived from a seed."""

import re
from datetime import UTC, datetime, timedelta

from connectors.polar_emulator.business.currency import COUNTRY_BY_CURRENCY
from connectors.polar_emulator.business.derived_ids import derived_int, derived_uuid4
from connectors.polar_emulator.business.simulation_model import HISTORY_START, BusinessProfile
from connectors.polar_emulator.business.world_model import EmulatedOrganization


def slugify(name: str) -> str:
    """Polar-style slug: lowercase words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "organization"


def _fraction(*parts: object) -> float:
    return (derived_int(*parts) % 1_000_000) / 1_000_000


def business_profile(
    seed: int, created_at: datetime, currency: str, scale: float, drop_from: float | None = None
) -> BusinessProfile:
    """The organization's business knobs, drawn from its seed; `scale` sizes its demand."""
    start = max(created_at, HISTORY_START).replace(hour=0, minute=0, second=0, microsecond=0)
    return BusinessProfile(
        seed=seed,
        start=start.timestamp(),
        currency=currency,
        daily_new_subscriptions=scale * (0.8 + 0.4 * _fraction(seed, "demand")),
        yearly_growth=1.2 + 0.5 * _fraction(seed, "growth"),
        monthly_churn=0.04 + 0.04 * _fraction(seed, "churn"),
        trial_share=0.3 + 0.4 * _fraction(seed, "trials"),
        daily_one_time_orders=scale * (0.3 + 0.5 * _fraction(seed, "one-time")),
        checkout_conversion=0.25 + 0.3 * _fraction(seed, "conversion"),
        daily_cost_events=scale * (2 + 6 * _fraction(seed, "usage")),
        drop_from=drop_from,
    )


def make_organization(
    seed: int,
    label: str,
    name: str,
    *,
    status: str,
    currency: str,
    created_at: datetime,
    scale: float,
    drop_from: float | None = None,
    exact_time: bool = False,
) -> EmulatedOrganization:
    """An organization whose id, timestamps and business all derive from (seed, label)."""
    org_seed = derived_int(seed, "organization", label)
    created_at = created_at.astimezone(UTC)
    if not exact_time:  # Polar timestamps carry microseconds; plausible rather than round
        created_at += timedelta(
            seconds=derived_int(org_seed, "created") % 36_000, microseconds=org_seed % 1_000_000
        )
    modified_at = created_at
    if not exact_time:
        modified_at += timedelta(days=1 + derived_int(org_seed, "modified") % 20)
    return EmulatedOrganization(
        id=derived_uuid4(seed, "organization", label),
        name=name,
        slug=slugify(name),
        status=status,
        default_presentment_currency=currency.lower(),
        created_at=created_at,
        modified_at=modified_at,
        status_changed_at=modified_at,
        country=COUNTRY_BY_CURRENCY.get(currency.lower()),
        account_id=derived_uuid4(org_seed, "account"),
        payout_account_id=derived_uuid4(org_seed, "payout-account"),
        profile=business_profile(org_seed, created_at, currency.lower(), scale, drop_from),
    )
