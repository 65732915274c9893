"""Records of the fake world rendered as Polar's list items (every field of Polar's schema)."""

from datetime import datetime
from typing import Any

from tests.fake_polar.world import FakeOrganization, Record, iso

_INTERNAL = {"deleted"}


def _plain(record: Record) -> dict[str, Any]:
    return {
        key: iso(value) if isinstance(value, datetime) else value
        for key, value in record.items()
        if key not in _INTERNAL
    }


def product(org: FakeOrganization, record: Record) -> dict[str, Any]:
    """A Product."""
    return _plain(record)


def customer(org: FakeOrganization, record: Record) -> dict[str, Any]:
    """A Customer (also the `customer` embedded in orders and subscriptions)."""
    return _plain(record)


def _user(record: Record) -> dict[str, Any]:
    name = record.get("name") or ""
    return {
        "id": record["id"],
        "email": record.get("email"),
        "public_name": name[:1],
        "avatar_url": record.get("avatar_url"),
        "github_username": None,
    }


def subscription(org: FakeOrganization, record: Record) -> dict[str, Any]:
    """A Subscription with its customer, product and prices."""
    item = _plain(record)
    owner = org.customers[record["customer_id"]]
    plan = org.products[record["product_id"]]
    item.update(
        customer=customer(org, owner),
        user_id=owner["id"],
        user=_user(owner),
        product=product(org, plan),
        discount=None,
        price=plan["prices"][0],
        prices=plan["prices"],
        meters=[],
        pending_update=None,
    )
    return item


def _subscription_base(org: FakeOrganization, record: Record) -> dict[str, Any]:
    item = _plain(record)
    item.pop("custom_field_data", None)
    item["user_id"] = record["customer_id"]
    return item


def order(org: FakeOrganization, record: Record) -> dict[str, Any]:
    """An Order with its customer, product, subscription and line items."""
    item = _plain(record)
    owner = org.customers[record["customer_id"]]
    plan = org.products[record["product_id"]]
    sub = org.subscriptions.get(record["subscription_id"] or "")
    item.update(
        amount=record["net_amount"],
        from_balance_amount=record["applied_balance_amount"],
        refundable_amount=max(0, record["net_amount"] - record["refunded_amount"]),
        refundable_tax_amount=max(0, record["tax_amount"] - record["refunded_tax_amount"]),
        product_price_id=plan["prices"][0]["id"],
        customer=customer(org, owner),
        user_id=owner["id"],
        user=_user(owner),
        product=product(org, plan),
        product_price=plan["prices"][0],
        discount=None,
        subscription=_subscription_base(org, sub) if sub else None,
        items=[
            {
                "id": record["id"][:-4] + "0000",
                "created_at": item["created_at"],
                "modified_at": None,
                "label": plan["name"],
                "amount": record["subtotal_amount"],
                "tax_amount": record["tax_amount"],
                "proration": record["billing_reason"] == "subscription_update",
                "product_price_id": plan["prices"][0]["id"],
            }
        ],
    )
    return item


def refund(org: FakeOrganization, record: Record) -> dict[str, Any]:
    """A Refund."""
    return _plain(record)


RENDERERS = {
    "products": product,
    "customers": customer,
    "subscriptions": subscription,
    "orders": order,
    "refunds": refund,
}
