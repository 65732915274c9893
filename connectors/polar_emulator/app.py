"""`create_app`: the Polar emulator as one Starlette ASGI app (OAuth, API, control paths)."""

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.polar_emulator.config import EmulatorConfig
from connectors.polar_emulator.http.errors import EmulatorHTTPError
from connectors.polar_emulator.middleware.conventions import (
    BearerTokenMiddleware,
    BodyLimitMiddleware,
    PolarHeadersMiddleware,
    RateLimitMiddleware,
)
from connectors.polar_emulator.middleware.faults import FaultMiddleware
from connectors.polar_emulator.routes.api import ROUTES as API_ROUTES
from connectors.polar_emulator.routes.authorize import authorize_decision, authorize_page
from connectors.polar_emulator.routes.control import CONTROL_ROUTES, ControlError, control_error
from connectors.polar_emulator.routes.discovery import (
    introspect_endpoint,
    jwks,
    openid_configuration,
    revoke_endpoint,
    userinfo_endpoint,
)
from connectors.polar_emulator.routes.entities import ROUTES as ENTITY_ROUTES
from connectors.polar_emulator.routes.register import configure_client, register_client
from connectors.polar_emulator.routes.token import token_endpoint
from connectors.polar_emulator.state import EmulatorState

OAUTH_ROUTES = [
    Route("/oauth2/authorize", authorize_page, methods=["GET"]),
    Route("/oauth2/authorize", authorize_decision, methods=["POST"]),
    Route("/v1/oauth2/token", token_endpoint, methods=["POST"]),
    Route("/v1/oauth2/revoke", revoke_endpoint, methods=["POST"]),
    Route("/v1/oauth2/introspect", introspect_endpoint, methods=["POST"]),
    Route("/v1/oauth2/userinfo", userinfo_endpoint, methods=["GET", "POST"]),
    Route("/v1/oauth2/register", register_client, methods=["POST"]),
    Route(
        "/v1/oauth2/register/{client_id}",
        configure_client,
        methods=["GET", "PUT", "DELETE"],
        name="oauth2:get_client",
    ),
    Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/.well-known/jwks.json", jwks, methods=["GET"]),
]


def build_world(config: EmulatorConfig) -> object:
    """The simulated Polar business for this config."""
    from connectors.polar_emulator.business.world import build_world as build

    return build(config)


async def _emulator_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, EmulatorHTTPError)
    return error.response


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    # FastAPI's default shape for unknown routes and methods: {"detail": "..."}.
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )


def create_app(config: EmulatorConfig | None = None, world: object | None = None) -> Starlette:
    """The emulator ASGI app; `app.state.emulator` holds its EmulatorState."""
    config = config or EmulatorConfig()
    state = EmulatorState(config, world if world is not None else build_world(config))
    app = Starlette(
        routes=[*OAUTH_ROUTES, *API_ROUTES, *ENTITY_ROUTES, *CONTROL_ROUTES],
        middleware=[
            Middleware(BodyLimitMiddleware),
            Middleware(PolarHeadersMiddleware),
            Middleware(RateLimitMiddleware),
            Middleware(FaultMiddleware),
            Middleware(BearerTokenMiddleware),
        ],
        exception_handlers={
            EmulatorHTTPError: _emulator_http_error,
            HTTPException: _http_error,
            ControlError: control_error,
        },
    )
    app.state.emulator = state
    return app
