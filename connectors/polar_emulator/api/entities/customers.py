"""`GET /v1/customers/`: customers not deleted, filtered as customer/service.py does."""

from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.customer_table import (
    customer_json,
    customer_table,
    team_customers,
)
from connectors.polar_emulator.api.entities.listing import (
    ListParams,
    Part,
    QueryReader,
    SortKey,
    no_nulls,
)
from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.timeline import billable_at
from connectors.polar_emulator.business.world_model import EmulatedOrganization

SORT_KEYS = ("created_at", "email", "name")


def active_customers(history: OrganizationHistory, now: float) -> np.ndarray:
    """Numbered customers with a trialing or active subscription at `now`."""
    subs = history.subscriptions
    return np.unique(subs.customer[billable_at(subs, now)]).astype(np.int64)


class CustomerListing:
    """Filters and sort keys of the customers endpoint."""

    sort_keys = SORT_KEYS
    default_sorting = "-created_at"
    scopes = frozenset({"customers:read", "customers:write"})

    def __init__(self, query: QueryReader) -> None:
        self.organization_ids = query.uuids("organization_id")
        self.email = query.text("email")
        self.text = query.text("query")
        self.active = query.boolean("active")
        self.metadata = query.metadata()
        self.params: ListParams = query.list_params(SORT_KEYS, self.default_sorting)

    def rows(
        self, org: EmulatedOrganization, history: OrganizationHistory, now: float
    ) -> np.ndarray:
        """Customer-table rows passing the filters (deleted customers are never listed)."""
        table = customer_table(org, history)
        keep = (table.created <= now) & (table.deleted > now)
        if self.email is not None:
            keep &= np.char.lower(table.emails) == self.email.lower()
        if self.text is not None:
            needle = self.text.lower()
            names = np.char.lower(table.names)
            keep &= (
                (np.char.find(np.char.lower(table.emails), needle) >= 0)
                | (np.char.find(names, needle) >= 0)  # billing name = name here
                | np.char.startswith(np.char.lower(table.external_ids), needle)
                & (table.external_ids != "")
            )
        if self.active is not None:
            active = np.zeros(table.created.size, dtype=bool)
            active[active_customers(history, now)] = True
            keep &= active == self.active
        if self.metadata is not None:
            keep &= False  # every customer's metadata is empty
        return np.flatnonzero(keep)

    def keys(self, now: float) -> dict[str, SortKey]:
        """Sort keys by name."""

        def column(name: str) -> SortKey:
            def key(part: Part) -> tuple[np.ndarray, np.ndarray]:
                table = customer_table(part.org, part.history)
                return no_nulls(getattr(table, name)[part.rows])

            return key

        return {"created_at": column("created"), "email": column("emails"), "name": column("names")}

    def render(self, part: Part, rows: np.ndarray, now: float) -> list[dict[str, Any]]:
        """The customers' JSON."""
        table = customer_table(part.org, part.history)
        teams = set(team_customers(part.history, now).tolist())
        return [customer_json(part.org, table, int(row), now, int(row) in teams) for row in rows]
