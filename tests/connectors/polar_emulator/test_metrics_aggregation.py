"""Organizations summed server-side, foreign ids dropped, and the product/customer filters."""

import math

import numpy as np
import pytest

from connectors.polar.catalogue import metric_catalogue
from connectors.polar_emulator.api.metrics.service import customer_id
from tests.connectors.polar_emulator.sim_fixtures import FIXED_NOW, api_session, daily_window

ADDITIVE = [m.slug for m in metric_catalogue() if m.org_aggregation == "additive"]


def _series(body: dict, slug: str) -> list:
    return [period[slug] for period in body["periods"]]


def _active_ids(api) -> list[str]:
    return [
        org.id
        for org in api.world.organizations.values()
        if org.status == "active" and org.id in api.visible_ids()
    ]


def test_two_organizations_in_one_call_equal_the_sum_of_single_calls(start_emulator):
    with api_session(start_emulator) as api:
        first, second = _active_ids(api)
        window = daily_window(30)
        both = api.metrics_ok(organization_id=[first, second], **window)
        one = api.metrics_ok(organization_id=first, **window)
        two = api.metrics_ok(organization_id=second, **window)
    for slug in ADDITIVE:
        summed = np.add(_series(one, slug), _series(two, slug))
        assert np.allclose(_series(both, slug), summed, rtol=1e-9, atol=1), slug
    assert both["totals"]["revenue"] == one["totals"]["revenue"] + two["totals"]["revenue"]


def test_ratios_of_a_multi_organization_call_come_from_the_summed_parts(start_emulator):
    with api_session(start_emulator) as api:
        body = api.metrics_ok(organization_id=_active_ids(api), **daily_window(30))
    for period in body["periods"]:
        expected = (
            period["succeeded_checkouts"] / period["checkouts"] if period["checkouts"] else 0.0
        )
        assert period["checkouts_conversion"] == pytest.approx(expected)
        assert period["annual_recurring_revenue"] == 12 * period["monthly_recurring_revenue"]


def test_without_organization_id_every_accessible_organization_is_summed(start_emulator):
    with api_session(start_emulator) as api:
        window = daily_window(10)
        implicit = api.metrics_ok(**window)
        explicit = api.metrics_ok(organization_id=api.visible_ids(), **window)
    assert implicit == explicit


def test_foreign_blocked_and_unknown_ids_are_silently_dropped(start_emulator):
    with api_session(start_emulator) as api:
        world = api.world
        primary = world.users[world.primary_user_id]
        foreign = next(o for o in world.organizations if o not in primary.organization_ids)
        blocked = next(
            o for o in primary.organization_ids if world.organizations[o].status == "blocked"
        )
        unknown = "0b7b3f9e-0c3a-4a53-9a39-4a61f3c0b2a1"
        mine = _active_ids(api)[0]
        window = daily_window(10)
        only_others = api.metrics_ok(organization_id=[foreign, blocked, unknown], **window)
        mixed = api.metrics_ok(organization_id=[mine, foreign, unknown], **window)
        alone = api.metrics_ok(organization_id=mine, **window)
    assert all(value == 0 for value in only_others["totals"].values())
    assert len(only_others["periods"]) == 10
    assert mixed == alone


def test_down_scoped_token_only_reads_its_organization(start_emulator):
    with api_session(start_emulator, authorize={"sub_type": "organization"}) as api:
        (allowed,) = api.visible_ids()
        others = [
            o.id
            for o in api.world.visible_organizations(api.world.primary_user_id, [])
            if o.id != allowed
        ]
        window = daily_window(10)
        everything = api.metrics_ok(**window)
        scoped = api.metrics_ok(organization_id=allowed, **window)
        outside = api.metrics_ok(organization_id=others, **window)
    assert everything == scoped
    assert all(value == 0 for value in outside["totals"].values())


def test_billing_type_splits_revenue_into_one_time_and_recurring(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        window = daily_window(30)
        total = api.metrics_ok(**window)["totals"]
        one_time = api.metrics_ok(billing_type="one_time", **window)["totals"]
        recurring = api.metrics_ok(billing_type="recurring", **window)["totals"]
        both = api.metrics_ok(billing_type=["one_time", "recurring"], **window)["totals"]
    assert one_time["revenue"] == one_time["one_time_products_revenue"] > 0
    assert one_time["monthly_recurring_revenue"] == 0 and one_time["active_subscriptions"] == 0
    assert recurring["one_time_products"] == 0 and recurring["monthly_recurring_revenue"] > 0
    assert one_time["revenue"] + recurring["revenue"] == total["revenue"] == both["revenue"]


def test_product_filter_partitions_orders_and_revenue(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        window = daily_window(30)
        history = api.world.history(api.visible_ids()[0], FIXED_NOW)
        total = api.metrics_ok(**window)["totals"]
        per_product = [
            api.metrics_ok(product_id=product.id, **window)["totals"]
            for product in history.products
        ]
    assert sum(t["orders"] for t in per_product) == total["orders"]
    assert sum(t["revenue"] for t in per_product) == total["revenue"]
    assert sum(t["checkouts"] for t in per_product) == total["checkouts"]
    assert sum(1 for t in per_product if t["revenue"] > 0) >= 5


def test_customer_filter_keeps_only_that_customers_orders(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        window = daily_window(30)
        history = api.world.history(api.visible_ids()[0], FIXED_NOW)
        start = FIXED_NOW.timestamp() - 29 * 86400 - (FIXED_NOW.timestamp() % 86400)
        in_window = (history.orders.time >= start) & (history.orders.time <= FIXED_NOW.timestamp())
        buyer = int(history.orders.customer[in_window][0])
        expected = history.orders.amount_usd[in_window & (history.orders.customer == buyer)]
        body = api.metrics_ok(customer_id=customer_id(history, buyer), **window)["totals"]
        stranger = api.metrics_ok(customer_id="6c1c6f0e-2f4b-4a8e-9d55-3b1f0f0c7a11", **window)
    assert body["orders"] == expected.size
    assert body["revenue"] == int(expected.sum())
    assert all(value == 0 for value in stranger["totals"].values())


def test_average_order_value_is_the_rounded_up_ratio_per_period(start_emulator):
    with api_session(start_emulator, scenario="single") as api:
        body = api.metrics_ok(**daily_window(20))
    for period in body["periods"]:
        orders = period["orders"]
        expected = math.ceil(period["revenue"] / orders) if orders else 0
        assert period["average_order_value"] == expected
    totals = body["totals"]
    assert totals["average_order_value"] == pytest.approx(totals["revenue"] / totals["orders"])


def test_failing_organization_fault_only_breaks_calls_that_include_it(start_emulator):
    with api_session(start_emulator) as api:
        failing, healthy = _active_ids(api)
        fault = {"fail_organization": {"organization_id": failing, "status": 503}}
        assert api.http.post("/__emulator__/faults", json=fault).status_code == 200
        window = daily_window(5)
        alone = api.metrics(organization_id=failing, **window)
        together = api.metrics(organization_id=[healthy, failing], **window)
        implicit = api.metrics(**window)
        other = api.metrics(organization_id=healthy, **window)
    assert alone.status_code == together.status_code == implicit.status_code == 503
    assert other.status_code == 200
