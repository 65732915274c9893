"""The five entity list endpoints over loopback HTTP: pages, sorting, scopes, organizations.

Filters are in test_entities_filters.py; agreement with the metrics and Polar's schema in
test_entities_match_metrics.py.
"""

import math

import pytest

from tests.connectors.polar_emulator.entity_checks import fetch_all
from tests.connectors.polar_emulator.sim_fixtures import api_session

ENDPOINTS = {  # endpoint -> (scopes it accepts, default order key)
    "orders": ("orders:read", "created_at"),
    "subscriptions": ("subscriptions:read subscriptions:write", "started_at"),
    "customers": ("customers:read customers:write", "created_at"),
    "products": ("products:read products:write", "created_at"),
    "refunds": ("refunds:read refunds:write", "created_at"),
}


def test_pages_tile_the_list_and_limits_are_clamped(start_emulator):
    with api_session(start_emulator, scenario="many", orgs=1) as api:
        full = api.http.get("/v1/products/", params={"limit": 100}).json()
        pages = [
            api.http.get("/v1/products/", params={"limit": 3, "page": p}).json() for p in (1, 2, 3)
        ]
        beyond = api.http.get("/v1/products/", params={"limit": 3, "page": 99}).json()
        clamped = api.http.get("/v1/orders/", params={"limit": 5000}).json()
        empty = api.http.get(
            "/v1/refunds/", params={"organization_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}
        ).json()
    total = full["pagination"]["total_count"]
    assert full["pagination"] == {"total_count": total, "max_page": 1} and total == len(
        full["items"]
    )
    assert pages[0]["pagination"] == {"total_count": total, "max_page": math.ceil(total / 3)}
    assert [i["id"] for p in pages for i in p["items"]] == [i["id"] for i in full["items"][:9]]
    assert beyond["items"] == [] and beyond["pagination"]["total_count"] == total
    assert len(clamped["items"]) == 100
    assert clamped["pagination"]["max_page"] == math.ceil(
        clamped["pagination"]["total_count"] / 100
    )
    assert empty == {"items": [], "pagination": {"total_count": 0, "max_page": 0}}


@pytest.mark.parametrize("params", [{"page": "0"}, {"limit": "0"}, {"limit": "ten"}])
def test_bad_page_or_limit_is_polars_422(start_emulator, params):
    with api_session(start_emulator, scenario="many", orgs=1) as api:
        response = api.http.get("/v1/orders/", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "RequestValidationError"
    (item,) = body["detail"]
    assert item["loc"] == ["query", next(iter(params))]
    assert item["type"] in ("greater_than", "int_parsing")


def test_unknown_sorting_key_is_an_enum_422(start_emulator):
    with api_session(start_emulator, scenario="many", orgs=1) as api:
        response = api.http.get("/v1/refunds/", params={"sorting": ["-amount", "size"]})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["type"] == "enum" and item["loc"] == ["query", "sorting", 1]
    assert item["input"] == "size"
    assert item["msg"] == "Input should be 'created_at', '-created_at', 'amount' or '-amount'"


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_token_without_the_scope_gets_polars_403(start_emulator, endpoint):
    with api_session(start_emulator, scenario="many", orgs=1, scope="openid metrics:read") as api:
        response = api.http.get(f"/v1/{endpoint}/", params={"sorting": "bogus"})  # 403 before 422
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": (
            "The request requires higher privileges than provided by the access token."
        ),
    }
    assert f'scope="{ENDPOINTS[endpoint][0]}"' in response.headers["www-authenticate"]


def test_each_endpoint_accepts_only_its_own_scope(start_emulator):
    with api_session(start_emulator, scenario="many", orgs=1, scope="openid products:read") as api:
        assert api.http.get("/v1/products/").status_code == 200
        assert api.http.get("/v1/orders/").status_code == 403


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_default_order_is_newest_first(start_emulator, endpoint):
    key = ENDPOINTS[endpoint][1]
    with api_session(start_emulator, scenario="many", orgs=2) as api:
        items = api.http.get(f"/v1/{endpoint}/", params={"limit": 100}).json()["items"]
    values = [item[key] for item in items]
    assert len(values) > 10 and values == sorted(values, reverse=True)


def test_organizations_are_isolated(start_emulator):
    with api_session(start_emulator) as api:  # default: 3 visible, 2 blocked, 1 foreign
        world = api.world
        visible = set(api.visible_ids())
        everyone = set(world.organizations)
        products = fetch_all(api.http, "products")
        foreign = sorted(everyone - visible)
        filtered = api.http.get("/v1/orders/", params={"organization_id": foreign}).json()
        one = sorted(visible)[0]
        only_one = fetch_all(api.http, "products", organization_id=one)
    assert {p["organization_id"] for p in products} == visible
    assert filtered["pagination"]["total_count"] == 0
    assert {p["organization_id"] for p in only_one} == {one}


def test_token_down_scoped_to_one_organization_sees_only_its_entities(start_emulator):
    with api_session(start_emulator, authorize={"sub_type": "organization"}) as api:
        (org_id,) = api.visible_ids()
        customers = api.http.get("/v1/customers/", params={"limit": 100}).json()["items"]
        products = fetch_all(api.http, "products")
    assert {c["organization_id"] for c in customers} == {org_id}
    assert {p["organization_id"] for p in products} == {org_id}
