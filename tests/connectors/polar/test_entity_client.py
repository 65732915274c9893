"""The entity client against a fake Polar over loopback: paging, filters, sorting, errors."""

import dataclasses
import importlib
import typing
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from connectors.polar.entities import (
    ENDPOINTS,
    EntityClient,
    EntityPage,
    EntityQuery,
    MissingScopeError,
    parse_datetime,
)
from connectors.polar.errors import EndpointNotServedError
from tests.connectors.polar.scripted import ScriptedPolar, json_response
from tests.connectors.polar_emulator.polar_schema import HIDDEN_FIELDS
from tests.fake_polar.fixtures import FakePolar, fake_polar, seeded_world

SORT_KEY = {"subscriptions": "started_at"}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePolar]:
    """One organization with 80 days of business (more than one page of most entities)."""
    with fake_polar(seeded_world(organizations=1, days=80)) as served:
        yield served


def listed(fake: FakePolar, entity: str) -> list[dict]:
    """What Polar lists for the organization: no deleted items, no never-started subscription."""
    org = next(iter(fake.world.organizations.values()))
    return [
        r
        for r in getattr(org, entity).values()
        if not r.get("deleted_at") and not r.get("deleted") and r.get("started_at", 1)
    ]


@pytest.mark.parametrize("entity", list(ENDPOINTS))
def test_every_endpoint_pages_through_every_item_oldest_first(fake: FakePolar, entity: str) -> None:
    key = SORT_KEY.get(entity, "created_at")
    org_id = fake.organizations()[0].id
    fake.world.requests.clear()
    with fake.client() as client:
        pages = list(EntityClient(client).pages(ENDPOINTS[entity], EntityQuery(org_id, (key,))))
        requests = EntityClient(client).requests(ENDPOINTS[entity])
    items = [item for page in pages for item in page.items]
    assert sorted(i["id"] for i in items) == sorted(r["id"] for r in listed(fake, entity))
    times = [parse_datetime(i[key]) for i in items]
    assert times == sorted(times)
    assert pages[-1].is_last and pages[0].total_count == len(items) == len(
        set(i["id"] for i in items)
    )
    assert requests == len(pages) == max(1, -(-len(items) // 100))
    sent = fake.requests(entity)[0]
    assert (sent["organization_id"], sent["sorting"], sent["limit"]) == ([org_id], [key], ["100"])


def test_time_filters_are_sent_as_iso_utc_and_applied_strictly(fake: FakePolar) -> None:
    org_id = fake.organizations()[0].id
    orders = sorted(listed(fake, "orders"), key=lambda o: o["created_at"])
    boundary = orders[50]["created_at"]
    query = EntityQuery(org_id, ("created_at",)).where(created_after=boundary)
    with fake.client() as client:
        items = [i for p in EntityClient(client).pages(ENDPOINTS["orders"], query) for i in p.items]
    assert [i["id"] for i in items] == [o["id"] for o in orders[51:]]  # strictly after
    sent = fake.requests("orders")[-1]["created_after"][0]
    assert sent.endswith("Z") and len(sent) == len("2025-01-01T00:00:00.000000Z")


def test_multi_value_filters_are_repeated_keys(fake: FakePolar) -> None:
    org_id = fake.organizations()[0].id
    query = EntityQuery(org_id, ("started_at",)).where(status=("active", "trialing"))
    with fake.client() as client:
        items = [
            i
            for p in EntityClient(client).pages(ENDPOINTS["subscriptions"], query)
            for i in p.items
        ]
    assert {i["status"] for i in items} <= {"active", "trialing"} and items
    assert fake.requests("subscriptions")[-1]["status"] == ["active", "trialing"]


def test_canceled_at_after_is_inclusive_like_polar(fake: FakePolar) -> None:
    org_id = fake.organizations()[0].id
    canceled = [s for s in listed(fake, "subscriptions") if s["canceled_at"]]
    earliest = min(s["canceled_at"] for s in canceled)
    query = EntityQuery(org_id, ("started_at",)).where(canceled_at_after=earliest)
    with fake.client() as client:
        items = [
            i
            for p in EntityClient(client).pages(ENDPOINTS["subscriptions"], query)
            for i in p.items
        ]
    assert len(items) == len(canceled)


def test_item_at_reads_one_position_with_a_single_item_page(fake: FakePolar) -> None:
    org_id = fake.organizations()[0].id
    query = EntityQuery(org_id, ("created_at",))
    with fake.client() as client:
        entities = EntityClient(client)
        first_page = entities.page(ENDPOINTS["customers"], query, 1)
        probed = entities.item_at(ENDPOINTS["customers"], query, 99)
    assert probed is not None and probed["id"] == first_page.items[99]["id"]
    assert fake.requests("customers")[-1]["limit"] == ["1"]


def test_missing_scope_is_a_typed_error_naming_the_scope_and_the_fix(fake: FakePolar) -> None:
    fake.world.denied_scopes.add("refunds:read")
    try:
        with fake.client() as client, pytest.raises(MissingScopeError) as raised:
            EntityClient(client).page(ENDPOINTS["refunds"], EntityQuery("x"), 1)
    finally:
        fake.world.denied_scopes.clear()
    assert raised.value.scope == "refunds:read" and raised.value.status_code == 403
    assert "polar-metrics connect" in str(raised.value) and "`refunds:read`" in str(raised.value)


def test_an_unserved_endpoint_is_a_typed_error_not_a_retry() -> None:
    scripted = ScriptedPolar([json_response(404, {"detail": "Not Found"})])
    with scripted.client() as client, pytest.raises(EndpointNotServedError, match="does not serve"):
        EntityClient(client).page(ENDPOINTS["orders"], EntityQuery("x"), 1)
    assert len(scripted.requests) == 1


def test_requests_are_counted_per_entity_retries_included() -> None:
    body = {
        "items": [{"id": "a", "created_at": "2025-01-01T00:00:00Z"}],
        "pagination": {"total_count": 1, "max_page": 1},
    }
    scripted = ScriptedPolar([httpx.Response(503), json_response(200, body)])
    with scripted.client() as client:
        entities = EntityClient(client)
        entities.page(ENDPOINTS["orders"], EntityQuery("x"), 1)
        assert (
            entities.requests(ENDPOINTS["orders"]),
            entities.requests(ENDPOINTS["refunds"]),
        ) == (2, 0)


def test_items_keep_unknown_fields_and_items_without_id_are_dropped() -> None:
    body = {
        "items": [{"id": "a", "brand_new_field": {"x": 1}}, {"no_id": True}],
        "pagination": {"total_count": 2, "max_page": 1},
    }
    page = EntityPage.from_api(ENDPOINTS["orders"], 1, 100, body)
    assert page.items == [{"id": "a", "brand_new_field": {"x": 1}}]
    assert page.is_last


def test_query_where_skips_none_and_formats_values() -> None:
    from datetime import UTC, datetime

    moment = datetime(2025, 3, 1, 12, 0, tzinfo=UTC) + timedelta(microseconds=5)
    query = EntityQuery("org", ("-created_at",)).where(
        created_after=moment, created_before=None, is_archived=False, customer_id=["a", "b"]
    )
    assert query.params(2, 50) == [
        ("organization_id", "org"),
        ("created_after", "2025-03-01T12:00:00.000005Z"),
        ("is_archived", "false"),
        ("customer_id", "a"),
        ("customer_id", "b"),
        ("sorting", "-created_at"),
        ("page", "2"),
        ("limit", "50"),
    ]


def _sdk_fields(model: object) -> frozenset[str]:
    """Every field of an SDK output model (a dataclass, or a union of them such as Customer)."""
    if dataclasses.is_dataclass(model):
        return frozenset(f.name for f in dataclasses.fields(model))
    return frozenset().union(*(_sdk_fields(member) for member in typing.get_args(model)))


@pytest.mark.parametrize("api_version", ["v2026_04", "v2026_10", "v2027_01"])
@pytest.mark.parametrize("entity", list(ENDPOINTS))
def test_known_fields_are_polars_schema_so_no_false_drift(entity: str, api_version: str) -> None:
    """Every field of Polar's model (polar-sdk) is known, and the only extra known fields are the
    deprecated ones Polar serializes while hiding them from its OpenAPI schema."""
    outputs = importlib.import_module(f"polar.{api_version}.outputs")
    model = {
        "products": "Product",
        "customers": "Customer",
        "subscriptions": "Subscription",
        "orders": "Order",
        "refunds": "Refund",
    }[entity]
    sdk = _sdk_fields(getattr(outputs, model))
    known = ENDPOINTS[entity].known_fields
    assert sorted(sdk - known) == []
    assert known - sdk <= HIDDEN_FIELDS.get(model, frozenset())
