"""`--accounts N`: several Polar users on one emulator, chosen with OIDC `login_hint`, sharing
one rate-limit bucket per OAuth client (as Polar's is per app, not per account)."""

import time

import httpx
import pytest

from connectors.polar_emulator.business.world import build_world
from connectors.polar_emulator.cli import build_parser, config_from_args
from connectors.polar_emulator.config import EmulatorConfig
from tests.connectors.polar_emulator.conftest import OAuthHelper, StartEmulator, bearer


def _organization_ids(http: httpx.Client, token: str) -> set[str]:
    response = http.get("/v1/organizations/", params={"limit": 100}, headers=bearer(token))
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_a_thousand_accounts_build_at_once_each_with_its_own_organizations() -> None:
    """Extra accounts are cheap (histories stay lazy) and deterministic per seed; every account
    owns 1-3 organizations nobody else can see."""
    started = time.perf_counter()
    world = build_world(EmulatorConfig(scenario="single", accounts=1000))
    elapsed = time.perf_counter() - started
    extra = [user for user in world.users.values() if user.id != world.primary_user_id]
    assert len(extra) == 999 and elapsed < 10
    assert {len(user.organization_ids) for user in extra} == {1, 2, 3}
    owned = [org_id for user in world.users.values() for org_id in user.organization_ids]
    assert len(owned) == len(set(owned)) == len(world.organizations)
    again = build_world(EmulatorConfig(scenario="single", accounts=1000))
    assert sorted(again.organizations) == sorted(world.organizations)
    assert world.user_for_login("ACCOUNT-7@example.com") == next(
        user.id for user in extra if user.email == "account-7@example.com"
    )


def test_login_hint_chooses_who_approves_and_whose_organizations_the_token_sees(
    start_emulator: StartEmulator,
) -> None:
    running = start_emulator(scenario="single", accounts=3)
    world = running.state.world
    with httpx.Client(base_url=running.base_url, timeout=10) as http:
        oauth = OAuthHelper(running, http)
        for hint in ("account-2@example.com", "account-3@example.com"):
            user = world.users[world.user_for_login(hint)]
            token = oauth.connect(login_hint=hint)["access_token"]
            assert _organization_ids(http, token) == set(user.organization_ids)
            userinfo = http.get("/v1/oauth2/userinfo", headers=bearer(token)).json()
            assert userinfo["email"] == hint
        primary = world.users[world.primary_user_id]
        token = oauth.connect()["access_token"]
        assert _organization_ids(http, token) == set(primary.organization_ids)


def test_an_unknown_login_hint_is_login_required_naming_the_hint(oauth: OAuthHelper) -> None:
    params = oauth.redirect_params(oauth.authorize(login_hint="nobody@example.com"))
    assert params["error"] == "login_required"
    assert "'nobody@example.com'" in params["error_description"]
    assert params["state"] == "st4te"


def test_the_consent_page_signs_in_the_hinted_user_and_carries_the_hint(
    start_emulator: StartEmulator,
) -> None:
    running = start_emulator(scenario="single", accounts=2, auto_approve=False)
    world = running.state.world
    account = world.users[world.user_for_login("account-2@example.com")]
    with httpx.Client(base_url=running.base_url, timeout=10) as http:
        oauth = OAuthHelper(running, http)
        page = oauth.authorize(login_hint="account-2@example.com")
        assert "Signed in as <strong>account-2@example.com</strong>" in page.text
        assert 'name="login_hint" value="account-2@example.com"' in page.text
        for org_id in account.organization_ids:
            assert org_id in page.text
        for org_id in world.users[world.primary_user_id].organization_ids:
            assert org_id not in page.text
        form = {
            "client_id": running.client_id,
            "redirect_uri": "http://127.0.0.1:8976/callback",
            "response_type": "code",
            "scope": "openid email organizations:read",
            "login_hint": "account-2@example.com",
            "action": "allow",
        }
        decision = http.post("/oauth2/authorize", data=form)
        code = OAuthHelper.redirect_params(decision)["code"]
        stored = running.state.tokens.find_code(code, running.client_id)
        assert stored is not None and stored.user_id == account.id


def test_the_rate_limit_is_one_bucket_per_oauth_client_across_accounts(
    start_emulator: StartEmulator,
) -> None:
    """Polar counts requests per OAuth app; two accounts of one app share its 5/min budget."""
    running = start_emulator(scenario="single", accounts=2, rate_limit_per_minute=5)
    with httpx.Client(base_url=running.base_url, timeout=10) as http:
        oauth = OAuthHelper(running, http)
        tokens = [
            oauth.connect()["access_token"],
            oauth.connect(login_hint="account-2@example.com")["access_token"],
        ]
        statuses = [
            http.get("/v1/organizations/", headers=bearer(tokens[i % 2])).status_code
            for i in range(6)
        ]
    assert statuses == [200] * 5 + [429]


def test_the_accounts_flag_reaches_the_config_and_rejects_zero() -> None:
    assert config_from_args(build_parser().parse_args(["--accounts", "4"])).accounts == 4
    with pytest.raises(ValueError, match="--accounts must be at least 1, not 0"):
        config_from_args(build_parser().parse_args(["--accounts", "0"]))
