"""HTML of the emulated polar.sh consent page and of the authorization error page."""

from collections.abc import Iterable, Mapping
from html import escape

from starlette.responses import HTMLResponse

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}"
    "button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.75rem}"
    "fieldset{margin:1rem 0}"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Polar (emulator)</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


def error_page(error: str, description: str | None) -> HTMLResponse:
    """400 page for authorization errors that cannot be sent to a trusted redirect URI."""
    text = escape(description or error)
    body = (
        f'<h1>Authorization error</h1><p role="alert"><strong>{escape(error)}</strong>: {text}</p>'
    )
    return _page("Authorization error", body, status=400)


def _hidden_fields(params: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in params.items()
    )


def _organization_choices(organizations: Iterable[tuple[str, str]], single: bool) -> str:
    kind = "radio" if single else "checkbox"
    items = "".join(
        f'<li><label><input type="{kind}" name="organizations" value="{escape(org_id)}"> '
        f"{escape(name)}</label></li>"
        for org_id, name in organizations
    )
    legend = (
        "Choose the organization this application may access"
        if single
        else "Limit access to these organizations (none ticked = all, including future ones)"
    )
    items = items or "<li>No organization</li>"
    return f"<fieldset><legend>{legend}</legend><ul>{items}</ul></fieldset>"


def consent_page(
    signed_in_as: str,
    client_name: str,
    scopes: list[str],
    organizations: list[tuple[str, str]],
    single_organization: bool,
    params: Mapping[str, str],
) -> HTMLResponse:
    """The consent page: requested scopes, organization choice, Allow and Deny buttons."""
    scope_items = "".join(f"<li><code>{escape(scope)}</code></li>" for scope in scopes)
    body = (
        f"<h1>{escape(client_name)} wants to access your Polar account</h1>"
        f"<p>Signed in as <strong>{escape(signed_in_as)}</strong></p>"
        f'<section aria-labelledby="scopes-title"><h2 id="scopes-title">Requested permissions</h2>'
        f"<ul>{scope_items}</ul></section>"
        f'<form method="post" action="/oauth2/authorize">{_hidden_fields(params)}'
        f"{_organization_choices(organizations, single_organization)}"
        f'<button type="submit" name="action" value="allow">Allow</button>'
        f'<button type="submit" name="action" value="deny">Deny</button></form>'
    )
    return _page("Authorize application", body)
