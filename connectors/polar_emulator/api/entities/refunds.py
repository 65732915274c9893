"""`GET /v1/refunds/`: one succeeded refund per refunded order (refund/schemas.py)."""

from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.customer_table import customer_table
from connectors.polar_emulator.api.entities.listing import (
    ListParams,
    Part,
    QueryReader,
    SortKey,
    no_nulls,
)
from connectors.polar_emulator.api.entities.lookups import order_ids, refund_id, subscription_ids
from connectors.polar_emulator.api.entities.orders import customers_wanted
from connectors.polar_emulator.api.entities.render import iso
from connectors.polar_emulator.business.currency import tax_amounts
from connectors.polar_emulator.business.derived_ids import derived_int
from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.world_model import EmulatedOrganization

SORT_KEYS = ("created_at", "amount")
# Why customers asked for their money back, by share (Polar's RefundReason values).
REASONS = (
    ("customer_request", 60),
    ("satisfaction_guarantee", 15),
    ("duplicate", 10),
    ("service_disruption", 5),
    ("other", 10),
)


def refund_reason(history: OrganizationHistory, order_row: int) -> str:
    """The reason of an order's refund, drawn from its key."""
    draw = (
        derived_int(history.customer_seed, "refund-reason", int(history.orders.key[order_row]))
        % 100
    )
    for reason, share in REASONS:
        draw -= share
        if draw < 0:
            return reason
    return "other"


class RefundListing:
    """Filters and sort keys of the refunds endpoint (rows are order rows)."""

    sort_keys = SORT_KEYS
    default_sorting = "-created_at"
    scopes = frozenset({"refunds:read", "refunds:write"})

    def __init__(self, query: QueryReader) -> None:
        self.ids = query.uuids("id")
        self.organization_ids = query.uuids("organization_id")
        self.order_ids = query.uuids("order_id")
        self.subscription_ids = query.uuids("subscription_id")
        self.customer_ids = query.uuids("customer_id")
        self.external_customer_ids = query.strings("external_customer_id")
        self.succeeded = query.boolean("succeeded")
        self.params: ListParams = query.list_params(SORT_KEYS, self.default_sorting)

    def rows(
        self, org: EmulatedOrganization, history: OrganizationHistory, now: float
    ) -> np.ndarray:
        """Rows of the orders refunded by `now` whose refund passes the filters."""
        orders = history.orders
        rows = np.flatnonzero(orders.refunded_at <= now)
        keep = np.ones(rows.size, dtype=bool)
        if self.ids is not None:
            keep &= np.isin([refund_id(history, int(row)) for row in rows], self.ids)
        if self.order_ids is not None:
            keep &= np.isin(order_ids(history)[rows], self.order_ids)
        if self.subscription_ids is not None:
            owner = orders.subscription[rows]
            ids = subscription_ids(history)[np.maximum(owner, 0)]
            keep &= (owner >= 0) & np.isin(ids, self.subscription_ids)
        if self.customer_ids is not None or self.external_customer_ids is not None:
            wanted = customers_wanted(org, history, self.customer_ids, self.external_customer_ids)
            keep &= wanted[orders.customer[rows]]
        if self.succeeded is not None:
            keep &= self.succeeded  # every refund succeeded
        return rows[keep]

    def keys(self, now: float) -> dict[str, SortKey]:
        """Sort keys by name."""
        return {
            "created_at": lambda part: no_nulls(part.history.orders.refunded_at[part.rows]),
            "amount": lambda part: no_nulls(part.history.orders.refund_amount[part.rows]),
        }

    def render(self, part: Part, rows: np.ndarray, now: float) -> list[dict[str, Any]]:
        """The refunds' JSON."""
        history, org = part.history, part.org
        orders = history.orders
        table = customer_table(org, history)
        taxes = tax_amounts(orders.refund_amount[rows], history.currency)
        items = []
        for i, row in enumerate(rows.tolist()):
            subscription = int(orders.subscription[row])
            items.append(
                {
                    "created_at": iso(orders.refunded_at[row]),
                    "modified_at": None,
                    "id": refund_id(history, row),
                    "metadata": {},
                    "status": "succeeded",
                    "reason": refund_reason(history, row),
                    "amount": int(orders.refund_amount[row]),
                    "tax_amount": int(taxes[i]),
                    "currency": org.default_presentment_currency,
                    "organization_id": org.id,
                    "order_id": order_ids(history)[row],
                    "subscription_id": (
                        subscription_ids(history)[subscription] if subscription >= 0 else None
                    ),
                    "customer_id": table.ids[int(orders.customer[row])],
                    "revoke_benefits": False,
                    "dispute": None,
                }
            )
        return items
