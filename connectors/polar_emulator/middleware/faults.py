"""ASGI middleware applying run-time faults: latency, stalls, injected failures, broken JSON."""

import asyncio

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.polar_emulator.http.faults import failure_response
from connectors.polar_emulator.middleware.conventions import is_control
from connectors.polar_emulator.state import EmulatorState


async def _send_truncated(scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
    """Run the app, then answer 200 with only the first half of its JSON body."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks) or b'{"items": []}'
    truncated = body[: max(1, len(body) // 2)]
    headers = MutableHeaders(raw=list(start.get("headers", [])))
    headers["content-length"] = str(len(truncated))
    headers["content-type"] = "application/json"
    await send({"type": "http.response.start", "status": 200, "headers": headers.raw})
    await send({"type": "http.response.body", "body": truncated})


class FaultMiddleware:
    """Applies the faults configured through /__emulator__/faults to matching requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_control(scope):
            return await self.app(scope, receive, send)
        state: EmulatorState = scope["app"].state.emulator
        faults, path = state.faults, scope["path"]
        latency_ms = faults.latency_ms if faults.latency_ms is not None else state.config.latency_ms
        stall = faults.take_timeout(path)
        if latency_ms or stall:
            await asyncio.sleep(latency_ms / 1000 + stall)  # async: other requests keep flowing
        failure = faults.take_failure(path)
        if failure is not None:
            state.stats.count("injected_failures")
            if failure.status == 429:
                state.stats.count("rate_limited")
            response = failure_response(
                failure.status, failure.retry_after, failure.retry_after_as_date
            )
            return await response(scope, receive, send)
        if faults.take_malformed(path):
            state.stats.count("injected_failures")
            return await _send_truncated(scope, receive, send, self.app)
        await self.app(scope, receive, send)
