"""Revoke, introspect, userinfo, discovery and dynamic client registration over loopback HTTP."""

from tests.connectors.polar_emulator.conftest import REDIRECT_URI, OAuthHelper


def _client_form(oauth: OAuthHelper, **data: str) -> dict[str, str]:
    return {
        "client_id": oauth.running.client_id,
        "client_secret": oauth.running.client_secret,
        **data,
    }


def test_introspection_describes_a_live_token(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    info = oauth.http.post(
        "/v1/oauth2/introspect", data=_client_form(oauth, token=tokens["access_token"])
    ).json()
    assert info["active"] is True
    assert info["client_id"] == info["aud"] == oauth.running.client_id
    assert info["sub"] == oauth.running.state.world.primary_user_id
    assert (info["sub_type"], info["token_type"], info["iss"]) == (
        "user",
        "Bearer",
        "https://polar.sh",
    )
    assert info["organizations"] == [] and info["scope"] == tokens["scope"]
    assert info["exp"] - info["iat"] == 864000


def test_refresh_token_introspects_inactive_once_access_part_expired(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    oauth.http.post("/__emulator__/expire-access-tokens")
    info = oauth.http.post(
        "/v1/oauth2/introspect", data=_client_form(oauth, token=tokens["refresh_token"])
    )
    assert info.json() == {"active": False}
    assert oauth.refresh(tokens["refresh_token"]).status_code == 200  # still usable


def test_revoking_unknown_token_is_200_empty(oauth: OAuthHelper) -> None:
    response = oauth.http.post(
        "/v1/oauth2/revoke", data=_client_form(oauth, token="polar_at_u_nope")
    )
    assert (response.status_code, response.json()) == (200, {})


def test_revoking_access_token_disables_its_refresh_token_too(
    oauth: OAuthHelper, auth_header
) -> None:
    tokens = oauth.connect()
    oauth.http.post(
        "/v1/oauth2/revoke",
        data=_client_form(oauth, token=tokens["access_token"], token_type_hint="access_token"),
    )
    assert (
        oauth.http.get(
            "/v1/oauth2/userinfo", headers=auth_header(tokens["access_token"])
        ).status_code
        == 401
    )
    assert oauth.refresh(tokens["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revoke_with_bad_hint_and_other_clients_token(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    bad_hint = oauth.http.post(
        "/v1/oauth2/revoke",
        data=_client_form(oauth, token=tokens["access_token"], token_type_hint="id_token"),
    )
    assert bad_hint.json()["error"] == "unsupported_token_type"
    other = oauth.http.post(
        "/v1/oauth2/register", json={"client_name": "Other", "redirect_uris": [REDIRECT_URI]}
    ).json()
    response = oauth.http.post(
        "/v1/oauth2/revoke",
        data={
            "token": tokens["refresh_token"],
            "client_id": other["client_id"],
            "client_secret": other["client_secret"],
        },
    )
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


def test_userinfo_gives_email_only_with_the_email_scope(oauth: OAuthHelper, auth_header) -> None:
    with_email = oauth.connect(scope="openid email")
    without = oauth.connect(scope="openid metrics:read")
    user_id = oauth.running.state.world.primary_user_id
    user = oauth.running.state.world.users[user_id]
    full = oauth.http.get("/v1/oauth2/userinfo", headers=auth_header(with_email["access_token"]))
    assert full.json() == {
        "sub": user_id,
        "email": user.email,
        "email_verified": user.email_verified,
    }
    posted = oauth.http.post("/v1/oauth2/userinfo", headers=auth_header(without["access_token"]))
    assert posted.json() == {"sub": user_id}


def test_userinfo_without_token_is_401(oauth: OAuthHelper) -> None:
    response = oauth.http.get("/v1/oauth2/userinfo")
    assert response.status_code == 401


def test_discovery_document_points_at_this_server(oauth: OAuthHelper) -> None:
    document = oauth.http.get("/.well-known/openid-configuration").json()
    base = oauth.running.base_url
    assert document["issuer"] == "https://polar.sh"
    assert document["authorization_endpoint"] == f"{base}/oauth2/authorize"
    assert document["token_endpoint"] == f"{base}/v1/oauth2/token"
    assert document["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert document["code_challenge_methods_supported"] == ["plain", "S256"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]
    assert "organization_access_tokens:read" not in document["scopes_supported"]
    assert "metrics:read" in document["scopes_supported"]


def test_registration_lifecycle(oauth: OAuthHelper, auth_header) -> None:
    created = oauth.http.post(
        "/v1/oauth2/register",
        json={"client_name": "My app", "redirect_uris": [REDIRECT_URI], "scope": "metrics:read"},
    )
    assert created.status_code == 201
    client = created.json()
    assert client["client_id"].startswith("polar_ci_")
    assert client["client_secret"].startswith("polar_cs_")
    assert client["registration_access_token"].startswith("polar_crt_")
    assert client["token_endpoint_auth_method"] == "client_secret_post"
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    path = f"/v1/oauth2/register/{client['client_id']}"
    registration = auth_header(client["registration_access_token"])
    assert oauth.http.get(path, headers=registration).json()["client_name"] == "My app"
    assert oauth.http.get(path, headers=auth_header("polar_crt_wrong")).status_code == 401
    updated = oauth.http.put(
        path,
        headers=registration,
        json={
            "client_id": client["client_id"],
            "client_name": "Renamed",
            "redirect_uris": [REDIRECT_URI],
        },
    )
    assert updated.json()["client_name"] == "Renamed"
    assert oauth.http.delete(path, headers=registration).status_code == 204
    assert oauth.http.get(path, headers=registration).status_code == 401


def test_public_client_registration_has_no_secret(oauth: OAuthHelper) -> None:
    client = oauth.http.post(
        "/v1/oauth2/register",
        json={
            "client_name": "CLI",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        },
    ).json()
    assert "client_secret" not in client and "client_secret_expires_at" not in client


def test_registration_validation_uses_polars_422_shape(oauth: OAuthHelper) -> None:
    response = oauth.http.post(
        "/v1/oauth2/register", json={"redirect_uris": ["http://example.com/cb"]}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "RequestValidationError"
    locations = {tuple(issue["loc"]) for issue in body["detail"]}
    assert ("body", "client_name") in locations
    assert ("body", "redirect_uris", 0) in locations
    messages = {issue["msg"] for issue in body["detail"]}
    assert "Value error, An HTTPS URL is required." in messages
