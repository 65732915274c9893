"""Test-only control paths under /__emulator__ (never under /v1): faults, stats, world, tokens,
subscription amounts."""

from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.polar_emulator.api.entities.lookups import subscription_ids
from connectors.polar_emulator.business.timeline import subscriptions_at
from connectors.polar_emulator.http.faults import (
    FAIL_STATUSES,
    FaultState,
    OrganizationFault,
    PathFault,
)
from connectors.polar_emulator.state import EmulatorState


class ControlError(ValueError):
    """A control request that cannot be applied (answered 400 with the reason)."""


def _int(body: dict[str, Any], key: str, default: int | None = None, minimum: int = 0) -> int:
    value = body.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ControlError(f"{key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _path_fault(body: Any, name: str) -> PathFault:
    if not isinstance(body, dict):
        raise ControlError(f'{name!r} must be an object like {{"count": 1}}')
    prefix = body.get("path_prefix", "/v1/")
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ControlError(f"{name}.path_prefix must be a path starting with '/'")
    fault = PathFault(count=_int(body, "count", 1), path_prefix=prefix)
    if name == "fail_next":
        fault.status = _int(body, "status", 500)
        if fault.status not in FAIL_STATUSES:
            raise ControlError(f"fail_next.status must be one of {FAIL_STATUSES}")
        fault.retry_after = _int(body, "retry_after", 1)
        as_date = body.get("retry_after_as_date", False)
        if not isinstance(as_date, bool):
            raise ControlError("fail_next.retry_after_as_date must be true or false")
        fault.retry_after_as_date = as_date
    if name in ("timeout_next", "stall_after_refresh_next"):
        seconds = body.get("seconds", 30)
        if not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError(f"{name}.seconds must be a number >= 0")
        fault.seconds = float(seconds)
    return fault


def _optional_int(body: dict[str, Any], key: str, minimum: int) -> int | None:
    return None if body[key] is None else _int(body, key, minimum=minimum)


def apply_faults(state: EmulatorState, body: dict[str, Any]) -> None:
    """Validate every setting first, then apply them together."""
    faults: FaultState = state.faults
    updates: dict[str, Any] = {}
    for name in ("fail_next", "malformed_json_next", "timeout_next", "stall_after_refresh_next"):
        if name in body:
            updates[name] = _path_fault(body[name], name)
    if "latency_ms" in body:
        updates["latency_ms"] = _optional_int(body, "latency_ms", 0)
    if "drop_after_refresh_next" in body:
        updates["drop_after_refresh_next"] = _int(body, "drop_after_refresh_next")
    if "access_token_lifetime" in body:
        updates["access_token_lifetime"] = _optional_int(body, "access_token_lifetime", 1)
    if "rate_limit_per_minute" in body:
        updates["rate_limit_override"] = _optional_int(body, "rate_limit_per_minute", 1)
        updates["rate_limit_overridden"] = True
    if "fail_organization" in body:
        spec = body["fail_organization"]
        if not isinstance(spec, dict) or not isinstance(spec.get("organization_id"), str):
            raise ControlError("fail_organization needs an 'organization_id' string")
        count = None if spec.get("count") is None else _int(spec, "count")
        updates["fail_organization"] = OrganizationFault(
            spec["organization_id"], _int(spec, "status", 500, minimum=400), count
        )
    unknown = set(body) - {*updates, "rate_limit_per_minute"}
    if unknown:
        raise ControlError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
    for key, value in updates.items():
        setattr(faults, key, value)
    if "rate_limit_override" in updates:
        state.limiter.reset()


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as error:
        raise ControlError("the body must be a JSON object") from error
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _emulator(request: Request) -> EmulatorState:
    return request.app.state.emulator


async def set_faults(request: Request) -> Response:
    """`POST /__emulator__/faults`: add or change faults (any subset of the settings)."""
    apply_faults(_emulator(request), await _json(request))
    return JSONResponse({"ok": True})


async def clear_faults(request: Request) -> Response:
    """`DELETE /__emulator__/faults`: remove every fault and override."""
    state = _emulator(request)
    state.faults.clear()
    state.limiter.reset()
    return JSONResponse({"ok": True})


async def expire_access_tokens(request: Request) -> Response:
    """Every current access token expires now (refresh tokens stay usable)."""
    state = _emulator(request)
    return JSONResponse({"expired": state.tokens.expire_all(state.auth_clock())})


async def revoke_all(request: Request) -> Response:
    """Revoke every access and refresh token and drop pending codes."""
    return JSONResponse({"revoked": _emulator(request).tokens.revoke_all()})


async def stats(request: Request) -> Response:
    """The counters: requests per endpoint, exchanges per grant, faults, 429s."""
    return JSONResponse(_emulator(request).stats.snapshot())


async def reset_stats(request: Request) -> Response:
    """Set every counter back to zero."""
    _emulator(request).stats.reset()
    return JSONResponse({"ok": True})


def _organization_json(org: Any) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "status": org.status,
        "default_presentment_currency": org.default_presentment_currency,
    }


async def add_organization(request: Request) -> Response:
    """`POST /__emulator__/organizations`: a new organization of the signed-in user."""
    body = await _json(request)
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise ControlError("'name' is required")
    try:
        org = _emulator(request).world.add_organization(
            body["name"], body.get("status", "active"), body.get("currency", "usd")
        )
    except (ValueError, KeyError) as error:
        raise ControlError(f"cannot add the organization: {error}") from error
    return JSONResponse(_organization_json(org), status_code=201)


async def patch_organization(request: Request) -> Response:
    """`PATCH /__emulator__/organizations/{id}`: change an organization's status."""
    body = await _json(request)
    world, org_id = _emulator(request).world, request.path_params["organization_id"]
    if org_id not in world.organizations:
        return JSONResponse({"detail": f"no organization {org_id}"}, status_code=404)
    if not isinstance(body.get("status"), str):
        raise ControlError("'status' is required")
    try:
        world.set_organization_status(org_id, body["status"])
    except (ValueError, KeyError) as error:
        raise ControlError(f"cannot change the status: {error}") from error
    return JSONResponse(_organization_json(world.organizations[org_id]))


async def demo_client(request: Request) -> Response:
    """The demo client's id and redirect URIs (never its secret)."""
    state = _emulator(request)
    client = state.clients.get(state.demo_client_id)
    uris = client.redirect_uris if client else []
    return JSONResponse({"client_id": state.demo_client_id, "redirect_uris": uris})


def _clock_body(state: EmulatorState) -> dict[str, Any]:
    shift = state.business_shift.total_seconds() / 86_400
    return {"now": state.clock().isoformat().replace("+00:00", "Z"), "advanced_days": shift}


async def get_clock(request: Request) -> Response:
    """`GET /__emulator__/clock`: the business's now and how far it was advanced."""
    return JSONResponse(_clock_body(_emulator(request)))


async def advance_clock(request: Request) -> Response:
    """`POST /__emulator__/clock {"advance_days": N}`: N days of business happen at once.

    Orders, renewals, refunds, cancellations, reactivations and upgrades of those days become
    visible to the metrics and entity endpoints alike. OAuth lifetimes are not affected.
    """
    state = _emulator(request)
    body = await _json(request)
    unknown = set(body) - {"advance_days"}
    if unknown:
        raise ControlError(f"unknown clock setting(s): {', '.join(sorted(unknown))}")
    state.advance_business(_int(body, "advance_days", minimum=0))
    return JSONResponse(_clock_body(state))


async def change_subscription(request: Request) -> Response:
    """`PATCH /__emulator__/subscriptions/{id} {"amount": N}`: the subscription's amount per
    period becomes N from the business's now, as Polar reports an update: the new `amount`,
    `modified_at` now, later renewals charging it, and its MRR at N on every day."""
    state, subscription_id = _emulator(request), request.path_params["subscription_id"]
    body = await _json(request)
    unknown = set(body) - {"amount"}
    if unknown:
        raise ControlError(f"unknown subscription setting(s): {', '.join(sorted(unknown))}")
    amount = _int(body, "amount")
    now = state.clock()
    for org_id in list(state.world.organizations):
        history = state.world.history(org_id, now)
        rows = np.flatnonzero(subscription_ids(history) == subscription_id)
        if rows.size:
            row, at = int(rows[0]), now.timestamp()
            subs = history.subscriptions
            if subs.created[row] > at or subscriptions_at(subs, at).end[row] <= at:
                raise ControlError(f"subscription {subscription_id} is not running now")
            state.world.change_subscription_amount(org_id, row, amount, at)
            return JSONResponse(
                {
                    "id": subscription_id,
                    "organization_id": org_id,
                    "amount": amount,
                    "modified_at": now.isoformat().replace("+00:00", "Z"),
                }
            )
    return JSONResponse({"detail": f"no subscription {subscription_id}"}, status_code=404)


def control_error(request: Request, error: Exception) -> Response:
    """400 with the reason a control request was refused."""
    return JSONResponse({"detail": str(error)}, status_code=400)


CONTROL_ROUTES = [
    Route("/__emulator__/faults", set_faults, methods=["POST"]),
    Route("/__emulator__/faults", clear_faults, methods=["DELETE"]),
    Route("/__emulator__/expire-access-tokens", expire_access_tokens, methods=["POST"]),
    Route("/__emulator__/revoke-all", revoke_all, methods=["POST"]),
    Route("/__emulator__/stats", stats, methods=["GET"]),
    Route("/__emulator__/stats/reset", reset_stats, methods=["POST"]),
    Route("/__emulator__/organizations", add_organization, methods=["POST"]),
    Route("/__emulator__/organizations/{organization_id}", patch_organization, methods=["PATCH"]),
    Route("/__emulator__/subscriptions/{subscription_id}", change_subscription, methods=["PATCH"]),
    Route("/__emulator__/client", demo_client, methods=["GET"]),
    Route("/__emulator__/clock", get_clock, methods=["GET"]),
    Route("/__emulator__/clock", advance_clock, methods=["POST"]),
]
