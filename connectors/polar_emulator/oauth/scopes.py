"""Polar's OAuth scopes (server/polar/auth/scope.py): the full list and the read-only set."""

_RESOURCE_PAIRS = (
    "organizations custom_fields discounts checkout_links checkouts transactions payouts products "
    "benefits events meters files subscriptions customers members wallets disputes"
).split()
_LATER_PAIRS = (
    "orders refunds metrics webhooks license_keys customer_portal notifications "
    "notification_recipients organization_access_tokens"
).split()


def _pairs(resources: list[str]) -> list[str]:
    return [f"{resource}:{access}" for resource in resources for access in ("read", "write")]


# Enum order of Polar's `Scope`, written compactly.
ALL_SCOPES: tuple[str, ...] = (
    "openid",
    "profile",
    "email",
    "user:read",
    "user:write",
    *_pairs(_RESOURCE_PAIRS),
    "customer_meters:read",
    "customer_sessions:write",
    "member_sessions:write",
    "customer_seats:read",
    "customer_seats:write",
    *_pairs(_LATER_PAIRS[:2]),
    "payments:read",
    *_pairs(_LATER_PAIRS[2:]),
)

# Offered in discovery and to OAuth clients: everything except organization access tokens.
SCOPES_SUPPORTED: tuple[str, ...] = tuple(
    scope for scope in ALL_SCOPES if not scope.startswith("organization_access_tokens:")
)

READ_ONLY_SCOPES: frozenset[str] = frozenset(
    scope
    for scope in SCOPES_SUPPORTED
    if scope in ("openid", "profile", "email") or scope.endswith(":read")
)


def parse_scope(value: str | None) -> list[str]:
    """The scopes of a space-separated scope string, in order and without duplicates."""
    return list(dict.fromkeys((value or "").split()))


def unknown_scopes(scopes: list[str]) -> list[str]:
    """The scopes Polar does not know (they make the request fail with invalid_scope)."""
    return [scope for scope in scopes if scope not in SCOPES_SUPPORTED]
