"""Polar's `Order` JSON (order/schemas.py) and the money facts orders and refunds share.

Amounts are in the organization's currency: net_amount is what the customer paid before tax
(the list price less the launch discount), tax is added on top, Polar's fee is in USD.
Hidden from the OpenAPI schema but still serialized: `amount`, `from_balance_amount`,
`user_id`, `user`, `product_price_id`, `product_price`.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.customer_table import (
    customer_json,
    customer_table,
    team_customers,
)
from connectors.polar_emulator.api.entities.lookups import (
    checkout_id,
    order_ids,
    subscription_ids,
)
from connectors.polar_emulator.api.entities.products import price_json, product_base_json
from connectors.polar_emulator.api.entities.render import iso, iso_if_by
from connectors.polar_emulator.api.entities.subscription_json import (
    discount_json,
    legacy_user,
    subscription_base_json,
)
from connectors.polar_emulator.business.catalogue import launch_discount, list_prices
from connectors.polar_emulator.business.currency import tax_amounts
from connectors.polar_emulator.business.derived_ids import derived_uuid4
from connectors.polar_emulator.business.simulation_model import BILLING_REASONS, OrganizationHistory
from connectors.polar_emulator.business.timeline import subscription_rows
from connectors.polar_emulator.business.world_model import EmulatedOrganization

# Polar serializes its internal billing reasons through to_public (models/order.py).
PUBLIC_BILLING_REASON = {
    "purchase": "purchase",
    "subscription_create": "subscription_create",
    "subscription_cycle": "subscription_cycle",
    "subscription_cycle_after_trial": "subscription_cycle",
}


@dataclass(frozen=True)
class OrderMoney:
    """Per order row: list subtotal, discount, tax and what is refunded by `now`."""

    seats: np.ndarray
    subtotal: np.ndarray
    discounted: np.ndarray
    tax: np.ndarray
    refunded: np.ndarray
    refunded_tax: np.ndarray
    status: np.ndarray


def order_money(history: OrganizationHistory, rows: np.ndarray, now: float) -> OrderMoney:
    """The money facts of these order rows."""
    orders, subs = history.orders, history.subscriptions
    subscription = orders.subscription[rows]
    seats = np.where(subscription >= 0, subs.seats[np.maximum(subscription, 0)], 0)
    subtotal = list_prices(history.products)[orders.product[rows]] * np.maximum(seats, 1)
    amount = orders.amount[rows]
    known = orders.refunded_at[rows] <= now
    refunded = np.where(known, orders.refund_amount[rows], 0)
    status = np.where(
        refunded == 0, "paid", np.where(refunded >= amount, "refunded", "partially_refunded")
    )
    return OrderMoney(
        seats=seats,
        subtotal=subtotal,
        discounted=amount < subtotal,
        tax=tax_amounts(amount, history.currency),
        refunded=refunded,
        refunded_tax=tax_amounts(refunded, history.currency),
        status=status,
    )


def _items(
    history: OrganizationHistory, row: int, label: str, price_id: str, money: OrderMoney, i: int
) -> list:
    orders, subs = history.orders, history.subscriptions
    subscription = int(orders.subscription[row])
    period_end = None
    if subscription >= 0:
        period_end = iso(orders.time[row] + subs.interval[subscription])
    return [
        {
            "created_at": iso(orders.time[row]),
            "modified_at": None,
            "id": derived_uuid4(history.customer_seed, "order-item", int(orders.key[row])),
            "label": label,
            "amount": int(money.subtotal[i]),
            "tax_amount": int(money.tax[i]),
            "proration": False,
            "product_price_id": price_id,
            "start_timestamp": iso(orders.time[row]) if subscription >= 0 else None,
            "end_timestamp": period_end,
        }
    ]


def orders_json(
    org: EmulatedOrganization, history: OrganizationHistory, rows: np.ndarray, now: float
) -> list[dict[str, Any]]:
    """Full `Order` objects of these rows."""
    orders = history.orders
    money = order_money(history, rows, now)
    table = customer_table(org, history)
    teams = set(team_customers(history, now).tolist())
    subscription_rows_used = np.unique(orders.subscription[rows][orders.subscription[rows] >= 0])
    states = subscription_rows(history.subscriptions, subscription_rows_used, now)
    position = {int(s): i for i, s in enumerate(subscription_rows_used.tolist())}
    discount = discount_json(org, history, now) if money.discounted.any() else None
    products: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # built once per page
    items = []
    for i, row in enumerate(rows.tolist()):
        product_index = int(orders.product[row])
        product = history.products[product_index]
        if product_index not in products:
            products[product_index] = (
                product_base_json(org, product, now),
                price_json(org, product),
            )
        product_object, price = products[product_index]
        customer_row = int(orders.customer[row])
        customer = customer_json(org, table, customer_row, now, customer_row in teams)
        subscription = int(orders.subscription[row])
        embedded = None
        if subscription >= 0:
            embedded = subscription_base_json(
                org, history, subscription, states, position[subscription]
            )
            embedded["user_id"] = customer["id"]
        net, tax, refunded = int(orders.amount[row]), int(money.tax[i]), int(money.refunded[i])
        address = customer["billing_address"]
        items.append(
            {
                "id": order_ids(history)[row],
                "created_at": iso(orders.time[row]),
                "modified_at": iso_if_by(orders.refunded_at[row], now),
                "status": str(money.status[i]),
                "paid": True,
                "subtotal_amount": int(money.subtotal[i]),
                "discount_amount": int(money.subtotal[i]) - net,
                "net_amount": net,
                "tax_amount": tax,
                "total_amount": net + tax,
                "applied_balance_amount": 0,
                "due_amount": 0,
                "refunded_amount": refunded,
                "refunded_tax_amount": int(money.refunded_tax[i]),
                "currency": org.default_presentment_currency,
                "billing_reason": PUBLIC_BILLING_REASON[
                    BILLING_REASONS[int(orders.billing_reason[row])]
                ],
                "billing_name": customer["billing_name"],
                "billing_address": dict(address),
                "invoice_number": f"{org.slug[:6].upper()}-{int(orders.key[row]):X}",
                "is_invoice_generated": False,
                "receipt_number": None,
                "seats": int(money.seats[i]) if money.seats[i] > 0 else None,
                "units": None,
                "customer_id": customer["id"],
                "product_id": product.id,
                "discount_id": launch_discount(org.profile).id if money.discounted[i] else None,
                "subscription_id": subscription_ids(history)[subscription]
                if subscription >= 0
                else None,
                "checkout_id": checkout_id(history, row),
                "next_payment_attempt_at": None,
                "metadata": {},
                "custom_field_data": {},
                "platform_fee_amount": int(orders.fee_usd[row]),
                "platform_fee_currency": "usd",
                "customer": customer,
                "user_id": customer["id"],
                "user": legacy_user(customer),
                "product": product_object,
                "product_price_id": product.price_id,
                "product_price": price,
                "discount": discount if money.discounted[i] else None,
                "subscription": embedded,
                "items": _items(history, row, product.name, product.price_id, money, i),
                "description": product.name,
                "amount": net,
                "from_balance_amount": 0,
                "refundable_amount": max(0, net - refunded),
                "refundable_tax_amount": max(0, tax - int(money.refunded_tax[i])),
            }
        )
    return items
