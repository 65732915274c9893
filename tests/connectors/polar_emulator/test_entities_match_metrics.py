"""Every kind of item of every entity endpoint is Polar's JSON, and the entities reproduce the
metrics.

For the default and the `many` scenarios, everything is downloaded once over loopback HTTP and
shared by the tests of this module. `many` (three USD organizations since 2023) runs in
`make test`; `default` (adds EUR, review and blocked organizations, ~93,000 orders: about a
minute and a half to download) is `slow` and runs in `make test-all`, with the same tests.
Validation against polar-sdk's models (see polar_schema.py)
runs on the first and last page of each endpoint as sent and on one item of every shape found
on any page (keys at every depth, the JSON type of every leaf, the value of every enum field such
as status, billing reason or currency): items of one shape pass or fail the strict check alike,
and validating all ~1,250 pages cost minutes. Then for every organization and every day of its
history, over every item downloaded: revenue, net revenue, active subscriptions and MRR
recomputed from the entities with the documented conversion rule equal /v1/metrics/.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.server import run_emulator
from tests.connectors.polar_emulator.entity_checks import (
    assert_entities_reproduce_metrics,
    instant,
    pages,
    tag_organization,
)
from tests.connectors.polar_emulator.polar_schema import shape, validate_sample
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, NINE_SCOPES, TODAY, access_token

ENTITIES = ("products", "customers", "subscriptions", "orders", "refunds")
SCENARIOS = {"default": {}, "many": {"orgs": 3}}
SLOW_SCENARIOS = ("default",)


@dataclass
class Downloaded:
    """One scenario's entities, fetched page by page, and an API client to ask for metrics."""

    http: httpx.Client
    organizations: list[dict[str, Any]]
    items: dict[str, list[dict[str, Any]]]
    validated: dict[str, int]  # items validated per endpoint: one of every shape


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW_SCENARIOS else name
        for name in SCENARIOS
    ],
)
def downloaded(request: pytest.FixtureRequest) -> Iterator[Downloaded]:
    config = EmulatorConfig(
        scenario=request.param,
        now=FIXED_NOW,
        auto_approve=True,
        rate_limit_per_minute=None,
        **SCENARIOS[request.param],
    )
    with (
        run_emulator(config) as running,
        httpx.Client(base_url=running.base_url, timeout=60) as http,
    ):
        http.headers["Authorization"] = f"Bearer {access_token(http, running, NINE_SCOPES)}"
        organizations = http.get("/v1/organizations/", params={"limit": 100}).json()["items"]
        items, validated = {}, {}
        for entity in ENTITIES:
            bodies = list(pages(http, entity))
            validated[entity] = validate_sample(entity, bodies)
            items[entity] = [item for body in bodies for item in body["items"]]
        tag_organization(items["orders"])
        yield Downloaded(http, organizations, items, validated)


def test_every_kind_of_item_of_every_endpoint_is_valid_polar_json(downloaded: Downloaded) -> None:
    # the download validated one item of every shape; here: it was not empty, ids are unique
    for entity in ENTITIES:
        ids = [item["id"] for item in downloaded.items[entity]]
        assert ids and len(ids) == len(set(ids)), entity
        assert 0 < downloaded.validated[entity] <= len(ids), entity


def test_entities_reproduce_revenue_subscriptions_and_mrr_every_day(downloaded: Downloaded) -> None:
    compared = 0
    for org in downloaded.organizations:
        first = max(instant(org["created_at"]).date(), date(2023, 1, 1))  # type: ignore[union-attr]
        compared += assert_entities_reproduce_metrics(
            downloaded.http,
            org["id"],
            downloaded.items["orders"],
            downloaded.items["subscriptions"],
            first,
            TODAY,
        )
    assert compared > 365 * len(downloaded.organizations)


def test_amounts_are_in_the_organizations_currency(downloaded: Downloaded) -> None:
    currency = {org["id"]: org["default_presentment_currency"] for org in downloaded.organizations}
    for order in downloaded.items["orders"]:
        assert order["currency"] == currency[order["organization_id_"]]
        assert order["total_amount"] == order["net_amount"] + order["tax_amount"]
        assert order["subtotal_amount"] - order["discount_amount"] == order["net_amount"]
    for sub in downloaded.items["subscriptions"]:
        assert sub["currency"] == currency[sub["customer"]["organization_id"]]


def test_refunds_link_orders_and_orders_show_them(downloaded: Downloaded) -> None:
    orders = {order["id"]: order for order in downloaded.items["orders"]}
    refunds = downloaded.items["refunds"]
    for refund in refunds:
        order = orders[refund["order_id"]]
        assert refund["customer_id"] == order["customer_id"]
        assert refund["subscription_id"] == order["subscription_id"]
        assert refund["amount"] == order["refunded_amount"] > 0
        assert order["status"] == (
            "refunded" if refund["amount"] == order["net_amount"] else "partially_refunded"
        )
        assert instant(refund["created_at"]) > instant(order["created_at"])  # type: ignore[operator]
    refunded = [o for o in orders.values() if o["status"] != "paid"]
    assert len(refunded) == len(refunds)
    assert {r["amount"] < orders[r["order_id"]]["net_amount"] for r in refunds} == {True, False}


def test_customers_are_fake_people_and_some_were_deleted(downloaded: Downloaded) -> None:
    customers = downloaded.items["customers"]
    assert all(c["email"].endswith("@example.com") for c in customers)
    assert all(c["deleted_at"] is None for c in customers)  # Polar never lists deleted ones
    listed = {c["id"] for c in customers}
    referenced = {o["customer_id"] for o in downloaded.items["orders"]}
    assert referenced <= listed  # buyers are never deleted
    assert {c["type"] for c in customers} == {"individual", "team"}
    assert all(c["billing_address"]["line1"] for c in customers)


def test_archived_product_keeps_its_subscribers(downloaded: Downloaded) -> None:
    archived = {p["id"] for p in downloaded.items["products"] if p["is_archived"]}
    assert archived, "organizations older than 2024 have the archived 2023 Starter plan"
    assert any(s["product_id"] in archived for s in downloaded.items["subscriptions"])


def test_subscriptions_show_reactivations_upgrades_and_every_status(downloaded: Downloaded) -> None:
    subs = downloaded.items["subscriptions"]
    assert {s["status"] for s in subs} == {"trialing", "active", "canceled"}
    assert any(s["cancel_at_period_end"] and s["ended_at"] is None for s in subs)
    upgraded = [s for s in subs if s["product"]["name"] == "Pro" and s["trial_end"] is None]
    assert upgraded
    for sub in subs:
        if sub["ended_at"] is not None:
            assert sub["status"] == "canceled" and sub["canceled_at"] is not None
        started = datetime.fromisoformat(sub["started_at"])
        assert datetime.fromisoformat(sub["current_period_start"]) >= started


def test_the_sample_tells_apart_what_the_strict_check_does(downloaded: Downloaded) -> None:
    # Sampling by shape is sound only if a value that could fail the check changes the shape.
    order = downloaded.items["orders"][0]
    same = {**order, "id": "another-id", "net_amount": order["net_amount"] + 1}
    assert shape(same) == shape(order)
    for number, changed in enumerate(
        (
            {**order, "status": "pending" if order["status"] != "pending" else "paid"},
            {**order, "billing_reason": "not-a-reason"},
            {**order, "currency": "xyz"},
            {**order, "net_amount": float(order["net_amount"])},
            {**order, "paid": int(order["paid"])},
            {**order, "discount_id": None if order["discount_id"] else "an-id"},
            {**order, "unknown_field": 1},
            {k: v for k, v in order.items() if k != "tax_amount"},
            {**order, "customer": {**order["customer"], "email": None}},
        )
    ):
        assert shape(changed) != shape(order), number
