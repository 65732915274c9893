"""A small, deterministic Polar business for the entity tests: products, customers,
subscriptions, orders and refunds of a few organizations, on a clock the tests move.

Items are rendered at request time in the shape of Polar's schemas (`server/polar/<entity>/
schemas.py`): embedded customer, product and subscription objects are the current ones, as Polar
joins them per request. `advance(days)` makes business happen: new customers and orders,
renewals, refunds (also on orders older than the look-back), cancellations, upgrades.
"""

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Record = dict[str, Any]
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
FIRST_NAMES = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia")
LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Perlman")


def iso(value: datetime | None) -> str | None:
    """Polar's rendering of a timestamp."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class FakeOrganization:
    """One organization's records by id."""

    id: str
    name: str
    currency: str
    products: dict[str, Record] = field(default_factory=dict)
    customers: dict[str, Record] = field(default_factory=dict)
    subscriptions: dict[str, Record] = field(default_factory=dict)
    orders: dict[str, Record] = field(default_factory=dict)
    refunds: dict[str, Record] = field(default_factory=dict)


class FakeWorld:
    """The business, its clock, and the test switches (denied scopes, hooks, drift)."""

    def __init__(self, seed: int = 7, start: datetime = START) -> None:
        self.rng = random.Random(seed)
        self.now = start
        self.lock = threading.RLock()
        self.organizations: dict[str, FakeOrganization] = {}
        self.denied_scopes: set[str] = set()
        self.before_page: Callable[[str, dict[str, list[str]]], None] | None = None
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.extra_fields: dict[str, dict[str, Any]] = {}
        self.dropped_fields: dict[str, set[str]] = {}
        self.fail_after: dict[str, int] = {}  # entity -> pages served before it answers 400
        self.unstable_ties = False  # equal sort keys come in another order on every request
        self.emails: set[str] = set()
        self.names: set[str] = set()

    # -- building ---------------------------------------------------------------------------

    def new_id(self) -> str:
        """A UUID4 (Polar validates ids as UUID4)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self) -> datetime:
        """A distinct, increasing timestamp near `now` (Polar's created_at)."""
        self.now += timedelta(microseconds=self.rng.randint(1, 999_999))
        return self.now

    def add_organization(
        self, org_id: str | None = None, name: str = "Acme", currency: str = "usd"
    ) -> FakeOrganization:
        """A new organization with a monthly, a yearly and a one-time product."""
        org = FakeOrganization(org_id or self.new_id(), name, currency)
        self.organizations[org.id] = org
        self.add_product(org, "Pro monthly", 1500, "month")
        self.add_product(org, "Pro yearly", 15000, "year")
        self.add_product(org, "Ebook", 2900, None)
        return org

    def add_product(
        self, org: FakeOrganization, name: str, price: int, interval: str | None
    ) -> Record:
        """A product with one fixed price."""
        at = self.tick()
        product_id = self.new_id()
        product = {
            "id": product_id, "created_at": at, "modified_at": None, "name": name,
            "description": f"{name} plan", "visibility": "public",
            "recurring_interval": interval, "recurring_interval_count": 1 if interval else None,
            "is_recurring": interval is not None, "is_archived": False, "organization_id": org.id,
            "trial_interval": None, "trial_interval_count": None, "meter_interval": None,
            "meter_interval_count": None, "metadata": {}, "benefits": [], "medias": [],
            "attached_custom_fields": [], "deleted": False,
            "prices": [{
                "id": self.new_id(), "created_at": iso(at), "modified_at": None,
                "source": "catalog", "amount_type": "fixed", "price_currency": org.currency,
                "tax_behavior": None, "is_archived": False, "product_id": product_id,
                "price_amount": price,
            }],
        }  # fmt: skip
        org.products[product_id] = product
        return product

    def add_customer(self, org: FakeOrganization) -> Record:
        """A customer with obviously fake but personal-looking data."""
        at = self.tick()
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        name = f"{first} {last} {self.rng.randint(100, 999)}"
        email = f"{name.lower().replace(' ', '.')}@example.com"
        self.emails.add(email)
        self.names.add(name)
        customer = {
            "id": self.new_id(), "created_at": at, "modified_at": None,
            "external_id": f"usr_{self.rng.randint(10_000, 99_999)}", "email": email,
            "email_verified": True, "type": "individual", "name": name, "billing_name": name,
            "billing_address": {"line1": f"{self.rng.randint(1, 99)} Fake Street",
                                "line2": None, "postal_code": "75001", "city": "Paris",
                                "state": None, "country": "FR"},
            "tax_id": None, "locale": "en", "organization_id": org.id,
            "default_payment_method_id": None, "deleted_at": None, "first_user_event_at": None,
            "metadata": {}, "avatar_url": f"https://www.gravatar.com/avatar/{name}?d=404",
        }  # fmt: skip
        org.customers[customer["id"]] = customer
        return customer

    def subscribe(
        self, org: FakeOrganization, customer: Record, product: Record, trial_days: int = 0
    ) -> Record:
        """A subscription started now, with its first order (unless trialing)."""
        at = self.tick()
        interval = product["recurring_interval"]
        trial_end = at + timedelta(days=trial_days) if trial_days else None
        period_end = trial_end or at + _period(interval)
        subscription = {
            "id": self.new_id(), "created_at": at, "modified_at": None,
            "amount": product["prices"][0]["price_amount"], "currency": org.currency,
            "recurring_interval": interval, "recurring_interval_count": 1,
            "status": "trialing" if trial_days else "active",
            "current_period_start": at, "current_period_end": period_end,
            "current_meter_period_start": None, "current_meter_period_end": None,
            "trial_start": at if trial_days else None, "trial_end": trial_end,
            "cancel_at_period_end": False, "canceled_at": None, "started_at": at,
            "ends_at": None, "ended_at": None, "past_due_at": None,
            "pause_at_period_end": False, "paused_at": None, "resumes_at": None,
            "customer_id": customer["id"], "product_id": product["id"], "discount_id": None,
            "checkout_id": self.new_id(), "seats": None, "units": None,
            "customer_cancellation_reason": None, "customer_cancellation_comment": None,
            "metadata": {}, "custom_field_data": {}, "price_id": product["prices"][0]["id"],
        }  # fmt: skip
        org.subscriptions[subscription["id"]] = subscription
        if not trial_days:
            self.add_order(org, customer, product, subscription, "subscription_create")
        return subscription

    def add_order(
        self, org: FakeOrganization, customer: Record, product: Record,
        subscription: Record | None = None, billing_reason: str = "purchase",
    ) -> Record:  # fmt: skip
        """A paid order of the product's price (tax 20 %)."""
        at = self.tick()
        net = subscription["amount"] if subscription else product["prices"][0]["price_amount"]
        tax = net // 5
        order = {
            "id": self.new_id(), "created_at": at, "modified_at": None, "status": "paid",
            "paid": True, "subtotal_amount": net, "discount_amount": 0, "net_amount": net,
            "tax_amount": tax, "total_amount": net + tax, "applied_balance_amount": 0,
            "due_amount": 0, "refunded_amount": 0, "refunded_tax_amount": 0,
            "currency": org.currency, "billing_reason": billing_reason,
            "billing_name": customer["billing_name"],
            "billing_address": dict(customer["billing_address"]),
            "invoice_number": f"INV-{self.rng.randint(10_000, 99_999)}",
            "is_invoice_generated": True, "receipt_number": None, "seats": None, "units": None,
            "customer_id": customer["id"], "product_id": product["id"], "discount_id": None,
            "subscription_id": subscription["id"] if subscription else None,
            "checkout_id": None, "next_payment_attempt_at": None, "metadata": {},
            "custom_field_data": {}, "platform_fee_amount": net // 20,
            "platform_fee_currency": "usd", "description": product["name"],
        }  # fmt: skip
        org.orders[order["id"]] = order
        return order

    def refund(self, org: FakeOrganization, order: Record, amount: int | None = None) -> Record:
        """A succeeded refund of the order (full by default); the order is updated too."""
        at = self.tick()
        amount = amount or order["net_amount"] - order["refunded_amount"]
        tax = amount // 5
        refund = {
            "id": self.new_id(), "created_at": at, "modified_at": None, "status": "succeeded",
            "reason": "customer_request", "amount": amount, "tax_amount": tax,
            "currency": order["currency"], "organization_id": org.id, "order_id": order["id"],
            "subscription_id": order["subscription_id"], "customer_id": order["customer_id"],
            "revoke_benefits": False, "dispute": None, "metadata": {},
        }  # fmt: skip
        org.refunds[refund["id"]] = refund
        order["refunded_amount"] += amount
        order["refunded_tax_amount"] += tax
        fully = order["refunded_amount"] >= order["net_amount"]
        order["status"] = "refunded" if fully else "partially_refunded"
        order["modified_at"] = at
        return refund

    def cancel(self, subscription: Record, *, at_period_end: bool) -> None:
        """Cancel now, or at the end of the current period."""
        at = self.tick()
        subscription.update(
            canceled_at=at, modified_at=at, customer_cancellation_reason="too_expensive"
        )
        if at_period_end:
            subscription.update(
                cancel_at_period_end=True, ends_at=subscription["current_period_end"]
            )
        else:
            subscription.update(status="canceled", ends_at=at, ended_at=at)

    def upgrade(self, org: FakeOrganization, subscription: Record, product: Record) -> None:
        """Switch to another product (and its price), with a proration order."""
        subscription.update(
            product_id=product["id"], amount=product["prices"][0]["price_amount"],
            recurring_interval=product["recurring_interval"], modified_at=self.tick(),
        )  # fmt: skip
        customer = org.customers[subscription["customer_id"]]
        self.add_order(org, customer, product, subscription, "subscription_update")

    def delete_customer(self, org: FakeOrganization, customer_id: str) -> None:
        """Soft-delete: Polar lists no deleted customer."""
        org.customers[customer_id]["deleted_at"] = self.tick()

    # -- the simulation -----------------------------------------------------------------

    def advance(self, days: int, *, customers_per_day: int = 2) -> None:
        """Move the clock `days` days, with business every day."""
        with self.lock:
            for _ in range(days):
                day_end = self.now + timedelta(days=1)
                for org in self.organizations.values():
                    self._one_day(org, customers_per_day)
                self.now = max(self.now, day_end)

    def _one_day(self, org: FakeOrganization, customers_per_day: int) -> None:
        products = [p for p in org.products.values() if not p["deleted"]]
        recurring = [p for p in products if p["is_recurring"]]
        one_time = [p for p in products if not p["is_recurring"]]
        for _ in range(customers_per_day):
            customer = self.add_customer(org)
            if self.rng.random() < 0.6:
                trial = 14 if self.rng.random() < 0.3 else 0
                self.subscribe(org, customer, self.rng.choice(recurring), trial)
            else:
                self.add_order(org, customer, self.rng.choice(one_time))
        self._renew_and_end(org)
        orders = sorted(org.orders.values(), key=lambda o: o["created_at"])
        paid = [o for o in orders if o["status"] == "paid"]
        if paid and self.rng.random() < 0.5:
            self.refund(org, self.rng.choice(paid))  # any age: also older than the look-back
        live = [s for s in org.subscriptions.values() if s["status"] in ("active", "trialing")]
        cancelable = [s for s in live if not s["cancel_at_period_end"]]  # Polar: already canceled
        if cancelable and self.rng.random() < 0.4:
            self.cancel(self.rng.choice(cancelable), at_period_end=self.rng.random() < 0.5)
        active = [s for s in live if s["status"] == "active" and not s["cancel_at_period_end"]]
        if active and recurring and self.rng.random() < 0.3:
            subscription = self.rng.choice(active)
            others = [p for p in recurring if p["id"] != subscription["product_id"]]
            if others:
                self.upgrade(org, subscription, self.rng.choice(others))

    def _renew_and_end(self, org: FakeOrganization) -> None:
        for subscription in list(org.subscriptions.values()):
            if subscription["status"] not in ("active", "trialing"):
                continue
            if subscription["current_period_end"] > self.now:
                continue
            if subscription["cancel_at_period_end"]:
                ended = subscription["current_period_end"]
                subscription.update(status="canceled", ended_at=ended, modified_at=self.tick())
                continue
            reason = (
                "subscription_cycle"
                if subscription["status"] == "active"
                else "subscription_create"
            )
            start = subscription["current_period_end"]
            subscription.update(
                status="active", current_period_start=start,
                current_period_end=start + _period(subscription["recurring_interval"]),
                modified_at=self.tick(),
            )  # fmt: skip
            customer = org.customers[subscription["customer_id"]]
            product = org.products[subscription["product_id"]]
            self.add_order(org, customer, product, subscription, reason)


def _period(interval: str | None) -> timedelta:
    return {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30),
            "year": timedelta(days=365)}.get(interval or "month", timedelta(days=30))  # fmt: skip
