"""Fault injection and the control paths, over real uvicorn on loopback."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.connectors.polar_emulator.conftest import OAuthHelper


def _userinfo(oauth: OAuthHelper, token: str) -> httpx.Response:
    return oauth.http.get("/v1/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_added_latency_delays_responses_without_serialising_them(oauth: OAuthHelper) -> None:
    oauth.faults(latency_ms=300)
    url = f"{oauth.running.base_url}/.well-known/openid-configuration"
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: httpx.get(url).status_code, range(4)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 4
    assert 0.3 <= elapsed < 1.0  # four concurrent 300 ms responses overlap


def test_fail_next_serves_n_failures_on_matching_paths_only(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    oauth.faults(fail_next={"count": 2, "status": 503, "path_prefix": "/v1/oauth2/userinfo"})
    assert oauth.http.get("/.well-known/openid-configuration").status_code == 200
    statuses = [_userinfo(oauth, tokens["access_token"]).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert oauth.stats()["injected_failures"] == 2


def test_injected_429_is_empty_with_retry_after(oauth: OAuthHelper) -> None:
    oauth.faults(fail_next={"count": 1, "status": 429, "retry_after": 7})
    response = oauth.http.get("/v1/oauth2/userinfo")
    assert (response.status_code, response.content) == (429, b"")
    assert response.headers["retry-after"] == "7"
    assert oauth.stats()["rate_limited"] == 1


def test_malformed_json_next_truncates_a_200_body(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    oauth.faults(malformed_json_next={"count": 1})
    broken = _userinfo(oauth, tokens["access_token"])
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    assert _userinfo(oauth, tokens["access_token"]).json()["sub"]


def test_timeout_next_stalls_until_the_client_gives_up(oauth: OAuthHelper) -> None:
    oauth.faults(timeout_next={"count": 1, "seconds": 2, "path_prefix": "/.well-known/"})
    with pytest.raises(httpx.ReadTimeout):
        oauth.http.get("/.well-known/openid-configuration", timeout=0.3)
    assert oauth.http.get("/.well-known/openid-configuration").status_code == 200


def test_dropped_refresh_response_is_already_committed(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    oauth.faults(drop_after_refresh_next=1)
    with pytest.raises(httpx.RemoteProtocolError):
        oauth.refresh(tokens["refresh_token"])
    # The rotation happened server-side: the old pair is dead although the client got nothing.
    assert oauth.refresh(tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert _userinfo(oauth, tokens["access_token"]).status_code == 401
    stats = oauth.stats()
    assert stats["dropped_connections"] == 1
    assert stats["token_exchanges"]["refresh_token"] == 1
    assert stats["invalid_grant"] == 1


def test_failing_organization_fails_requests_that_include_it(oauth: OAuthHelper) -> None:
    async def probe(request: Request) -> JSONResponse:
        request.app.state.emulator.faults.check_organizations(request.query_params.getlist("org"))
        return JSONResponse({"ok": True})

    oauth.running.app.router.routes.append(Route("/v1/org-probe/", probe))
    oauth.faults(fail_organization={"organization_id": "org-b", "status": 502, "count": 1})
    assert oauth.http.get("/v1/org-probe/?org=org-a").status_code == 200
    assert oauth.http.get("/v1/org-probe/?org=org-a&org=org-b").status_code == 502
    assert oauth.http.get("/v1/org-probe/?org=org-b").status_code == 200  # count used up
    oauth.faults(fail_organization={"organization_id": "org-b", "status": 500, "count": None})
    assert [oauth.http.get("/v1/org-probe/?org=org-b").status_code for _ in range(3)] == [500] * 3


def test_access_token_lifetime_override_applies_to_both_grants(oauth: OAuthHelper) -> None:
    oauth.faults(access_token_lifetime=5)
    first = oauth.connect()
    assert first["expires_in"] == 5
    assert oauth.refresh(first["refresh_token"]).json()["expires_in"] == 5
    oauth.faults(access_token_lifetime=None)
    assert oauth.connect()["expires_in"] == 864000


def test_rate_limit_can_be_changed_at_run_time(oauth: OAuthHelper) -> None:
    oauth.faults(rate_limit_per_minute=2)
    statuses = [oauth.http.get("/v1/oauth2/userinfo").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    oauth.faults(rate_limit_per_minute=None)
    assert oauth.http.get("/v1/oauth2/userinfo").status_code == 401


def test_delete_faults_clears_everything(oauth: OAuthHelper) -> None:
    oauth.faults(fail_next={"count": 5, "status": 500}, latency_ms=200)
    assert oauth.http.delete("/__emulator__/faults").status_code == 200
    started = time.monotonic()
    assert oauth.http.get("/v1/oauth2/userinfo").status_code == 401
    assert time.monotonic() - started < 0.2


def test_revoke_all_kills_every_token(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    assert oauth.http.post("/__emulator__/revoke-all").json() == {"revoked": 1}
    assert _userinfo(oauth, tokens["access_token"]).status_code == 401
    assert oauth.refresh(tokens["refresh_token"]).json() == {"error": "invalid_grant"}


def test_stats_count_requests_per_endpoint_and_reset(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    oauth.refresh(tokens["refresh_token"])
    oauth.refresh(tokens["refresh_token"])
    stats = oauth.stats()
    assert stats["requests"]["POST /v1/oauth2/token"] == 3
    assert stats["requests"]["GET /oauth2/authorize"] == 1
    assert stats["token_exchanges"] == {"authorization_code": 1, "refresh_token": 1}
    assert stats["invalid_grant"] == 1
    assert not any(key.startswith("GET /__emulator__") for key in stats["requests"])
    oauth.http.post("/__emulator__/stats/reset")
    assert oauth.stats()["token_exchanges"] == {"authorization_code": 0, "refresh_token": 0}


def test_organizations_can_be_added_and_blocked(oauth: OAuthHelper) -> None:
    world = oauth.running.state.world
    created = oauth.http.post(
        "/__emulator__/organizations", json={"name": "Gamma", "status": "active", "currency": "usd"}
    )
    assert created.status_code == 201
    org_id = created.json()["id"]
    visible = lambda: {o.id for o in world.visible_organizations(world.primary_user_id, [])}  # noqa: E731
    assert org_id in visible()
    patched = oauth.http.patch(f"/__emulator__/organizations/{org_id}", json={"status": "blocked"})
    assert patched.json()["status"] == "blocked"
    assert org_id not in visible()


def test_client_control_path_shows_id_but_never_the_secret(oauth: OAuthHelper) -> None:
    response = oauth.http.get("/__emulator__/client")
    assert response.json()["client_id"] == oauth.running.client_id
    assert oauth.running.client_secret not in response.text


def test_bad_fault_settings_are_refused_with_the_reason(oauth: OAuthHelper) -> None:
    response = oauth.http.post("/__emulator__/faults", json={"fail_next": {"status": 404}})
    assert response.status_code == 400
    assert "fail_next.status must be one of" in response.json()["detail"]
    unknown = oauth.http.post("/__emulator__/faults", json={"explode": True})
    assert "unknown fault setting(s): explode" in unknown.json()["detail"]


def test_failing_organization_breaks_metrics_calls_that_include_it(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    org_ids = [
        org["id"] for org in oauth.http.get("/v1/organizations/", headers=headers).json()["items"]
    ]
    assert len(org_ids) >= 2
    oauth.faults(fail_organization={"organization_id": org_ids[0], "status": 500, "count": None})

    def metrics(org_id: str) -> int:
        params = {
            "organization_id": org_id,
            "start_date": "2026-01-01",
            "end_date": "2026-01-07",
            "interval": "day",
        }
        return oauth.http.get("/v1/metrics/", params=params, headers=headers).status_code

    assert (metrics(org_ids[0]), metrics(org_ids[1])) == (500, 200)


def test_short_lived_tokens_expire_in_real_time_even_with_a_fixed_now(start_emulator) -> None:
    running = start_emulator(now=datetime(2026, 6, 1, 12, tzinfo=UTC))
    with httpx.Client(base_url=running.base_url, timeout=10) as http:
        helper = OAuthHelper(running, http)
        helper.faults(access_token_lifetime=1)
        tokens = helper.connect()
        assert _userinfo(helper, tokens["access_token"]).status_code == 200
        time.sleep(1.1)
        assert _userinfo(helper, tokens["access_token"]).status_code == 401
        assert helper.refresh(tokens["refresh_token"]).status_code == 200
