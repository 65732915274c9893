"""`GET /v1/organizations/` over real loopback HTTP: envelope, pagination, statuses, scopes."""

import uuid

from tests.connectors.polar_emulator.sim_fixtures import api_session

ALL_STATUSES = ("created", "review", "snoozed", "denied", "active", "offboarding", "offboarded")
ORGANIZATION_FIELDS = {
    "id",
    "created_at",
    "modified_at",
    "name",
    "slug",
    "avatar_url",
    "proration_behavior",
    "allow_customer_updates",
    "email",
    "website",
    "socials",
    "status",
    "details_submitted_at",
    "onboarding_resubmission_requested_at",
    "sso_enforced",
    "default_presentment_currency",
    "default_tax_behavior",
    "feature_settings",
    "subscription_settings",
    "customer_email_settings",
    "customer_portal_settings",
    "dispute_settings",
    "embed_hosts",
    "embed_hosts_enforced",
    "country",
    "account_id",
    "payout_account_id",
    "capabilities",
}


def test_default_scenario_lists_three_organizations_oldest_first(start_emulator):
    with api_session(start_emulator) as api:
        body = api.organizations().json()
    assert body["pagination"] == {"total_count": 3, "max_page": 1}
    summary = [(o["status"], o["default_presentment_currency"]) for o in body["items"]]
    assert summary == [("active", "usd"), ("active", "eur"), ("review", "usd")]
    created = [item["created_at"] for item in body["items"]]
    assert created == sorted(created)


def test_items_carry_the_organization_schema_fields(start_emulator):
    with api_session(start_emulator) as api:
        items = api.organizations().json()["items"]
    for item in items:
        assert ORGANIZATION_FIELDS <= set(item), ORGANIZATION_FIELDS - set(item)
        assert uuid.UUID(item["id"]).version == 4
        assert item["created_at"].endswith("Z")
        assert item["capabilities"]["api_access"] is True
        assert item["default_presentment_currency"].islower()


def test_blocked_organizations_are_invisible(start_emulator):
    with api_session(start_emulator) as api:
        members = api.world.users[api.world.primary_user_id].organization_ids
        blocked = {i for i in members if api.world.organizations[i].status == "blocked"}
        listed = set(api.visible_ids())
        assert blocked and not blocked & listed
        some = next(iter(listed))
        api.running.state.world.set_organization_status(some, "blocked")
        assert some not in api.visible_ids()


def test_every_status_but_blocked_is_listed_with_its_capabilities(start_emulator):
    with api_session(start_emulator, scenario="empty") as api:
        for status in (*ALL_STATUSES, "blocked"):
            api.world.add_organization(f"Org {status}", status, "usd")
        items = api.organizations(limit=100).json()["items"]
    by_status = {item["status"]: item for item in items}
    assert sorted(by_status) == sorted(ALL_STATUSES)
    assert by_status["created"]["capabilities"]["checkout_payments"] is False
    assert by_status["offboarding"]["capabilities"]["payouts"] is False
    assert by_status["offboarded"]["capabilities"]["payouts"] is True
    assert all(item["capabilities"]["api_access"] for item in items)


def test_pages_split_the_list_and_limit_over_100_is_clamped(start_emulator):
    with api_session(start_emulator, scenario="many", orgs=105) as api:
        first = api.organizations(page=1, limit=40).json()
        third = api.organizations(page=3, limit=40).json()
        beyond = api.organizations(page=9, limit=40).json()
        clamped = api.organizations(limit=500).json()
    assert first["pagination"] == {"total_count": 105, "max_page": 3}
    assert len(first["items"]) == 40 and len(third["items"]) == 25
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in third["items"]}
    assert beyond["items"] == [] and beyond["pagination"]["total_count"] == 105
    assert len(clamped["items"]) == 100
    assert clamped["pagination"] == {"total_count": 105, "max_page": 2}


def test_default_limit_is_ten(start_emulator):
    with api_session(start_emulator, scenario="many", orgs=12) as api:
        body = api.organizations().json()
    assert len(body["items"]) == 10 and body["pagination"]["max_page"] == 2


def test_empty_account_has_zero_pages(start_emulator):
    with api_session(start_emulator, scenario="empty") as api:
        assert api.organizations().json() == {
            "items": [],
            "pagination": {"total_count": 0, "max_page": 0},
        }


def test_slug_filter_matches_exactly(start_emulator):
    with api_session(start_emulator) as api:
        hit = api.organizations(slug="nordlicht-software").json()
        miss = api.organizations(slug="nordlicht").json()
    assert [item["name"] for item in hit["items"]] == ["Nordlicht Software"]
    assert miss["pagination"]["total_count"] == 0


def test_sorting_by_name_descending_and_by_slug(start_emulator):
    with api_session(start_emulator) as api:
        by_name = [i["name"] for i in api.organizations(sorting="-name").json()["items"]]
        by_slug = [i["slug"] for i in api.organizations(sorting="slug").json()["items"]]
    assert by_name == sorted(by_name, reverse=True)
    assert by_slug == sorted(by_slug)


def test_invalid_sorting_is_an_enum_422(start_emulator):
    with api_session(start_emulator) as api:
        response = api.organizations(sorting="size")
    assert response.status_code == 422
    item = response.json()["detail"][0]
    assert response.json()["error"] == "RequestValidationError"
    assert item["type"] == "enum" and item["loc"] == ["query", "sorting", 0]
    assert item["input"] == "size" and "'-created_at'" in item["msg"]


def test_page_and_limit_must_be_positive(start_emulator):
    with api_session(start_emulator) as api:
        response = api.organizations(page=0, limit="ten")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "greater_than",
            "loc": ["query", "page"],
            "msg": "Input should be greater than 0",
            "input": "0",
            "ctx": {"gt": 0},
        },
        {
            "type": "int_parsing",
            "loc": ["query", "limit"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "ten",
        },
    ]


def test_token_down_scoped_to_one_organization_lists_only_it(start_emulator):
    with api_session(start_emulator, authorize={"sub_type": "organization"}) as api:
        ids = api.visible_ids()
        visible_all = api.world.visible_organizations(api.world.primary_user_id, [])
    assert len(ids) == 1 and ids[0] == min(org.id for org in visible_all)


def test_token_without_organization_scope_gets_403(start_emulator):
    with api_session(start_emulator, scope="openid metrics:read") as api:
        response = api.organizations()
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'scope="organizations:read organizations:write"' in response.headers["www-authenticate"]
