"""One page of an entity list for a token: organizations in scope, filters, sorting, JSON."""

from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from connectors.polar_emulator.api.entities.listing import (
    ListParams,
    Part,
    SortKey,
    envelope,
    organizations_in_scope,
    page_of,
    render_page,
)
from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.world import World
from connectors.polar_emulator.business.world_model import EmulatedOrganization


class Listing(Protocol):
    """What each entity module provides (see orders.py, subscriptions.py, ...)."""

    organization_ids: list[str] | None
    params: ListParams

    def rows(
        self, org: EmulatedOrganization, history: OrganizationHistory, now: float
    ) -> np.ndarray: ...

    def keys(self, now: float) -> dict[str, SortKey]: ...

    def render(self, part: Part, rows: np.ndarray, now: float) -> list[dict[str, Any]]: ...


def entity_page(
    world: World, user_id: str, down_scope: list[str], listing: Listing, now: float
) -> dict[str, Any]:
    """The ListResource body of one request (organizations the token cannot see match nothing)."""
    moment = datetime.fromtimestamp(now, UTC)
    visible = world.visible_organizations(user_id, down_scope)
    parts = []
    for org in organizations_in_scope(visible, listing.organization_ids):
        history = world.history(org.id, moment)
        parts.append(Part(org, history, listing.rows(org, history, now)))
    pairs, total = page_of(parts, listing.keys(now), listing.params)
    items = render_page(pairs, lambda part, rows: listing.render(part, rows, now))
    return envelope(items, total, listing.params.limit)
