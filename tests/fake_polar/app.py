"""The five entity list endpoints of the fake world, served the way Polar serves them.

Polar's rules (polar-api.md §0, §4, §4.1, §5.2, and the list services in polarsource/polar):
`page` >= 1 and `limit` >= 1 (422 otherwise), `limit` clamped to 100, offset pagination,
`{items, pagination{total_count, max_page}}`, repeated keys for multi-value filters, `sorting`
validated per endpoint (default `-created_at`, subscriptions `-started_at`), strict
`created_after`/`created_before`/`started_after`/`started_before`, inclusive `canceled_at_*`,
subscriptions never started are not listed, deleted customers and products are not listed, and
403 `insufficient_scope` with Polar's body and challenge for a scope the token lacks.
"""

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fake_polar.render import RENDERERS
from tests.fake_polar.world import FakeOrganization, FakeWorld, Record

MAX_LIMIT = 100
SCOPES = {
    "products": "products:read products:write",
    "customers": "customers:read customers:write",
    "subscriptions": "subscriptions:read subscriptions:write",
    "orders": "orders:read",
    "refunds": "refunds:read refunds:write",
}
SORT_KEYS: dict[str, dict[str, Callable[[Record], Any]]] = {
    "products": {"created_at": lambda r: r["created_at"], "name": lambda r: r["name"]},
    "customers": {
        "created_at": lambda r: r["created_at"],
        "email": lambda r: r["email"] or "",
        "name": lambda r: r["name"] or "",
    },
    "subscriptions": {
        "started_at": lambda r: r["started_at"],
        "status": lambda r: r["status"],
        "amount": lambda r: r["amount"],
        "current_period_end": lambda r: r["current_period_end"],
    },
    "orders": {
        "created_at": lambda r: r["created_at"],
        "status": lambda r: r["status"],
        "amount": lambda r: r["net_amount"],
        "net_amount": lambda r: r["net_amount"],
    },
    "refunds": {"created_at": lambda r: r["created_at"], "amount": lambda r: r["amount"]},
}
DEFAULT_SORT = {"subscriptions": "-started_at"}
INSUFFICIENT = "The request requires higher privileges than provided by the access token."


class Invalid(Exception):
    """A query Polar answers with 422."""

    def __init__(self, location: list[Any], message: str, value: Any) -> None:
        super().__init__(message)
        self.detail = {"type": "value_error", "loc": location, "msg": message, "input": value}


def _datetime(params: dict[str, list[str]], name: str) -> datetime | None:
    raw = params.get(name, [None])[-1]
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(["query", name], "Input should be a valid datetime", raw) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _positive(params: dict[str, list[str]], name: str, default: int) -> int:
    raw = params.get(name, [str(default)])[-1]
    if not raw.isdigit() or int(raw) < 1:
        raise Invalid(["query", name], "Input should be greater than 0", raw)
    return int(raw)


def select(world: FakeWorld, entity: str, params: dict[str, list[str]]) -> list[Record]:
    """The records the query selects, before sorting."""
    org_ids = params.get("organization_id") or list(world.organizations)
    orgs = [world.organizations[i] for i in org_ids if i in world.organizations]
    records = [r for org in orgs for r in getattr(org, entity).values()]
    for name in ("customer_id", "order_id", "subscription_id", "product_id", "status"):
        if name in params:
            records = [r for r in records if r.get(name) in params[name]]
    if entity in ("customers", "products"):
        records = [r for r in records if not r.get("deleted_at") and not r.get("deleted")]
    if entity == "subscriptions":
        records = [r for r in records if r["started_at"] is not None]
    bounds = {
        "created_after": ("created_at", lambda v, b: v > b),
        "created_before": ("created_at", lambda v, b: v < b),
        "started_after": ("started_at", lambda v, b: v > b),
        "started_before": ("started_at", lambda v, b: v < b),
        "canceled_at_after": ("canceled_at", lambda v, b: v >= b),
        "canceled_at_before": ("canceled_at", lambda v, b: v <= b),
    }
    for name, (column, keep) in bounds.items():
        bound = _datetime(params, name)
        if bound is not None:
            records = [r for r in records if r.get(column) is not None and keep(r[column], bound)]
    return records


def _sorted(entity: str, records: list[Record], sorting: list[str]) -> list[Record]:
    keys = SORT_KEYS[entity]
    for position, criterion in enumerate(sorting):
        if criterion.removeprefix("-") not in keys:
            raise Invalid(["query", "sorting", position], "Invalid sorting criterion.", criterion)
    for criterion in reversed(sorting):
        descending = criterion.startswith("-")
        records = sorted(records, key=keys[criterion.removeprefix("-")], reverse=descending)
    return records


def list_items(world: FakeWorld, entity: str, request: Request) -> Response:
    """One page of `entity`, or Polar's error for this request."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        return JSONResponse({"error": "Unauthorized", "detail": "Unauthorized"}, 401)
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    with world.lock:
        world.requests.append((entity, params))
    if set(SCOPES[entity].split()) & world.denied_scopes:
        challenge = (
            f'Bearer realm="polar", scope="{SCOPES[entity]}", error="insufficient_scope", '
            f'error_description="{INSUFFICIENT}"'
        )
        body = {"error": "insufficient_scope", "error_description": INSUFFICIENT}
        return JSONResponse(body, 403, headers={"WWW-Authenticate": challenge})
    if world.before_page is not None:
        world.before_page(entity, params)
    with world.lock:
        served = sum(1 for e, _ in world.requests if e == entity)
        if entity in world.fail_after and served > world.fail_after[entity]:
            return JSONResponse({"error": "Boom", "detail": "injected failure"}, 400)
        try:
            page = _positive(params, "page", 1)
            limit = min(_positive(params, "limit", 10), MAX_LIMIT)
            records = select(world, entity, params)
            if world.unstable_ties and served % 2:
                records.reverse()  # the sorts are stable: equal keys come reversed
            records = _sorted(
                entity, records, params.get("sorting") or [DEFAULT_SORT.get(entity, "-created_at")]
            )
        except Invalid as invalid:
            return JSONResponse(
                {"error": "RequestValidationError", "detail": [invalid.detail]}, 422
            )
        window = records[limit * (page - 1) : limit * page]
        items = [_render(world, entity, record) for record in window]
    pagination = {"total_count": len(records), "max_page": math.ceil(len(records) / limit)}
    return JSONResponse({"items": items, "pagination": pagination})


def _render(world: FakeWorld, entity: str, record: Record) -> dict[str, Any]:
    org: FakeOrganization = next(
        o for o in world.organizations.values() if record["id"] in getattr(o, entity)
    )
    item = RENDERERS[entity](org, record)
    for name in world.dropped_fields.get(entity, ()):
        item.pop(name, None)
    item.update(world.extra_fields.get(entity, {}))
    return item


ENTITY_PATHS = {f"/v1/{entity}/": entity for entity in SCOPES}


def create_fake_app(world: FakeWorld) -> Starlette:
    """The ASGI app serving the five list endpoints of `world`."""

    def endpoint(entity: str) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            return list_items(world, entity, request)

        return handle

    routes = [
        Route(path, endpoint(entity), methods=["GET"]) for path, entity in ENTITY_PATHS.items()
    ]
    return Starlette(routes=routes)
