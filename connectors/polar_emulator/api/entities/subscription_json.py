"""Polar's `Subscription` JSON (subscription/schemas.py), also embedded in orders.

Hidden from the OpenAPI schema but still serialized by Polar: `price_id`, `user_id`, `user`
and `price` (deprecated aliases kept for old integrations).
"""

from typing import Any

import numpy as np

from connectors.polar_emulator.api.entities.customer_table import (
    customer_json,
    customer_table,
    team_customers,
)
from connectors.polar_emulator.api.entities.lookups import (
    subscription_checkout_id,
    subscription_ids,
)
from connectors.polar_emulator.api.entities.products import price_json, product_json
from connectors.polar_emulator.api.entities.render import iso
from connectors.polar_emulator.business.catalogue import launch_discount, list_prices
from connectors.polar_emulator.business.people import customer_id
from connectors.polar_emulator.business.simulation_model import (
    CANCELLATION_REASONS,
    OrganizationHistory,
)
from connectors.polar_emulator.business.timeline import SubscriptionRows, subscription_rows
from connectors.polar_emulator.business.world_model import EmulatedOrganization


def discount_json(org: EmulatedOrganization, history: OrganizationHistory, now: float) -> dict:
    """The launch discount as `DiscountPercentageOnceForeverDurationBase`."""
    discount = launch_discount(org.profile)
    subs, orders = history.subscriptions, history.orders
    one_time = (orders.subscription < 0) & (orders.time <= now)
    below_list = orders.amount < list_prices(history.products)[orders.product]
    redemptions = int((subs.discounted & (subs.created <= now)).sum()) + int(
        (one_time & below_list).sum()
    )
    return {
        "duration": "forever",
        "type": "percentage",
        "basis_points": discount.basis_points,
        "created_at": iso(discount.created_at),
        "modified_at": None,
        "id": discount.id,
        "metadata": {},
        "name": discount.name,
        "code": discount.code,
        "starts_at": None,
        "ends_at": None,
        "max_redemptions": None,
        "max_redemptions_per_customer": None,
        "redemptions_count": redemptions,
        "organization_id": org.id,
    }


def legacy_user(customer: dict[str, Any]) -> dict[str, Any]:
    """The deprecated `user` object Polar still derives from the customer."""
    name = customer["name"] or customer["email"] or "?"
    return {
        "id": customer["id"],
        "email": customer["email"],
        "public_name": name[0],
        "avatar_url": customer["avatar_url"],
        "github_username": None,
    }


def subscription_base_json(
    org: EmulatedOrganization,
    history: OrganizationHistory,
    row: int,
    state: SubscriptionRows,
    i: int,
) -> dict[str, Any]:
    """SubscriptionBase + metadata + the hidden `price_id` (what an order embeds, minus user_id)."""
    subs = history.subscriptions
    product = history.products[int(state.product[i])]
    customer = int(subs.customer[row])
    trial = subs.paid_from[row] > subs.created[row]
    canceled = np.isfinite(state.canceled[i])
    reason = CANCELLATION_REASONS[int(subs.reason[row])] if canceled else ""
    return {
        "metadata": {},
        "created_at": iso(subs.created[row]),
        "modified_at": iso(state.modified[i]),
        "id": subscription_ids(history)[row],
        "amount": int(state.amount[i]),
        "currency": org.default_presentment_currency,
        "recurring_interval": product.interval,
        "recurring_interval_count": 1,
        "status": str(state.status[i]),
        "current_period_start": iso(state.period_start[i]),
        "current_period_end": iso(state.period_end[i]),
        "current_meter_period_start": None,
        "current_meter_period_end": None,
        "trial_start": iso(subs.created[row]) if trial else None,
        "trial_end": iso(subs.paid_from[row]) if trial else None,
        "cancel_at_period_end": bool(state.at_period_end[i]),
        "canceled_at": iso(state.canceled[i]),
        "started_at": iso(subs.created[row]),
        "ends_at": iso(state.end[i]),
        "ended_at": iso(state.end[i]) if state.status[i] == "canceled" else None,
        "past_due_at": None,
        "pause_at_period_end": False,
        "paused_at": None,
        "resumes_at": None,
        "customer_id": customer_id(history.customer_seed, customer),
        "product_id": product.id,
        "discount_id": launch_discount(org.profile).id if subs.discounted[row] else None,
        "checkout_id": subscription_checkout_id(history, row),
        "seats": int(subs.seats[row]) if subs.seats[row] > 0 else None,
        "units": None,
        "customer_cancellation_reason": reason or None,
        "customer_cancellation_comment": None,
        "price_id": product.price_id,
    }


def subscriptions_json(
    org: EmulatedOrganization, history: OrganizationHistory, rows: np.ndarray, now: float
) -> list[dict[str, Any]]:
    """Full `Subscription` objects of these rows."""
    state = subscription_rows(history.subscriptions, rows, now)
    table = customer_table(org, history)
    teams = set(team_customers(history, now).tolist())
    discount = None
    # A page holds a few products many times: each one's JSON is built once and shared (the
    # items are serialized, never changed); built per item it was a tenth of the page's time.
    products: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
    items = []
    for i, row in enumerate(rows.tolist()):
        base = subscription_base_json(org, history, row, state, i)
        customer_row = int(history.subscriptions.customer[row])
        customer = customer_json(org, table, customer_row, now, customer_row in teams)
        product_index = int(state.product[i])
        if product_index not in products:
            product = history.products[product_index]
            products[product_index] = (product_json(org, product, now), price_json(org, product))
        product_object, price = products[product_index]
        if base["discount_id"] is not None and discount is None:
            discount = discount_json(org, history, now)
        items.append(
            {
                **base,
                "custom_field_data": {},
                "customer": customer,
                "user_id": customer["id"],
                "user": legacy_user(customer),
                "product": product_object,
                "discount": discount if base["discount_id"] is not None else None,
                "price": price,
                "prices": [price],
                "meters": [],
                "pending_update": None,
            }
        )
    return items
