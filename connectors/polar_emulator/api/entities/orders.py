"""`GET /v1/orders/`: filters and sorts of order/service.py and order/repository.py."""

from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.customer_table import customer_table
from connectors.polar_emulator.api.entities.listing import (
    ListParams,
    Part,
    QueryReader,
    SortKey,
    micros,
    no_nulls,
)
from connectors.polar_emulator.api.entities.lookups import checkout_rows, subscription_ids
from connectors.polar_emulator.api.entities.order_json import order_money, orders_json
from connectors.polar_emulator.business.catalogue import launch_discount
from connectors.polar_emulator.business.simulation_model import OrganizationHistory
from connectors.polar_emulator.business.world_model import EmulatedOrganization

SORT_KEYS = (
    "created_at",
    "status",
    "invoice_number",
    "amount",
    "net_amount",
    "customer",
    "product",
    "discount",
    "subscription",
)
STATUSES = ("draft", "pending", "paid", "refunded", "partially_refunded", "void")
_STATUS_RANK = {"paid": 3, "partially_refunded": 4, "refunded": 5}


def customers_wanted(
    org: EmulatedOrganization,
    history: OrganizationHistory,
    ids: list[str] | None,
    external_ids: list[str] | None,
) -> np.ndarray:
    """Mask over the numbered customers matching customer_id / external_customer_id filters."""
    table = customer_table(org, history)
    wanted = np.ones(table.numbered, dtype=bool)
    if ids is not None:
        wanted &= np.isin(table.ids[: table.numbered], ids)
    if external_ids is not None:
        wanted &= np.isin(table.external_ids[: table.numbered], external_ids)
    return wanted


class OrderListing:
    """Filters and sort keys of the orders endpoint."""

    sort_keys = SORT_KEYS
    default_sorting = "-created_at"
    scopes = frozenset({"orders:read"})

    def __init__(self, query: QueryReader) -> None:
        self.organization_ids = query.uuids("organization_id")
        self.product_ids = query.uuids("product_id")
        self.billing_types = query.choices("product_billing_type", ("one_time", "recurring"))
        self.discount_ids = query.uuids("discount_id")
        self.customer_ids = query.uuids("customer_id")
        self.external_customer_ids = query.strings("external_customer_id")
        self.checkout_ids = query.uuids("checkout_id")
        self.subscription_ids = query.uuids("subscription_id")
        self.status = query.choices("status", STATUSES)
        self.created_after = query.instant("created_after")
        self.created_before = query.instant("created_before")
        self.metadata = query.metadata()
        self.params: ListParams = query.list_params(SORT_KEYS, self.default_sorting)

    def rows(
        self, org: EmulatedOrganization, history: OrganizationHistory, now: float
    ) -> np.ndarray:
        """Order rows (paid by now) passing the filters."""
        orders = history.orders
        rows = np.arange(int(np.searchsorted(orders.time, now, "right")))
        if self.created_after is not None:
            rows = rows[micros(orders.time[rows]) > self.created_after]
        if self.created_before is not None:
            rows = rows[micros(orders.time[rows]) < self.created_before]
        keep = np.ones(rows.size, dtype=bool)
        products = history.products
        if self.product_ids is not None:
            chosen = np.array([p.id in self.product_ids for p in products])
            keep &= chosen[orders.product[rows]]
        if self.billing_types is not None:
            chosen = np.array([p.billing_type in self.billing_types for p in products])
            keep &= chosen[orders.product[rows]]
        if self.customer_ids is not None or self.external_customer_ids is not None:
            wanted = customers_wanted(org, history, self.customer_ids, self.external_customer_ids)
            keep &= wanted[orders.customer[rows]]
        if self.subscription_ids is not None:
            subscription = orders.subscription[rows]
            ids = subscription_ids(history)
            keep &= (subscription >= 0) & np.isin(
                ids[np.maximum(subscription, 0)], self.subscription_ids
            )
        if self.checkout_ids is not None:
            keep &= np.isin(rows, checkout_rows(history, self.checkout_ids))
        if self.discount_ids is not None or self.status is not None:
            money = order_money(history, rows, now)
            if self.discount_ids is not None:
                keep &= money.discounted & (launch_discount(org.profile).id in self.discount_ids)
            if self.status is not None:
                keep &= np.isin(money.status, self.status)
        if self.metadata is not None:
            keep &= False  # every order's metadata is empty
        return rows[keep]

    def keys(self, now: float) -> dict[str, SortKey]:
        """Sort keys by name, as Polar's SQL orders them."""
        orders_of = lambda part: part.history.orders  # noqa: E731

        def status(part: Part) -> tuple[np.ndarray, np.ndarray]:
            money = order_money(part.history, part.rows, now)
            return no_nulls(
                np.select([money.status == s for s in _STATUS_RANK], list(_STATUS_RANK.values()))
            )

        def invoice(part: Part) -> tuple[np.ndarray, np.ndarray]:
            keys = orders_of(part).key[part.rows]
            prefix = part.org.slug[:6].upper()
            return no_nulls(np.array([f"{prefix}-{int(k):X}" for k in keys], dtype=str))

        def customer(part: Part) -> tuple[np.ndarray, np.ndarray]:
            table = customer_table(part.org, part.history)
            return no_nulls(table.emails[orders_of(part).customer[part.rows]])

        def product(part: Part) -> tuple[np.ndarray, np.ndarray]:
            names = np.array([p.name for p in part.history.products], dtype=str)
            return no_nulls(names[orders_of(part).product[part.rows]])

        def discount(part: Part) -> tuple[np.ndarray, np.ndarray]:
            on = order_money(part.history, part.rows, now).discounted
            return np.full(on.size, launch_discount(part.org.profile).name), ~on

        def subscription(part: Part) -> tuple[np.ndarray, np.ndarray]:
            owner = orders_of(part).subscription[part.rows]
            ids = subscription_ids(part.history)[np.maximum(owner, 0)].astype(str)
            return np.where(owner >= 0, ids, ""), owner < 0

        amount = lambda part: no_nulls(orders_of(part).amount[part.rows])  # noqa: E731
        return {
            "created_at": lambda part: no_nulls(orders_of(part).time[part.rows]),
            "status": status,
            "invoice_number": invoice,
            "amount": amount,
            "net_amount": amount,
            "customer": customer,
            "product": product,
            "discount": discount,
            "subscription": subscription,
        }

    def render(self, part: Part, rows: np.ndarray, now: float) -> list[dict[str, Any]]:
        """The orders' JSON."""
        return orders_json(part.org, part.history, rows, now)
