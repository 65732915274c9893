"""`/oauth2/authorize`: the emulated polar.sh authorization page (validate, consent, code)."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from connectors.polar_emulator.config import account_email
from connectors.polar_emulator.oauth.clients import RegisteredClient
from connectors.polar_emulator.oauth.consent_page import consent_page, error_page
from connectors.polar_emulator.oauth.errors import OAuthError, redirect_error, redirect_with
from connectors.polar_emulator.oauth.issued_tokens import (
    CODE_PREFIX,
    AuthorizationCode,
    generate_token,
)
from connectors.polar_emulator.oauth.scopes import parse_scope, unknown_scopes
from connectors.polar_emulator.routes.token import read_urlencoded
from connectors.polar_emulator.state import EmulatorState

CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# Parameters carried from the GET page to the POSTed consent form.
CARRIED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "sub_type",
    "prompt",
    "nonce",
    "login_hint",
)


@dataclass
class AuthorizationRequest:
    """A validated authorization request, ready for consent."""

    client: RegisteredClient
    redirect_uri: str  # where to send the result
    requested_redirect_uri: str | None  # what the client sent (checked again at the token step)
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    sub_type: str
    prompt: str | None
    nonce: str | None
    login_hint: str | None  # OIDC: which user signs in (the emulator's stand-in for a login)


class PageError(Exception):
    """An authorization error shown as a 400 page (no trusted redirect URI)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error, self.description = error, description


def _client_and_redirect(
    state: EmulatorState, params: Mapping[str, str]
) -> tuple[RegisteredClient, str]:
    client_id = params.get("client_id")
    if not client_id:
        raise PageError("invalid_client", "Missing 'client_id' parameter.")
    client = state.clients.get(client_id)
    if client is None:
        raise PageError("invalid_client", "The client does not exist on this server.")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri:
        if redirect_uri not in client.redirect_uris:
            raise PageError(
                "invalid_request", f"Redirect URI {redirect_uri} is not supported by client."
            )
        return client, redirect_uri
    if not client.redirect_uris:
        raise PageError("invalid_request", "Missing 'redirect_uri' in request.")
    return client, client.redirect_uris[0]


def _checked_scopes(client: RegisteredClient, params: Mapping[str, str]) -> list[str]:
    requested = parse_scope(params.get("scope")) if params.get("scope") else list(client.scopes)
    if unknown_scopes(requested):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return client.allowed_scopes(requested)  # scopes the client lacks are silently dropped


def _checked_challenge(params: Mapping[str, str]) -> tuple[str | None, str | None]:
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if not challenge and not method:
        return None, None
    if not challenge:
        raise OAuthError("invalid_request", "Missing 'code_challenge'")
    if not CHALLENGE_PATTERN.match(challenge):
        raise OAuthError("invalid_request", "Invalid 'code_challenge'")
    if method and method not in ("plain", "S256"):
        raise OAuthError("invalid_request", "Unsupported 'code_challenge_method'")
    return challenge, method or "plain"


def validate_request(state: EmulatorState, params: Mapping[str, str]) -> AuthorizationRequest:
    """Check every parameter in Authlib's order; raises PageError or (redirectable) OAuthError."""
    client, redirect_uri = _client_and_redirect(state, params)
    try:
        response_type = params.get("response_type")
        if response_type != "code" or response_type not in client.response_types:
            raise OAuthError(
                "unsupported_response_type",
                f"The response type '{response_type}' is not supported by the server.",
            )
        scopes = _checked_scopes(client, params)
        challenge, method = _checked_challenge(params)
        sub_type = params.get("sub_type") or client.default_sub_type
        if sub_type not in ("user", "organization"):
            raise OAuthError("invalid_request", "Invalid sub_type")
    except OAuthError as error:
        error.redirect_uri, error.state = redirect_uri, params.get("state")
        raise
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        requested_redirect_uri=params.get("redirect_uri"),
        scopes=scopes,
        state=params.get("state"),
        code_challenge=challenge,
        code_challenge_method=method,
        sub_type=sub_type,
        prompt=params.get("prompt"),
        nonce=params.get("nonce"),
        login_hint=params.get("login_hint"),
    )


def _visible(state: EmulatorState, user_id: str) -> list[tuple[str, str]]:
    organizations = state.world.visible_organizations(user_id, [])
    return sorted((org.id, org.name) for org in organizations)


def chosen_organizations(
    state: EmulatorState, auth: AuthorizationRequest, user_id: str, selected: list[str]
) -> list[str]:
    """The token's organization down-scope from the user's choice (Polar's sub_type rules)."""
    accessible = {org_id for org_id, _ in _visible(state, user_id)}
    for org_id in selected:
        if org_id not in accessible:
            raise OAuthError("invalid_request", f"Organization {org_id} is not accessible")
    if auth.sub_type == "user":
        return sorted(set(selected))
    if not selected:
        raise OAuthError(
            "invalid_request", "sub_type=organization requires selecting an organization"
        )
    return [min(selected)]  # more than one (tampered form): Polar keeps the smallest id


def issue_code(
    state: EmulatorState, auth: AuthorizationRequest, user_id: str, organization_ids: list[str]
) -> Response:
    """Store a new authorization code and redirect to the client with it."""
    code = generate_token(CODE_PREFIX)
    state.tokens.save_code(
        AuthorizationCode(
            code_hash=state.tokens.hasher.hash(code),
            client_id=auth.client.client_id,
            user_id=user_id,
            redirect_uri=auth.requested_redirect_uri,
            scopes=tuple(auth.scopes),
            organization_ids=organization_ids,
            code_challenge=auth.code_challenge,
            code_challenge_method=auth.code_challenge_method,
            nonce=auth.nonce,
            issued_at=state.auth_clock(),
        )
    )
    return redirect_with(auth.redirect_uri, {"code": code, "state": auth.state})


def _signed_in_user(state: EmulatorState, auth: AuthorizationRequest) -> str:
    """The primary user, or the one `login_hint` names (accounts 2..N of `--accounts N`)."""
    if state.world.primary_user_id is None:
        raise OAuthError("login_required", "No user is signed in to the emulated polar.sh.")
    user_id = state.world.user_for_login(auth.login_hint)
    if user_id is None:
        raise OAuthError(
            "login_required",
            f"No emulated polar.sh user matches login_hint {auth.login_hint!r}; extra accounts "
            f"(--accounts N) sign in as {account_email(2)} ... {account_email('N')}.",
        )
    return user_id


def _respond(
    state: EmulatorState,
    params: Mapping[str, str],
    decide: Callable[[AuthorizationRequest], Response],
) -> Response:
    try:
        auth = validate_request(state, params)
    except PageError as error:
        return error_page(error.error, error.description)
    except OAuthError as error:
        if error.redirect_uri is None:
            return error_page(error.error, error.description)
        return redirect_error(error.redirect_uri, error, error.state)
    try:
        return decide(auth)
    except OAuthError as error:
        return redirect_error(auth.redirect_uri, error, auth.state)


async def authorize_page(request: Request) -> Response:
    """GET: validate, then auto-approve or show the consent page."""
    state: EmulatorState = request.app.state.emulator
    params = request.query_params

    def decide(auth: AuthorizationRequest) -> Response:
        user_id = _signed_in_user(state, auth)
        organizations = _visible(state, user_id)
        if state.config.auto_approve:
            default = (
                [organizations[0][0]] if auth.sub_type == "organization" and organizations else []
            )
            return issue_code(
                state, auth, user_id, chosen_organizations(state, auth, user_id, default)
            )
        if auth.prompt == "none":
            raise OAuthError("consent_required")
        carried = {name: params[name] for name in CARRIED if params.get(name)}
        return consent_page(
            state.world.users[user_id].email,
            auth.client.client_name,
            auth.scopes,
            organizations,
            auth.sub_type == "organization",
            carried,
        )

    return _respond(state, params, decide)


async def authorize_decision(request: Request) -> Response:
    """POST from the consent page: Allow issues a code, Deny returns access_denied."""
    state: EmulatorState = request.app.state.emulator
    form = await read_urlencoded(request)
    params = {name: str(form[name]) for name in CARRIED if form.get(name)}

    def decide(auth: AuthorizationRequest) -> Response:
        if form.get("action") != "allow":
            raise OAuthError(
                "access_denied", "The resource owner or authorization server denied the request"
            )
        user_id = _signed_in_user(state, auth)
        selected = [str(value) for value in form.getlist("organizations")]
        return issue_code(
            state, auth, user_id, chosen_organizations(state, auth, user_id, selected)
        )

    return _respond(state, params, decide)
