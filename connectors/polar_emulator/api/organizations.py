"""An organization as `GET /v1/organizations/` renders it (Polar's `Organization` schema)."""

from datetime import UTC, datetime
from typing import Any

from connectors.polar_emulator.business.world_model import EmulatedOrganization

# STATUS_CAPABILITIES of server/polar/models/organization.py.
_CAPABILITY_NAMES = (
    "checkout_payments",
    "subscription_renewals",
    "payouts",
    "refunds",
    "api_access",
    "dashboard_access",
)
_STATUS_CAPABILITIES: dict[str, tuple[bool, ...]] = {
    "created": (False, False, False, False, True, True),
    "review": (True, True, True, True, True, True),
    "snoozed": (True, True, True, True, True, True),
    "active": (True, True, True, True, True, True),
    "denied": (False, False, False, False, True, True),
    "offboarding": (True, True, False, True, True, True),
    "offboarded": (False, False, True, False, True, True),
    "blocked": (False, False, False, False, False, False),
}
EMBED_HOSTS_ENFORCED_FROM = datetime(2026, 8, 4, tzinfo=UTC)
EMBED_HOSTS_ENFORCED_FOR_ALL = datetime(2026, 8, 17, 12, tzinfo=UTC)
_CUSTOMER_EMAIL_SETTINGS = (
    "order_confirmation",
    "payment_method_expiration_reminder",
    "subscription_cancellation",
    "subscription_confirmation",
    "subscription_cycled",
    "subscription_cycled_after_trial",
    "subscription_past_due",
    "subscription_paused",
    "subscription_resumed",
    "subscription_renewal_reminder",
    "subscription_revoked",
    "subscription_trial_conversion_reminder",
    "subscription_uncanceled",
    "subscription_updated",
)
_FEATURE_FLAGS = (
    "issue_funding_enabled",
    "seat_based_pricing_enabled",
    "unit_based_pricing_enabled",
    "wallets_enabled",
    "member_model_enabled",
    "checkout_localization_enabled",
    "reset_proration_behavior_enabled",
    "off_session_charges_enabled",
    "meter_cycling_enabled",
    "slack_benefit_enabled",
    "preview_access_enabled",
    "disputes_enabled",
    "sso_enabled",
    "dispute_auto_accept_enabled",
    "compass_enabled",
    "merchant_migration_enabled",
)


def render_datetime(moment: datetime | None) -> str | None:
    """Pydantic's JSON form of an aware datetime: ISO 8601 with `Z` for UTC."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def capabilities(status: str) -> dict[str, bool]:
    """What an organization in this status may do (only `blocked` loses api_access)."""
    return dict(zip(_CAPABILITY_NAMES, _STATUS_CAPABILITIES[status], strict=True))


def _settings() -> dict[str, Any]:
    return {
        "feature_settings": {
            **{flag: flag == "seat_based_pricing_enabled" for flag in _FEATURE_FLAGS},
            "overview_metrics": None,
        },
        "subscription_settings": {
            "allow_multiple_subscriptions": False,
            "allow_customer_updates": True,
            "proration_behavior": "prorate",
            "benefit_revocation_grace_period": 0,
            "prevent_trial_abuse": False,
        },
        "customer_email_settings": dict.fromkeys(_CUSTOMER_EMAIL_SETTINGS, True),
        "customer_portal_settings": {
            "usage": {"show": True},
            "subscription": {"update_seats": True, "update_plan": True},
            "customer": {"allow_email_change": False},
        },
        "dispute_settings": {"auto_accept_below_amount": None},
    }


def organization_json(org: EmulatedOrganization, now: datetime) -> dict[str, Any]:
    """The full `Organization` object, including legacy fields Polar still serializes."""
    onboarded = org.status != "created"  # a fresh organization has no account yet
    return {
        "created_at": render_datetime(org.created_at),
        "modified_at": render_datetime(org.modified_at),
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "avatar_url": f"https://avatars.polar.sh/{org.slug}.png",
        "proration_behavior": "prorate",
        "allow_customer_updates": True,
        "bio": None,
        "company": None,
        "blog": None,
        "location": None,
        "twitter_username": None,
        "pledge_minimum_amount": 0,
        "pledge_badge_show_amount": False,
        "default_upfront_split_to_contributors": None,
        "email": f"support@{org.slug}.example.com",
        "website": f"https://{org.slug}.example.com",
        "socials": [{"platform": "x", "url": f"https://x.com/{org.slug.replace('-', '')}"}],
        "status": org.status,
        "details_submitted_at": render_datetime(org.created_at if onboarded else None),
        "onboarding_resubmission_requested_at": None,
        "sso_enforced": False,
        "default_presentment_currency": org.default_presentment_currency,
        "default_tax_behavior": "location",
        **_settings(),
        "embed_hosts": [],
        "embed_hosts_enforced": now >= EMBED_HOSTS_ENFORCED_FOR_ALL
        or org.created_at >= EMBED_HOSTS_ENFORCED_FROM,
        "country": org.country,
        "account_id": org.account_id if onboarded else None,
        "payout_account_id": org.payout_account_id if onboarded else None,
        "capabilities": capabilities(org.status),
        "notification_settings": {
            "new_order": True,
            "new_subscription": True,
            "chargeback_prevention": True,
            "subscription_renewal": False,
        },
    }
