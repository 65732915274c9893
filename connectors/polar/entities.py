"""Polar's entity list endpoints (products, customers, subscriptions, orders, refunds), a page at a
time, through `PolarClient` (timeouts, retries, Retry-After, the shared request budget).

The field lists are Polar's serialized schemas (`server/polar/<entity>/schemas.py`): `required`
fields are in every item, `optional` ones are deprecated, computed or recent fields Polar may or
may not send. Anything else is new (schema drift): kept in the raw JSON and reported, never fatal.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.polar.client import PAGE_LIMIT, PolarClient, QueryParams
from connectors.polar.errors import EndpointNotServedError, InsufficientScopeError, PolarAPIError

Item = dict[str, Any]

_TIMESTAMPED = ("id", "created_at", "modified_at")


@dataclass(frozen=True)
class EntityEndpoint:
    """One list endpoint: where it lives, the scope it needs, the fields its items carry."""

    name: str
    path: str
    scope: str
    required_fields: frozenset[str]
    optional_fields: frozenset[str] = frozenset()

    @property
    def known_fields(self) -> frozenset[str]:
        """Every field Polar's schema may send."""
        return self.required_fields | self.optional_fields


def _fields(*names: str) -> frozenset[str]:
    return frozenset((*_TIMESTAMPED, *names))


PRODUCTS = EntityEndpoint(
    "products",
    "/v1/products/",
    "products:read",
    _fields(
        "name", "description", "visibility", "recurring_interval", "recurring_interval_count",
        "is_recurring", "is_archived", "organization_id", "metadata", "prices", "benefits",
        "medias",
    ),
    frozenset(
        {"trial_interval", "trial_interval_count", "meter_interval", "meter_interval_count",
         "attached_custom_fields", "is_deletable"}
    ),
)  # fmt: skip
CUSTOMERS = EntityEndpoint(
    "customers",
    "/v1/customers/",
    "customers:read",
    _fields(
        "external_id", "email", "email_verified", "type", "name", "billing_name",
        "billing_address", "tax_id", "organization_id", "deleted_at", "metadata", "avatar_url",
    ),
    frozenset({"locale", "default_payment_method_id", "first_user_event_at"}),
)  # fmt: skip
SUBSCRIPTIONS = EntityEndpoint(
    "subscriptions",
    "/v1/subscriptions/",
    "subscriptions:read",
    _fields(
        "amount", "currency", "recurring_interval", "recurring_interval_count", "status",
        "current_period_start", "current_period_end", "trial_start", "trial_end",
        "cancel_at_period_end", "canceled_at", "started_at", "ends_at", "ended_at",
        "customer_id", "product_id", "discount_id", "checkout_id",
        "customer_cancellation_reason", "customer_cancellation_comment", "metadata",
        "customer", "product", "discount", "prices",
    ),
    frozenset(
        {"current_meter_period_start", "current_meter_period_end", "past_due_at",
         "pause_at_period_end", "paused_at", "resumes_at", "seats", "units", "price_id",
         "custom_field_data", "user_id", "user", "price", "meters", "pending_update"}
    ),
)  # fmt: skip
ORDERS = EntityEndpoint(
    "orders",
    "/v1/orders/",
    "orders:read",
    _fields(
        "status", "paid", "subtotal_amount", "discount_amount", "net_amount", "tax_amount",
        "total_amount", "refunded_amount", "refunded_tax_amount", "currency", "billing_reason",
        "billing_name", "billing_address", "customer_id", "product_id", "discount_id",
        "subscription_id", "checkout_id", "metadata", "platform_fee_amount", "customer",
        "product", "discount", "subscription", "items",
    ),
    frozenset(
        {"applied_balance_amount", "due_amount", "invoice_number", "is_invoice_generated",
         "receipt_number", "seats", "units", "next_payment_attempt_at", "refundable_amount",
         "refundable_tax_amount", "custom_field_data", "platform_fee_currency", "description",
         "amount", "from_balance_amount", "product_price_id", "user_id", "user",
         "product_price"}
    ),
)  # fmt: skip
REFUNDS = EntityEndpoint(
    "refunds",
    "/v1/refunds/",
    "refunds:read",
    _fields(
        "status", "reason", "amount", "tax_amount", "currency", "organization_id", "order_id",
        "subscription_id", "customer_id", "revoke_benefits", "dispute", "metadata",
    ),
)  # fmt: skip

ENDPOINTS: dict[str, EntityEndpoint] = {
    e.name: e for e in (PRODUCTS, CUSTOMERS, SUBSCRIPTIONS, ORDERS, REFUNDS)
}


def polar_datetime(value: datetime) -> str:
    """A datetime as Polar's query parameters take it: ISO 8601, UTC, microseconds."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 timestamp from an item as an aware datetime; None if absent or garbled."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class EntityQuery:
    """Which items of one organization to list, in which order (`sorting`, `-` = descending)."""

    organization_id: str
    sorting: tuple[str, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()

    def where(self, **filters: str | datetime | bool | Sequence[str] | None) -> "EntityQuery":
        """This query with more filters; a sequence becomes repeated keys, None is skipped."""
        extra: list[tuple[str, str]] = []
        for name, value in filters.items():
            if value is None:
                continue
            if isinstance(value, datetime):
                extra.append((name, polar_datetime(value)))
            elif isinstance(value, bool):
                extra.append((name, "true" if value else "false"))
            elif isinstance(value, str):
                extra.append((name, value))
            else:
                extra += [(name, str(v)) for v in value]
        return EntityQuery(self.organization_id, self.sorting, (*self.filters, *extra))

    def params(self, page: int, limit: int) -> QueryParams:
        """The query string: organization, filters, sorting, page and limit."""
        params: QueryParams = [("organization_id", self.organization_id), *self.filters]
        params += [("sorting", criterion) for criterion in self.sorting]
        return [*params, ("page", str(page)), ("limit", str(limit))]


@dataclass(frozen=True)
class EntityPage:
    """One page of a list endpoint: its items (raw JSON objects) and Polar's pagination."""

    endpoint: EntityEndpoint
    page: int
    limit: int
    items: list[Item] = field(repr=False)
    total_count: int
    max_page: int

    @property
    def is_last(self) -> bool:
        """Whether no page follows this one (as Polar counted when it answered)."""
        return self.page >= self.max_page or len(self.items) < self.limit

    @property
    def offset(self) -> int:
        """The position of the first item in the whole list."""
        return self.limit * (self.page - 1)

    @classmethod
    def from_api(
        cls, endpoint: EntityEndpoint, page: int, limit: int, body: Mapping[str, Any]
    ) -> "EntityPage":
        """Parse `{items, pagination{total_count, max_page}}`; items without an id are dropped."""
        items = [i for i in body.get("items") or [] if isinstance(i, dict) and i.get("id")]
        pagination = body.get("pagination") or {}
        total = int(pagination.get("total_count") or 0)
        max_page = int(pagination.get("max_page") or 0)
        return cls(endpoint, page, limit, items, total, max_page)


class EntityClient:
    """Typed pages of the entity endpoints; counts the requests spent per entity."""

    def __init__(self, client: PolarClient) -> None:
        self._client = client

    def page(
        self, endpoint: EntityEndpoint, query: EntityQuery, page: int, limit: int = PAGE_LIMIT
    ) -> EntityPage:
        """One page; a missing scope or an unserved endpoint raises a typed error saying why."""
        try:
            body = self._client.get_json(endpoint.path, query.params(page, limit))
        except InsufficientScopeError:
            raise missing_scope_error(endpoint) from None
        except PolarAPIError as error:
            if error.status_code == 404:
                raise EndpointNotServedError(
                    f"{error} This Polar does not serve {endpoint.path}: {endpoint.name} cannot "
                    "be synced from it (the other entities and the metrics are).",
                    status_code=404,
                ) from None
            raise
        return EntityPage.from_api(endpoint, page, limit, body)

    def pages(
        self, endpoint: EntityEndpoint, query: EntityQuery, start_page: int = 1
    ) -> Iterator[EntityPage]:
        """Every page from `start_page` until Polar's last one."""
        page_number = start_page
        while True:
            page = self.page(endpoint, query, page_number)
            yield page
            if page.is_last:
                return
            page_number += 1

    def item_at(self, endpoint: EntityEndpoint, query: EntityQuery, position: int) -> Item | None:
        """The item at a 0-based position of the list right now (one request of one item)."""
        page = self.page(endpoint, query, page=position + 1, limit=1)
        return page.items[0] if page.items else None

    def requests(self, endpoint: EntityEndpoint) -> int:
        """Requests this thread sent to the endpoint so far (retries included): organizations
        sync in parallel threads, each counts its own."""
        return self._client.requests_sent(endpoint.path, this_thread=True)


class MissingScopeError(InsufficientScopeError):
    """The connection was granted without the scope an entity endpoint needs."""

    def __init__(self, message: str, *, scope: str) -> None:
        super().__init__(message, scopes=(scope,))
        self.scope = scope


def missing_scope_error(endpoint: EntityEndpoint) -> MissingScopeError:
    """The error to show when Polar refuses an entity endpoint for lack of scope.

    Polar's challenge lists every scope the endpoint accepts (read or write); this product asks
    for the read-only one, so that is the one to grant.
    """
    scope = endpoint.scope
    return MissingScopeError(
        f"Polar refused GET {endpoint.path} (403 insufficient_scope): the connection was granted "
        f"without `{scope}`, so {endpoint.name} are not synced (everything else is). To grant "
        f"it: make sure the OAuth app at polar.sh (Settings > Developers > OAuth applications) "
        f"has `{scope}`, then reconnect with `polar-metrics connect` and approve the scopes.",
        scope=scope,
    )
