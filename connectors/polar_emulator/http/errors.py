"""What route handlers need from authentication: the grant of a request and the HTTP error type."""

from dataclasses import dataclass, field

from starlette.responses import Response


class EmulatorHTTPError(Exception):
    """Raised by handlers to answer with a prepared response (turned into it by the app)."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


@dataclass(frozen=True)
class AccessGrant:
    """Who a valid access token speaks for: user, OAuth client, scopes and org down-scope."""

    user_id: str
    client_id: str
    scopes: frozenset[str]
    organization_ids: list[str] = field(default_factory=list)  # empty = every organization

    def allows_organization(self, organization_id: str) -> bool:
        """Whether the token's organization down-scope includes this organization."""
        return not self.organization_ids or organization_id in self.organization_ids
