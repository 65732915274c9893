"""The token endpoint over loopback HTTP: code grant, PKCE, client authentication, refresh."""

import base64
import json
import re
import zlib
from datetime import timedelta

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.connectors.polar_emulator.conftest import REDIRECT_URI, OAuthHelper, pkce_pair

TOKEN_SHAPE = r"[A-Za-z0-9]{37}[0-9A-Za-z]{6}"
CANNOT_AUTHENTICATE = (
    "The client cannot authenticate with methods: "
    "['client_secret_basic', 'client_secret_post', 'none']"
)


def _code_body(code: str, verifier: str | None) -> dict[str, str]:
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    return {**body, "code_verifier": verifier} if verifier else body


def test_code_exchange_gives_polar_shaped_user_tokens_valid_ten_days(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    assert re.fullmatch(f"polar_at_u_{TOKEN_SHAPE}", tokens["access_token"])
    assert re.fullmatch(f"polar_rt_u_{TOKEN_SHAPE}", tokens["refresh_token"])
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 864000
    assert "metrics:read" in tokens["scope"].split()


def test_token_response_is_not_cacheable(oauth: OAuthHelper) -> None:
    code, verifier = oauth.code()
    response = oauth.token(_code_body(code, verifier))
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


def test_id_token_is_rs256_signed_by_the_published_key(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    header_b64, claims_b64, signature_b64 = tokens["id_token"].split(".")

    def decode(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    header, claims = json.loads(decode(header_b64)), json.loads(decode(claims_b64))
    key = oauth.http.get("/.well-known/jwks.json").json()["keys"][0]
    assert header["alg"] == "RS256" and header["kid"] == key["kid"]
    numbers = rsa.RSAPublicNumbers(
        int.from_bytes(decode(key["e"]), "big"), int.from_bytes(decode(key["n"]), "big")
    )
    numbers.public_key().verify(  # raises InvalidSignature if forged
        decode(signature_b64),
        f"{header_b64}.{claims_b64}".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert claims["iss"] == "https://polar.sh" and claims["aud"] == oauth.running.client_id
    assert claims["exp"] - claims["iat"] == 3600
    world = oauth.running.state.world
    assert claims["sub"] == world.primary_user_id
    assert claims["email"] == world.users[world.primary_user_id].email


def test_no_id_token_without_openid_scope(oauth: OAuthHelper) -> None:
    assert "id_token" not in oauth.connect(scope="metrics:read")


def test_plain_pkce_is_verified(oauth: OAuthHelper) -> None:
    verifier = "v" * 50
    response = oauth.authorize(code_challenge=verifier)  # method omitted -> plain
    code = oauth.redirect_params(response)["code"]
    assert oauth.token(_code_body(code, "w" * 50)).json()["error_description"] == (
        "Code challenge failed."
    )
    assert oauth.token(_code_body(code, verifier)).status_code == 200


def test_pkce_mismatch_is_invalid_grant(oauth: OAuthHelper) -> None:
    code, _ = oauth.code()
    other_verifier, _ = pkce_pair()
    response = oauth.token(_code_body(code, other_verifier))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Code challenge failed.",
    }


def test_missing_verifier_when_challenge_was_sent_is_invalid_request(oauth: OAuthHelper) -> None:
    code, _ = oauth.code()
    response = oauth.token(_code_body(code, None))
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing 'code_verifier'",
    }


def test_code_is_single_use(oauth: OAuthHelper) -> None:
    code, verifier = oauth.code()
    assert oauth.token(_code_body(code, verifier)).status_code == 200
    replay = oauth.token(_code_body(code, verifier))
    assert replay.status_code == 400
    assert replay.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid 'code' in request.",
    }


def test_code_expires_after_300_seconds(oauth: OAuthHelper) -> None:
    code, verifier = oauth.code()
    oauth.running.state.clock_shift = timedelta(seconds=301)
    response = oauth.token(_code_body(code, verifier))
    assert response.json()["error_description"] == "Invalid 'code' in request."


def test_redirect_uri_must_match_the_authorization_request(oauth: OAuthHelper) -> None:
    code, verifier = oauth.code()
    body = {**_code_body(code, verifier), "redirect_uri": "http://localhost:8976/callback"}
    response = oauth.token(body)
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid 'redirect_uri' in request.",
    }


def test_basic_auth_for_a_post_client_is_401_invalid_client(oauth: OAuthHelper) -> None:
    code, verifier = oauth.code()
    response = oauth.http.post(
        "/v1/oauth2/token",
        data=_code_body(code, verifier),
        auth=(oauth.running.client_id, oauth.running.client_secret),
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": CANNOT_AUTHENTICATE}
    assert response.headers["www-authenticate"] == (
        f'Basic error="invalid_client", error_description="{CANNOT_AUTHENTICATE}"'
    )


def test_wrong_secret_is_401_invalid_client(oauth: OAuthHelper) -> None:
    code, verifier = oauth.code()
    response = oauth.token({**_code_body(code, verifier), "client_secret": "polar_cs_wrong"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_is_400_in_body_and_401_with_basic(oauth: OAuthHelper) -> None:
    body = {"grant_type": "refresh_token", "refresh_token": "x"}
    in_body = oauth.token({**body, "client_id": "polar_ci_unknown"})
    with_basic = oauth.http.post("/v1/oauth2/token", data=body, auth=("polar_ci_unknown", "s"))
    expected = {
        "error": "invalid_client",
        "error_description": "The client does not exist on this server.",
    }
    assert (in_body.status_code, in_body.json()) == (400, expected)
    assert (with_basic.status_code, with_basic.json()) == (401, expected)


def test_json_body_is_rejected_as_invalid_request(oauth: OAuthHelper) -> None:
    response = oauth.http.post("/v1/oauth2/token", json={"grant_type": "refresh_token"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unsupported_grant_type(oauth: OAuthHelper) -> None:
    response = oauth.token({"grant_type": "client_credentials"})
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant_type=client_credentials is not supported",
    }


def test_refresh_rotates_and_kills_the_old_pair_at_once(oauth: OAuthHelper, auth_header) -> None:
    first = oauth.connect()
    second = oauth.refresh(first["refresh_token"]).json()
    assert second["expires_in"] == 3600
    assert second["refresh_token"] != first["refresh_token"]
    old_access = oauth.http.get("/v1/oauth2/userinfo", headers=auth_header(first["access_token"]))
    assert old_access.status_code == 401
    assert old_access.json()["error"] == "invalid_token"
    replay = oauth.refresh(first["refresh_token"])
    assert (replay.status_code, replay.json()) == (400, {"error": "invalid_grant"})
    assert replay.headers["cache-control"] == "no-store" and replay.headers["pragma"] == "no-cache"
    new_access = oauth.http.get("/v1/oauth2/userinfo", headers=auth_header(second["access_token"]))
    assert new_access.status_code == 200
    assert oauth.refresh(second["refresh_token"]).status_code == 200  # no family revocation


def test_refresh_without_the_token_parameter(oauth: OAuthHelper) -> None:
    response = oauth.token({"grant_type": "refresh_token"})
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Missing 'refresh_token' in request.",
    }


def test_refresh_may_narrow_but_not_widen_the_scope(oauth: OAuthHelper) -> None:
    tokens = oauth.connect(scope="metrics:read organizations:read")
    widened = oauth.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "metrics:read orders:read",
        }
    )
    assert widened.json()["error"] == "invalid_scope"
    narrowed = oauth.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "scope": "metrics:read",
        }
    )
    assert narrowed.json()["scope"] == "metrics:read"


def test_refresh_token_of_another_client_is_invalid_grant(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    registered = oauth.http.post(
        "/v1/oauth2/register",
        json={
            "client_name": "Other",
            "redirect_uris": [REDIRECT_URI],
        },
    ).json()
    response = oauth.http.post(
        "/v1/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
        },
    )
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


def test_public_client_must_send_a_verifier(oauth: OAuthHelper) -> None:
    public = oauth.http.post(
        "/v1/oauth2/register",
        json={
            "client_name": "CLI",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        },
    ).json()
    response = oauth.authorize(client_id=public["client_id"])
    code = oauth.redirect_params(response)["code"]
    token = httpx.post(
        f"{oauth.running.base_url}/v1/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": public["client_id"],
        },
    )
    assert token.json() == {
        "error": "invalid_request",
        "error_description": "Missing 'code_verifier'",
    }


def test_token_checksum_is_base62_crc32_of_the_random_part(oauth: OAuthHelper) -> None:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    token = oauth.connect()["access_token"]
    body, checksum = token.removeprefix("polar_at_u_")[:37], token[-6:]
    number = zlib.crc32(body.encode()) & 0xFFFFFFFF
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = alphabet[remainder] + digits
    assert checksum == digits.rjust(6, "0")


def test_server_keeps_only_hashes_of_tokens(oauth: OAuthHelper) -> None:
    tokens = oauth.connect()
    store = oauth.running.state.tokens
    stored = [*store.by_access, *store.by_refresh]
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in stored)
    dump = repr(store.by_access) + repr(store.by_refresh)
    assert tokens["access_token"] not in dump and tokens["refresh_token"] not in dump
