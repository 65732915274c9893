"""`GET /v1/orders/`, `/v1/subscriptions/`, `/v1/customers/`, `/v1/products/`, `/v1/refunds/`."""

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.polar_emulator.api.entities.customers import CustomerListing
from connectors.polar_emulator.api.entities.listing import QueryReader
from connectors.polar_emulator.api.entities.orders import OrderListing
from connectors.polar_emulator.api.entities.products import ProductListing
from connectors.polar_emulator.api.entities.refunds import RefundListing
from connectors.polar_emulator.api.entities.service import entity_page
from connectors.polar_emulator.api.entities.subscriptions import SubscriptionListing
from connectors.polar_emulator.http.json_body import JsonBody

Handler = Callable[[Request], Awaitable[Response]]


def _list_endpoint(listing_class: type) -> Handler:
    async def list_entities(request: Request) -> Response:
        state = request.app.state.emulator
        grant = state.authenticate(request, set(listing_class.scopes))  # 401/403 first
        listing = listing_class(QueryReader(request.query_params))  # then Polar's 422
        now = state.clock().timestamp()
        # numpy work off the event loop, so a big page never stalls OAuth or other requests
        body = await run_in_threadpool(
            entity_page, state.world, grant.user_id, grant.organization_ids, listing, now
        )
        return JsonBody(body)

    list_entities.__doc__ = f"Polar's list endpoint of {listing_class.__name__}."
    return list_entities


ROUTES = [
    Route("/v1/orders/", _list_endpoint(OrderListing), methods=["GET"]),
    Route("/v1/subscriptions/", _list_endpoint(SubscriptionListing), methods=["GET"]),
    Route("/v1/customers/", _list_endpoint(CustomerListing), methods=["GET"]),
    Route("/v1/products/", _list_endpoint(ProductListing), methods=["GET"]),
    Route("/v1/refunds/", _list_endpoint(RefundListing), methods=["GET"]),
]
