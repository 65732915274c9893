"""The business API: `GET /v1/organizations/`, `GET /v1/metrics/`, `GET /v1/metrics/limits`."""

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.polar_emulator.api.entities.listing import MAX_PAGE_SIZE
from connectors.polar_emulator.api.metrics.params import limits_body, parse_metrics_query
from connectors.polar_emulator.api.metrics.service import metrics_body
from connectors.polar_emulator.api.organizations import organization_json
from connectors.polar_emulator.business.world_model import EmulatedOrganization
from connectors.polar_emulator.http.json_body import JsonBody
from connectors.polar_emulator.http.query_validation import (
    Collector,
    parse_choice,
    parse_positive_int,
)

ORGANIZATION_SCOPES = {"organizations:read", "organizations:write"}
METRICS_SCOPES = {"metrics:read"}
SORT_PROPERTIES = ("created_at", "slug", "name", "next_review_threshold", "days_in_status")
SORT_CHOICES = tuple(choice for name in SORT_PROPERTIES for choice in (name, f"-{name}"))


def _sort_key(name: str, now: datetime) -> Callable[[EmulatedOrganization], Any]:
    keys: dict[str, Callable[[EmulatedOrganization], Any]] = {
        "created_at": lambda org: org.created_at,
        "slug": lambda org: org.slug,
        "name": lambda org: org.name,
        "next_review_threshold": lambda org: 0,  # no review thresholds in the emulator
        "days_in_status": lambda org: (now - org.status_changed_at).days,
    }
    return keys[name]


def _sorted(
    orgs: list[EmulatedOrganization], sorting: list[str], now: datetime
) -> list[EmulatedOrganization]:
    for criterion in reversed(sorting):  # stable sorts, last criterion first
        name = criterion.removeprefix("-")
        orgs = sorted(orgs, key=_sort_key(name, now), reverse=criterion.startswith("-"))
    return orgs


def _list_params(params: QueryParams) -> tuple[int, int, list[str]]:
    collector = Collector()
    page = collector.take(parse_positive_int(["query", "page"], params.get("page", "1")))
    limit = collector.take(parse_positive_int(["query", "limit"], params.get("limit", "10")))
    sorting = [
        collector.take(parse_choice(["query", "sorting", i], raw, SORT_CHOICES))
        for i, raw in enumerate(params.getlist("sorting"))
    ]
    collector.raise_if_any()
    return page, min(limit, MAX_PAGE_SIZE), sorting or ["created_at"]


async def list_organizations(request: Request) -> Response:
    """Organizations the token can see, paginated like every Polar list endpoint."""
    state = request.app.state.emulator
    grant = state.authenticate(request, ORGANIZATION_SCOPES)
    page, limit, sorting = _list_params(request.query_params)
    now = state.clock()
    orgs = state.world.visible_organizations(grant.user_id, grant.organization_ids)
    slug = request.query_params.get("slug")
    if slug is not None:
        orgs = [org for org in orgs if org.slug == slug]
    orgs = _sorted(orgs, sorting, now)
    offset = limit * (page - 1)
    body: dict[str, Any] = {
        "items": [organization_json(org, now) for org in orgs[offset : offset + limit]],
        "pagination": {"total_count": len(orgs), "max_page": math.ceil(len(orgs) / limit)},
    }
    return JsonBody(body)


def _queried_organizations(requested: list[str] | None, visible: list[str]) -> list[str]:
    """Requested ids the token may read (others silently dropped); none requested = all."""
    if requested is None:
        return visible
    allowed = set(visible)
    return [org_id for org_id in dict.fromkeys(requested) if org_id in allowed]


async def get_metrics(request: Request) -> Response:
    """Metrics of the queried organizations summed into one series."""
    state = request.app.state.emulator
    grant = state.authenticate(request, METRICS_SCOPES)
    query = parse_metrics_query(request.query_params)
    visible = state.world.visible_organizations(grant.user_id, grant.organization_ids)
    org_ids = _queried_organizations(query.organization_ids, [org.id for org in visible])
    check_organizations = getattr(state.faults, "check_organizations", None)
    if callable(check_organizations):  # the core's per-organization failure injection
        check_organizations(org_ids)
    # numpy work off the event loop, so slow metrics never stall OAuth or other requests
    body = await run_in_threadpool(metrics_body, state.world, query, org_ids, state.clock())
    return JsonBody(body)


async def get_metrics_limits(request: Request) -> Response:
    """The date and interval limits of the metrics endpoint."""
    request.app.state.emulator.authenticate(request, METRICS_SCOPES)
    return JSONResponse(limits_body())


ROUTES = [
    Route("/v1/organizations/", list_organizations, methods=["GET"]),
    Route("/v1/metrics/", get_metrics, methods=["GET"]),
    Route("/v1/metrics/limits", get_metrics_limits, methods=["GET"]),
]
