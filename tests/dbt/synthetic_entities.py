"""A small synthetic Polar business per organization: products, customers, subscriptions, orders
and refunds as Polar's list endpoints return them (the fields the pipeline reads), drawn from a
seeded generator so every run builds the same business.

It covers what the reconciliation must get right: every billing interval (a 3-month and a 3-day
one too), trials, ended and scheduled-to-end subscriptions, one ending exactly at local
midnight, subscriptions without `started_at`, pending, void, refunded and partially refunded
orders, orders a minute either side of local midnight, deleted customers and products.
"""

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.dbt.raw_fixture import NOW, window_days

Item = dict[str, Any]
TIMEZONE = "America/Los_Angeles"
DAY = timedelta(days=1)
# (name, recurring interval, interval count, price in minor units); None = a one-time product
PLANS = (
    ("Pro monthly", "month", 1, 2900),
    ("Pro quarterly", "month", 3, 7900),
    ("Pro yearly", "year", 1, 29000),
    ("Newsletter weekly", "week", 1, 900),
    ("Pass every 3 days", "day", 3, 150),
    ("Template pack", None, None, 4900),
)
TAX_RATE = {"eur": 0.19}
ORDER_STATUSES = ["paid"] * 15 + ["pending", "void"] + ["refunded", "partially_refunded"] * 2


@dataclass
class Business:
    """One organization's entities (datetimes as `datetime`, rendered to JSON when written)."""

    organization_id: str
    currency: str
    products: list[Item]
    customers: list[Item]
    subscriptions: list[Item]
    orders: list[Item]
    refunds: list[Item]

    def by_entity(self) -> dict[str, list[Item]]:
        """The items keyed by entity name (products ... refunds)."""
        return {
            "products": self.products,
            "customers": self.customers,
            "subscriptions": self.subscriptions,
            "orders": self.orders,
            "refunds": self.refunds,
        }


def local_midnight(day_offset: int) -> datetime:
    """Midnight in TIMEZONE at the start of window day `day_offset` (0 = first window day)."""
    return datetime.combine(window_days()[day_offset], time(), ZoneInfo(TIMEZONE))


def synthetic_business(organization_id: str, currency: str, seed: int) -> Business:
    """A business of a few dozen customers and subscriptions and ~150 orders."""
    rng = random.Random(seed)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    products = [_product(new_id(), plan, currency) for plan in PLANS]
    products += [
        {**_product(new_id(), ("Old plan", "month", 1, 1500), currency), "is_archived": True},
        _product(new_id(), ("Deleted pack", None, None, 990), currency),  # marked missing
    ]
    customers = [_customer(new_id(), number, rng) for number in range(40)]
    subscriptions = [_subscription(new_id(), rng, products, customers, currency) for _ in range(30)]
    subscriptions[0].update(  # scheduled to end exactly as a local day starts
        started_at=local_midnight(30), created_at=local_midnight(30), trial_start=None,
        trial_end=None, ended_at=None, ends_at=local_midnight(60), cancel_at_period_end=True,
        canceled_at=local_midnight(40), status="canceled",
    )  # fmt: skip
    for unstarted in subscriptions[1:3]:
        unstarted.update(started_at=None, status="incomplete", ended_at=None, ends_at=None)
    orders = _orders(rng, new_id, products, customers, subscriptions, currency)
    refunds = [_refund(new_id(), order) for order in orders if order["refunded_amount"]]
    return Business(organization_id, currency, products, customers, subscriptions, orders, refunds)


def _product(product_id: str, plan: tuple, currency: str) -> Item:
    name, interval, count, price = plan
    return {
        "id": product_id,
        "created_at": NOW - 400 * DAY,
        "modified_at": None,
        "name": name,
        "visibility": "public",
        "is_recurring": interval is not None,
        "is_archived": False,
        "recurring_interval": interval,
        "recurring_interval_count": count,
        "prices": [{"amount_type": "fixed", "price_amount": price, "price_currency": currency}],
    }


def _customer(customer_id: str, number: int, rng: random.Random) -> Item:
    return {
        "id": customer_id,
        "created_at": NOW - timedelta(days=rng.uniform(100, 400)),
        "modified_at": None,
        "external_id": f"ext-{number}",
        "email": f"customer{number}@example.com",
        "email_verified": True,
        "name": f"Customer {number}",
        "billing_name": f"Customer {number}",
        "billing_address": {"country": "us"},
        "type": "individual",
        "deleted_at": NOW - 5 * DAY if number in (7, 8) else None,
    }


def _subscription(
    subscription_id: str,
    rng: random.Random,
    products: list[Item],
    customers: list[Item],
    currency: str,
) -> Item:
    product = rng.choice(products[:5])  # the recurring plans
    price = product["prices"][0]["price_amount"]
    started = NOW - timedelta(seconds=rng.uniform(3_600, 150 * 86_400))
    trial_end = started + 14 * DAY if rng.random() < 0.25 else None
    ended_at = ends_at = canceled_at = None
    fate = rng.random()
    if fate < 0.3:
        ended_at = started + (NOW - started) * rng.uniform(0.1, 0.95)
        canceled_at = ended_at
    elif fate < 0.45:
        ends_at = NOW + timedelta(days=rng.uniform(1, 30))
        canceled_at = NOW - timedelta(hours=rng.uniform(1, 48))
    status = "canceled" if ended_at else "trialing" if trial_end and trial_end > NOW else "active"
    return {
        "id": subscription_id,
        "created_at": started,
        "modified_at": canceled_at,
        "status": status,
        "amount": price if rng.random() < 0.8 else price * 4 // 5,  # some with a discount
        "currency": currency,
        "recurring_interval": product["recurring_interval"],
        "recurring_interval_count": product["recurring_interval_count"],
        "started_at": started,
        "trial_start": started if trial_end else None,
        "trial_end": trial_end,
        "cancel_at_period_end": ends_at is not None,
        "canceled_at": canceled_at,
        "ends_at": ends_at,
        "ended_at": ended_at,
        "customer_id": rng.choice(customers)["id"],
        "product_id": product["id"],
    }


def _orders(
    rng: random.Random,
    new_id: Callable[[], str],
    products: list[Item],
    customers: list[Item],
    subscriptions: list[Item],
    currency: str,
) -> list[Item]:
    orders: list[Item] = []
    for day_offset in range(10, len(window_days())):  # the first order comes on window day 10
        for _ in range(rng.randint(0, 3)):
            seconds = rng.choice([rng.uniform(0, 86_400), 60.0, 86_340.0])  # near midnight too
            created = local_midnight(day_offset) + timedelta(seconds=seconds)
            if created < NOW:
                orders.append(
                    _order(new_id(), created, rng, products, customers, subscriptions, currency)
                )
    return orders


def _order(
    order_id: str,
    created: datetime,
    rng: random.Random,
    products: list[Item],
    customers: list[Item],
    subscriptions: list[Item],
    currency: str,
) -> Item:
    started = [s for s in subscriptions if s["started_at"] and s["started_at"] < created]
    subscription = rng.choice(started) if started and rng.random() < 0.5 else None
    product = (
        next(p for p in products if p["id"] == subscription["product_id"])
        if subscription
        else products[5]
    )
    net = subscription["amount"] if subscription else product["prices"][0]["price_amount"]
    status = rng.choice(ORDER_STATUSES)
    refunded = {"refunded": net, "partially_refunded": net // 3}.get(status, 0)
    tax = round(net * TAX_RATE.get(currency, 0))
    paid = status in ("paid", "refunded", "partially_refunded")
    return {
        "id": order_id,
        "created_at": created,
        "modified_at": created + DAY if refunded else None,
        "status": status,
        "paid": paid,
        "billing_reason": "subscription_cycle" if subscription else "purchase",
        "subtotal_amount": net,
        "discount_amount": 0,
        "net_amount": net,
        "tax_amount": tax,
        "total_amount": net + tax,
        "refunded_amount": refunded,
        "refunded_tax_amount": round(refunded * TAX_RATE.get(currency, 0)),
        "platform_fee_amount": (net * 4 + 50) // 100 + 40 if paid else 0,  # 4 % + 40 cents
        "platform_fee_currency": "usd",
        "currency": currency,
        "customer_id": subscription["customer_id"] if subscription else rng.choice(customers)["id"],
        "product_id": product["id"],
        "subscription_id": subscription["id"] if subscription else None,
        "billing_address": {"country": "us"},
    }


def _refund(refund_id: str, order: Item) -> Item:
    return {
        "id": refund_id,
        "created_at": min(order["created_at"] + DAY, NOW - timedelta(minutes=1)),
        "modified_at": None,
        "status": "succeeded",
        "reason": "customer_request",
        "amount": order["refunded_amount"],
        "tax_amount": order["refunded_tax_amount"],
        "currency": order["currency"],
        "order_id": order["id"],
        "subscription_id": order["subscription_id"],
        "customer_id": order["customer_id"],
        "revoke_benefits": False,
    }
