"""The emulated polar.sh authorize page: validation, consent, deny, down-scoping."""

import contextlib
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import httpx
import pytest

from tests.connectors.polar_emulator.conftest import (
    PRODUCT_SCOPES,
    REDIRECT_URI,
    OAuthHelper,
    StartEmulator,
)


class FormReader(HTMLParser):
    """Collects the consent form's inputs and buttons, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.organizations: list[str] = []
        self.buttons: list[str] = []
        self.input_types: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "input" and values.get("type") == "hidden":
            self.hidden[values["name"]] = values["value"]
        elif tag == "input" and values.get("name") == "organizations":
            self.organizations.append(values["value"])
            self.input_types.add(values["type"])
        elif tag == "button":
            self.buttons.append(values["value"])


@pytest.fixture
def consent(
    start_emulator: StartEmulator,
) -> Iterator[Callable[..., tuple[OAuthHelper, FormReader]]]:
    """Opens the consent page of a non-auto-approving emulator; gives the helper and the form."""
    with contextlib.ExitStack() as stack:

        def open_page(**params: str) -> tuple[OAuthHelper, FormReader]:
            running = start_emulator(auto_approve=False)
            http = stack.enter_context(httpx.Client(base_url=running.base_url, timeout=10))
            return _read_consent(OAuthHelper(running, http), params)

        yield open_page


def _read_consent(helper: OAuthHelper, params: dict[str, str]) -> tuple[OAuthHelper, FormReader]:
    page = helper.authorize(**params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    form = FormReader()
    form.feed(page.text)
    return helper, form


def test_consent_page_lists_scopes_organizations_and_both_buttons(consent) -> None:
    helper, form = consent()
    page = helper.authorize().text
    for scope in PRODUCT_SCOPES.split():
        assert f"<code>{scope}</code>" in page
    visible = helper.running.state.world.visible_organizations(
        helper.running.state.world.primary_user_id, []
    )
    assert sorted(form.organizations) == sorted(org.id for org in visible)
    assert form.input_types == {"checkbox"}
    assert form.buttons == ["allow", "deny"]
    assert '<html lang="en">' in page and "<legend>" in page and "<label>" in page


def test_allow_with_ticked_organization_down_scopes_the_token(consent) -> None:
    helper, form = consent(code_challenge="c" * 43)
    chosen = form.organizations[0]
    response = helper.http.post(
        "/oauth2/authorize",
        data={**form.hidden, "organizations": chosen, "action": "allow"},
    )
    params = helper.redirect_params(response)
    assert params["state"] == "st4te" and params["code"].startswith("polar_ac_")
    tokens = helper.token(
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": "c" * 43,
        }
    ).json()
    info = helper.http.post(
        "/v1/oauth2/introspect",
        data={
            "token": tokens["access_token"],
            "client_id": helper.running.client_id,
            "client_secret": helper.running.client_secret,
        },
    ).json()
    assert info["organizations"] == [chosen]


def test_deny_redirects_with_access_denied_and_state(consent) -> None:
    helper, form = consent()
    response = helper.http.post("/oauth2/authorize", data={**form.hidden, "action": "deny"})
    params = helper.redirect_params(response)
    assert params["error"] == "access_denied" and params["state"] == "st4te"
    assert response.headers["location"].startswith(REDIRECT_URI + "?")


def test_organization_sub_type_offers_a_single_choice_and_requires_one(consent) -> None:
    helper, form = consent(sub_type="organization")
    assert form.input_types == {"radio"}
    response = helper.http.post("/oauth2/authorize", data={**form.hidden, "action": "allow"})
    params = helper.redirect_params(response)
    assert params["error"] == "invalid_request"
    assert params["error_description"] == "sub_type=organization requires selecting an organization"


def test_prompt_none_without_prior_consent_is_consent_required(consent) -> None:
    helper, _ = consent()
    params = helper.redirect_params(helper.authorize(prompt="none"))
    assert params["error"] == "consent_required"


def test_auto_approve_redirects_at_once_with_a_code(oauth: OAuthHelper) -> None:
    params = oauth.redirect_params(oauth.authorize())
    assert re.fullmatch(r"polar_ac_[A-Za-z0-9]{43}", params["code"])
    assert params["state"] == "st4te"


def test_unknown_client_gets_an_error_page_not_a_redirect(oauth: OAuthHelper) -> None:
    response = oauth.authorize(client_id="polar_ci_nope")
    assert response.status_code == 400
    assert "The client does not exist on this server." in response.text


def test_unregistered_redirect_uri_gets_an_error_page(oauth: OAuthHelper) -> None:
    response = oauth.authorize(redirect_uri="https://evil.example/cb")
    assert response.status_code == 400
    assert "Redirect URI https://evil.example/cb is not supported by client." in response.text


def test_unknown_scope_is_invalid_scope(oauth: OAuthHelper) -> None:
    params = oauth.redirect_params(oauth.authorize(scope="metrics:read metrics:everything"))
    assert params["error"] == "invalid_scope" and params["state"] == "st4te"


def test_scopes_the_client_lacks_are_dropped_silently(oauth: OAuthHelper) -> None:
    tokens = oauth.connect(scope="metrics:read metrics:write")
    assert tokens["scope"] == "metrics:read"


def test_omitted_scope_means_the_clients_registered_scopes(oauth: OAuthHelper) -> None:
    tokens = oauth.connect(scope="")
    granted = set(tokens["scope"].split())
    assert set(PRODUCT_SCOPES.split()) <= granted
    assert not any(scope.endswith(":write") for scope in granted)


def test_invalid_sub_type_is_invalid_request(oauth: OAuthHelper) -> None:
    params = oauth.redirect_params(oauth.authorize(sub_type="team"))
    assert (params["error"], params["error_description"]) == ("invalid_request", "Invalid sub_type")


def test_unsupported_response_type_and_challenge_method(oauth: OAuthHelper) -> None:
    token_type = oauth.redirect_params(oauth.authorize(response_type="token"))
    assert token_type["error"] == "unsupported_response_type"
    method = oauth.redirect_params(
        oauth.authorize(code_challenge="c" * 43, code_challenge_method="S512")
    )
    assert method["error_description"] == "Unsupported 'code_challenge_method'"


def test_auto_approved_organization_sub_type_gives_a_single_org_token(oauth: OAuthHelper) -> None:
    tokens = oauth.connect(sub_type="organization")
    info = oauth.http.post(
        "/v1/oauth2/introspect",
        data={
            "token": tokens["access_token"],
            "client_id": oauth.running.client_id,
            "client_secret": oauth.running.client_secret,
        },
    ).json()
    assert len(info["organizations"]) == 1
    assert tokens["access_token"].startswith("polar_at_u_")
