"""Issue 2 "done when": a standard OAuth library (Authlib, not our code) against the emulator."""

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from tests.connectors.polar_emulator.conftest import PRODUCT_SCOPES, REDIRECT_URI


def test_authlib_completes_pkce_refreshes_twice_and_replay_is_rejected(start_emulator) -> None:
    running = start_emulator(auto_approve=True)
    token_url = f"{running.base_url}/v1/oauth2/token"
    with OAuth2Client(
        client_id=running.client_id,
        client_secret=running.client_secret,
        scope=PRODUCT_SCOPES,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post",
    ) as client:
        verifier = generate_token(64)
        url, state = client.create_authorization_url(
            f"{running.base_url}/oauth2/authorize", code_verifier=verifier
        )
        # Play the browser: the auto-approving consent page redirects to the callback.
        redirect = httpx.get(url)
        assert redirect.status_code == 302
        first = client.fetch_token(
            token_url, authorization_response=redirect.headers["location"], code_verifier=verifier
        )
        assert first["access_token"].startswith("polar_at_u_") and first["expires_in"] == 864000
        second = client.refresh_token(token_url, refresh_token=first["refresh_token"])
        third = client.refresh_token(token_url, refresh_token=second["refresh_token"])
        assert third["expires_in"] == 3600
        assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
        try:
            client.refresh_token(token_url, refresh_token=first["refresh_token"])
            replay_error = None
        except OAuthError as error:
            replay_error = error.error
        userinfo = client.get(f"{running.base_url}/v1/oauth2/userinfo")
    assert replay_error == "invalid_grant"
    assert userinfo.status_code == 200  # the client's current token (from the 2nd refresh) works
    stats = httpx.get(f"{running.base_url}/__emulator__/stats").json()
    assert stats["token_exchanges"] == {"authorization_code": 1, "refresh_token": 2}
    assert stats["invalid_grant"] == 1
